"""A request's pending rows written in one round trip, where the ORM's flush would take one per table.

The services build rows as ORM objects and add them to the session, as everywhere; a hot write
path then calls `write_pending`, which takes the session's new and changed objects out of the
unit of work and writes them with Core statements: on PostgreSQL one statement, each table's
rows in data-modifying CTEs (foreign keys are checked at the end of the statement, so a note
may refer to the case inserted beside it); on SQLite one statement per row, in dependency
order. An optional `then` query runs in the same statement on PostgreSQL (it sees the database
as it was before these writes) and after them on SQLite.

What the ORM would have filled in is filled in here: Python-side column defaults for the
attributes left unset, and `onupdate` values of changed rows. Columns with server defaults (an
outbox event's `seq` and times) are left to the database. The objects are detached afterwards,
keeping their values for the response.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, inspect, literal, select, update
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper

from app.core.db import Base


def _default(column: Any) -> Any:
    """The value a Python-side column default gives (None for none, or a SQL expression's)."""
    default = column.default
    if default is None or not (default.is_scalar or default.is_callable):
        return None
    return default.arg(None) if default.is_callable else default.arg


@functools.cache
def _columns(mapper: Mapper[Any]) -> tuple[tuple[str, Any], ...]:
    """(attribute key, column) of each column attribute of `mapper`, read once."""
    return tuple((prop.key, prop.columns[0]) for prop in mapper.column_attrs)


@functools.cache
def _columns_by_key(mapper: Mapper[Any]) -> dict[str, Any]:
    return dict(_columns(mapper))


@functools.cache
def _onupdate_columns(mapper: Mapper[Any]) -> tuple[tuple[str, Any], ...]:
    return tuple((key, c) for key, c in _columns(mapper) if c.onupdate is not None and c.onupdate.is_callable)


def _insert_values(obj: Base, mapper: Mapper[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, column in _columns(mapper):
        value = getattr(obj, key)
        if value is None:
            value = _default(column)
            if value is not None:
                setattr(obj, key, value)
            elif column.server_default is not None or (column.primary_key and column.autoincrement is True):
                continue  # the database's
        values[column.key] = value
    return values


def _update_values(obj: Base, mapper: Mapper[Any]) -> dict[str, Any]:
    """The changed columns of a loaded row: only the attributes the session saw set (its
    `committed_state`) are compared, not every column of the row."""
    state = inspect(obj)
    columns = _columns_by_key(mapper)
    values: dict[str, Any] = {}
    for key in list(state.committed_state):
        column = columns.get(key)
        if column is not None and state.attrs[key].history.has_changes():
            values[column.key] = getattr(obj, key)
    if values:
        for key, column in _onupdate_columns(mapper):
            if column.key not in values:
                value = column.onupdate.arg(None)
                setattr(obj, key, value)
                values[column.key] = value
    return values


# A write's shape: per row, ("insert" | "update", table, the columns it sets).
_Shape = tuple[tuple[str, Table, tuple[str, ...]], ...]
_Write = tuple[str, Table, dict[str, Any]]  # an update's values hold its primary key too


@functools.cache
def _table_order() -> dict[Table, int]:
    return {table: n for n, table in enumerate(Base.metadata.sorted_tables)}


def _pending(session: AsyncSession) -> list[_Write]:
    """The session's new rows (by dependency, then in the order added) and changed rows, taken
    out of the unit of work."""
    sync = session.sync_session
    order = _table_order()
    inserts: list[tuple[int, int, _Write]] = []
    for obj in list(sync.new):
        state = inspect(obj)
        table = cast(Table, state.mapper.local_table)
        inserts.append((order[table], state.insert_order, ("insert", table, _insert_values(obj, state.mapper))))
    writes = [write for _, _, write in sorted(inserts, key=lambda item: item[:2])]
    for obj in list(sync.dirty):
        mapper = inspect(obj).mapper
        values = _update_values(obj, mapper)
        if values:
            table = cast(Table, mapper.local_table)
            for column in mapper.primary_key:
                values[column.key] = getattr(obj, mapper.get_property_by_column(column).key)
            writes.append(("update", table, values))
    for obj in [*sync.new, *sync.dirty]:
        sync.expunge(obj)
    return writes


def _one(kind: str, table: Table, columns: tuple[str, ...], prefix: str) -> Any:
    """One row's statement, its values bound by name (`prefix` + column)."""
    if kind == "insert":
        return insert(table).values({c: bindparam(prefix + c, type_=table.c[c].type) for c in columns})
    pk = [c.key for c in table.primary_key.columns]
    where = [table.c[c] == bindparam(prefix + c, type_=table.c[c].type) for c in pk]
    sets = {c: bindparam(prefix + c, type_=table.c[c].type) for c in columns if c not in pk}
    return update(table).where(*where).values(sets)


# Statements built once per shape (and per `then` query), then executed with new values: no
# statement is constructed, and none compiled, per request.
_STATEMENTS: dict[tuple[_Shape, int], Any] = {}
_MAX_STATEMENTS = 256


def _chained(table: Table, columns: tuple[str, ...], prefix: str, previous: Any) -> Any:
    """A row inserted after `previous` (the same table's row before it): it reads `previous`'s
    RETURNING, so the database writes them in this order (serial values such as an outbox
    event's `seq` follow it); sibling CTEs alone run in an unspecified order."""
    values = select(*(bindparam(prefix + c, type_=table.c[c].type) for c in columns)).select_from(previous)
    return insert(table).from_select(list(columns), values)


def _ctes(shape: _Shape) -> list[Any]:
    ctes: list[Any] = []
    last: dict[Table, Any] = {}  # the CTE of each table's latest row
    for n, (kind, table, columns) in enumerate(shape):
        prefix = f"w{n}_"
        if kind == "insert" and table in last:
            statement = _chained(table, columns, prefix, last[table])
        else:
            statement = _one(kind, table, columns, prefix)
        if kind == "insert":
            pk = list(table.primary_key.columns)
            statement = statement.returning(pk[0])
        cte = statement.cte(f"w{n}")
        if kind == "insert":
            last[table] = cte
        ctes.append(cte)
    return ctes


def _statement(shape: _Shape, then: Any) -> Any:
    key = (shape, id(then))
    statement = _STATEMENTS.get(key)
    if statement is None:
        ctes = _ctes(shape)
        statement = (then if then is not None else select(literal(1))).add_cte(*ctes)
        if len(_STATEMENTS) >= _MAX_STATEMENTS:
            _STATEMENTS.clear()
        _STATEMENTS[key] = statement
    return statement


async def _execute_one(session: AsyncSession, write: _Write) -> None:
    kind, table, values = write
    await session.execute(_one(kind, table, tuple(values), "v_"), {"v_" + c: v for c, v in values.items()})


async def write_pending(
    session: AsyncSession, then: Any = None, then_params: dict[str, Any] | None = None
) -> Result[Any] | None:
    """Write the session's pending inserts and updates in one round trip (PostgreSQL) and run
    `then`, a select built once (a module constant) whose values are bound by name from
    `then_params`. Returns the result of `then`, or None without one.
    """
    writes = _pending(session)
    if session.get_bind().dialect.name != "postgresql" or (not writes and then is not None):
        for write in writes:  # SQLite: a statement per row, compiled once per shape
            await _execute_one(session, write)
        return None if then is None else await session.execute(then, then_params or {})
    if not writes:
        return None
    if len(writes) == 1 and then is None:
        await _execute_one(session, writes[0])
        return None
    shape = tuple((kind, table, tuple(values)) for kind, table, values in writes)
    params = dict(then_params or {})
    for n, (_, _, values) in enumerate(writes):
        params.update({f"w{n}_{column}": value for column, value in values.items()})
    result = await session.execute(_statement(shape, then), params)
    return result if then is not None else None
