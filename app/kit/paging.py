"""Pages of an in-memory list: `{"items": [...], "next_cursor": ...}` like every list of the API.

The cursor is opaque to clients: the key of the last item handed out. The next page starts after
that item; should it have gone meanwhile, after the first item whose key sorts past it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TypeVar

from app.core.errors import VALIDATION, ProblemError

T = TypeVar("T")

_PREFIX = "k:"


def encode_key_cursor(key: str) -> str:
    return base64.urlsafe_b64encode((_PREFIX + key).encode()).decode().rstrip("=")


def decode_key_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raw = ""
    if not raw.startswith(_PREFIX) or not 1 <= len(raw) - len(_PREFIX) <= 200:
        raise ProblemError(
            VALIDATION,
            "1 field(s) failed validation: query.cursor.",
            errors=[
                {"field": "query.cursor", "code": "invalid_cursor", "message": "not a cursor this service handed out"}
            ],
        )
    return raw[len(_PREFIX) :]


def page(items: Sequence[T], key: Callable[[T], str], limit: int, cursor: str | None) -> tuple[list[T], str | None]:
    """The page of `items` (in their order) after `cursor`, and the cursor of the next page (None on the last)."""
    start = 0
    if cursor is not None:
        last = decode_key_cursor(cursor)
        keys = [key(item) for item in items]
        start = keys.index(last) + 1 if last in keys else next((i for i, k in enumerate(keys) if k > last), len(keys))
    chosen = list(items[start : start + limit])
    more = start + limit < len(items)
    return chosen, encode_key_cursor(key(chosen[-1])) if more and chosen else None
