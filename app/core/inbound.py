"""What every request must satisfy before it reaches a service: values the database can hold.

PostgreSQL refuses a NUL character in text, and no database can store an unpaired UTF-16
surrogate (`\\udfff`): such a value would fail at the first write, after part of the request had
run, as a 500. Every request model derives from `RequestModel`, whose one validator refuses
both in every string field (and in lists and secrets of strings) — a 422 naming the field,
before anything runs. Instants given in a request must lie within the years the database and
the date arithmetic handle (`Instant`). Integers are bounded field by field with `ge`/`le`, at
most to a 32-bit column (`INT32_MAX`); a test walks the API contract to hold every one to it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr, field_validator
from pydantic_core import PydanticCustomError

# The largest value of an INTEGER column (PostgreSQL `integer`, 32 bits).
INT32_MAX = 2**31 - 1

# Instants a request may name: wide for any real use, far from the ends of `datetime`
# (year 1 and 9999) where converting a time zone or adding a period overflows.
EARLIEST = dt.datetime(1800, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)


def unstorable_text(value: str) -> bool:
    """True for text no database column can hold: a NUL character or an unpaired surrogate."""
    if "\x00" in value:
        return True
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _refuse_unstorable(value: Any) -> None:
    if isinstance(value, str):
        if unstorable_text(value):
            raise PydanticCustomError(
                "unstorable_text", "text may not contain NUL characters (\\u0000) or unpaired surrogates"
            )
    elif isinstance(value, SecretStr):
        _refuse_unstorable(value.get_secret_value())
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _refuse_unstorable(item)


class RequestModel(BaseModel):
    """Base of every request body: unknown fields are refused, and so is text no column can hold."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        _refuse_unstorable(value)
        return value


def _within_range(value: dt.datetime) -> dt.datetime:
    try:
        utc = value.astimezone(dt.UTC) if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise PydanticCustomError("instant_out_of_range", "the moment must lie between the years 1800 and 2999 (UTC)")
    return value


def instant_in_range(value: dt.datetime) -> bool:
    """Whether `value` is an instant the service handles (for cursors and other decoded values)."""
    try:
        _within_range(value)
    except PydanticCustomError:
        return False
    return True


Instant = Annotated[dt.datetime, AfterValidator(_within_range)]
"""A moment given in a request (a query's `since`), bounded to what the database handles."""
