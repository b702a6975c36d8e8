"""What counts as "the database cannot be reached" (a 503), and what stays a bug (a 500)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.core.db import database_unavailable


def test_refused_connections_and_closed_ones_are_recognised_as_an_unreachable_database() -> None:
    invalidated = DBAPIError(
        "SELECT 1", None, asyncpg.ConnectionDoesNotExistError("closed"), connection_invalidated=True
    )
    assert database_unavailable(ConnectionRefusedError(111, "refused"))
    assert database_unavailable(TimeoutError())
    assert database_unavailable(invalidated)
    assert database_unavailable(RuntimeError("wrapped")) is False
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = ConnectionResetError()
    assert database_unavailable(wrapped)
    assert not database_unavailable(IntegrityError("INSERT", None, Exception("duplicate key")))
    assert not database_unavailable(ValueError("bug"))
