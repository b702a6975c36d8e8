"""Opaque cursors for keyset pagination: base64 of the last row's (timestamp, id)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json

from app.cases.problems import invalid_fields


def encode_cursor(at: dt.datetime, row_id: str) -> str:
    raw = json.dumps([at.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[dt.datetime, str] | None:
    """The (timestamp, id) a cursor stands for; a 422 on `cursor` when it is not one of ours."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        return dt.datetime.fromisoformat(at), str(row_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise invalid_fields(("cursor", "invalid_cursor", "not a cursor this service handed out")) from None
