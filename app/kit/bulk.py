"""`column IN (ids)` for bulk statements over hundreds of ids.

On PostgreSQL one parameter (`column = ANY(...)`): a single bind, one cached statement and plan
whatever the number of ids. SQLAlchemy's expanding `IN` renders one parameter per id at every
execution, which costs more than the query for batches of a thousand. SQLite keeps `IN`.

The ids travel as one comma-separated text, split by the server (`string_to_array`), where no id
contains a comma (UUIDs and integers never do): asyncpg encodes an array parameter element by
element in Python, some 2 ms of the client's CPU for 2,000 ids against 0.1 ms for the joined
text, and a disposal batch sends its ids some twenty times. The split is immutable, so a custom
plan still sees the ids as constants. Other ids are sent as an array.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import BigInteger, Integer, String, any_, bindparam, cast, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter, ColumnElement


def joined_ids(values: list[Any]) -> str | None:
    """The ids as one comma-separated text, or None where that would not split back into them."""
    if not values:
        return ""
    kinds = set(map(type, values))
    if kinds == {int}:
        return ",".join(map(str, values))
    if kinds != {str}:
        return None
    text = ",".join(values)
    # Exactly the separators: no id holds a comma. An empty id would come back as one, too.
    if text.count(",") != len(values) - 1 or "" in values:
        return None
    return text


def id_array(values: list[Any], *, key: str | None = None, big: bool = False) -> ColumnElement[Any]:
    """The ids as a PostgreSQL array expression (VARCHAR[] or INTEGER[]/BIGINT[]), sent as one text
    where possible. `key` names the parameter (for text statements), else it is anonymous."""
    numeric = bool(values) and isinstance(values[0], int)
    element = (BigInteger() if big else Integer()) if numeric else String()
    text = joined_ids(values)
    if text is None:
        return bindparam(key, values, type_=ARRAY(element))
    split = func.string_to_array(bindparam(key, text, type_=String()), ",")
    return cast(split, ARRAY(element))


def in_ids(session: AsyncSession, column: Any, ids: Collection[Any]) -> ColumnElement[bool]:
    values = list(ids)
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)  # type: ignore[no-any-return]
    return column == any_(id_array(values))  # type: ignore[no-any-return]


def id_array_text(key: str, values: list[Any], element: str = "VARCHAR") -> tuple[str, BindParameter[Any]]:
    """For a text() statement: the SQL of the ids as an array of `element` (VARCHAR, INTEGER,
    BIGINT) read from parameter `key`, and that parameter (one text where possible, as `id_array`)."""
    text = joined_ids(values)
    if text is None:
        kind: Any = {"VARCHAR": String, "INTEGER": Integer, "BIGINT": BigInteger}[element]
        return f"CAST(:{key} AS {element}[])", bindparam(key, values, type_=ARRAY(kind()))
    return f"CAST(string_to_array(CAST(:{key} AS TEXT), ',') AS {element}[])", bindparam(key, text, type_=String())
