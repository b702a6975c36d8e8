"""Moments in the database: always UTC-aware in Python, on every backend.

PostgreSQL's `timestamptz` answers aware datetimes, but SQLite stores text without an offset and
answers naive ones. `UtcDateTime` makes both the same: a moment is converted to UTC before it is
written (so SQLite's text holds UTC), and read back with the UTC zone attached. Every timestamp
the API answers is then ISO 8601 with an offset.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.engine import Dialect


class UtcDateTime(TypeDecorator[dt.datetime]):
    """`DateTime(timezone=True)` that writes UTC and reads UTC-aware datetimes (a naive one is taken as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
