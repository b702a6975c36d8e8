"""`column IN (ids)` for bulk statements over hundreds of ids.

On PostgreSQL one array parameter (`column = ANY($1)`): a single bind, one cached statement and
plan whatever the number of ids. SQLAlchemy's expanding `IN` renders one parameter per id at
every execution, which costs more than the query for batches of a thousand. SQLite keeps `IN`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Integer, String, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement


def in_ids(session: AsyncSession, column: Any, ids: Collection[Any]) -> ColumnElement[bool]:
    values = list(ids)
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)  # type: ignore[no-any-return]
    item_type = Integer() if values and isinstance(values[0], int) else String()
    return column == any_(bindparam(None, values, type_=ARRAY(item_type)))  # type: ignore[no-any-return]
