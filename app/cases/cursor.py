"""Opaque cursors for keyset pagination: base64 of the last row's (timestamp, id)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid

from app.cases.problems import invalid_fields
from app.core.inbound import instant_in_range


def encode_cursor(at: dt.datetime, row_id: str) -> str:
    raw = json.dumps([at.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[dt.datetime, str] | None:
    """The (timestamp, id) a cursor stands for; a 422 on `cursor` when it is not one of ours.

    A cursor is client input like any other: a forged one (a timestamp in year 1, an id the
    database cannot compare) is refused here rather than failing in the query.
    """
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_text, row_id = json.loads(raw)
        at = dt.datetime.fromisoformat(at_text)
        uuid.UUID(row_id)  # every row that cursors walk has a UUID id
        if instant_in_range(at) and len(row_id) == 36:
            return at, row_id
    except (binascii.Error, ValueError, TypeError, AttributeError, UnicodeDecodeError):
        pass
    raise invalid_fields(("query.cursor", "invalid_cursor", "not a cursor this service handed out"))
