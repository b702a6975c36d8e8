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

A guarded write (`guard`, PostgreSQL) is one that read a row without locking it: it is applied
only if that row is still the version that was read (its `xmin`), and then it locks the row, as
a `SELECT ... FOR UPDATE` before it would have; otherwise nothing of it is written and the
caller reads again. Sent alone (the connection in autocommit), such a statement is its own
transaction: no BEGIN and no COMMIT round trip.
"""

from __future__ import annotations

import functools
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import Table, Text, bindparam, exists, func, insert, inspect, literal, literal_column, select, update
from sqlalchemy.dialects import postgresql
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


@functools.cache
def _insert_columns(mapper: Mapper[Any]) -> tuple[tuple[str, str, Any, bool], ...]:
    """Per column attribute: its key, its column's name, the column if it has a Python-side
    default (else None), and whether a value left unset is the database's to give (a server
    default, an autoincrementing key)."""
    return tuple(
        (
            key,
            column.key,
            column if column.default is not None and (column.default.is_scalar or column.default.is_callable) else None,
            column.server_default is not None or (column.primary_key and column.autoincrement is True),
        )
        for key, column in _columns(mapper)
    )


def _insert_values(obj: Base, mapper: Mapper[Any]) -> dict[str, Any]:
    # A new row's values are in its instance dict (an attribute never set is absent: None, as
    # reading it would answer without loading anything); read there, not through the ORM's
    # attribute descriptors, a call or three per column less.
    given = obj.__dict__
    values: dict[str, Any] = {}
    for key, name, defaulted, databases in _insert_columns(mapper):
        value = given.get(key)
        if value is None:
            value = None if defaulted is None else _default(defaulted)
            if value is not None:
                setattr(obj, key, value)
            elif databases:
                continue
        values[name] = value
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


# A write's shape: per row, ("insert" | "update" | "guard" | "guard_insert", table, the columns it
# sets). A guard row (a row read unlocked: "guard" with no change of its own, or a guarded
# "update"; or "guard_insert", one that was absent) comes first; every other row depends on it.
_Shape = tuple[tuple[str, Table, tuple[str, ...]], ...]
_Write = tuple[str, Table, dict[str, Any]]  # an update's values hold its primary key too
# A row a guarded write depends on that was read without being loaded as an object: its table and
# its primary key's values.
RowKey = tuple[Table, dict[str, Any]]


@functools.cache
def _table_order() -> dict[Table, int]:
    return {table: n for n, table in enumerate(Base.metadata.sorted_tables)}


def _pending(session: AsyncSession, guard: Base | None = None) -> list[_Write]:
    """The session's new rows (by dependency, then in the order added) and changed rows, taken
    out of the unit of work; `guard`'s row first: a "guard_insert" when it is new, else a
    "guard" (no change of its own) or an "update"."""
    sync = session.sync_session
    order = _table_order()
    guarded: list[_Write] = []
    inserts: list[tuple[int, int, _Write]] = []
    new = list(sync.new)
    for obj in new:
        state = inspect(obj)
        table = cast(Table, state.mapper.local_table)
        write = ("insert", table, _insert_values(obj, state.mapper))
        if obj is guard:
            guarded.append(("guard_insert", table, write[2]))
        else:
            inserts.append((order[table], state.insert_order, write))
    writes = [write for _, _, write in sorted(inserts, key=lambda item: item[:2])]
    dirty = list(sync.dirty)
    if guard is not None and not guarded and guard not in dirty:
        dirty.insert(0, guard)
    for obj in dirty:
        mapper = inspect(obj).mapper
        values = _update_values(obj, mapper)
        if values or obj is guard:
            table = cast(Table, mapper.local_table)
            for column in mapper.primary_key:
                values[column.key] = getattr(obj, mapper.get_property_by_column(column).key)
            if obj is guard:
                kind = "update" if len(values) > len(mapper.primary_key) else "guard"
                guarded.append((kind, table, values))
            else:
                writes.append(("update", table, values))
    # Out of the unit of work, exactly these rows: `Session.expunge` would first walk each row's
    # loaded relationships for an expunge cascade, a third of this function's cost on a note. A
    # related row it would have found and that is not among these is unchanged: left in the
    # session, it is written by nothing.
    written = {id(o): inspect(o) for o in [*new, *dirty]}
    sync._expunge_states([state for state in written.values() if state.session_id == sync.hash_key])
    return guarded + writes


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
_STATEMENTS: dict[tuple[_Shape, int, bool], Any] = {}
_MAX_STATEMENTS = 256


def _chained(table: Table, columns: tuple[str, ...], prefix: str, previous: Any) -> Any:
    """A row inserted after `previous` (the same table's row before it): it reads `previous`'s
    RETURNING, so the database writes them in this order (serial values such as an outbox
    event's `seq` follow it); sibling CTEs alone run in an unspecified order."""
    values = select(*(bindparam(prefix + c, type_=table.c[c].type) for c in columns)).select_from(previous)
    return insert(table).from_select(list(columns), values)


# The version of the guard row the write was computed from (PostgreSQL's `xmin`, as text).
GUARD_VERSION = "guard_version"


def _guard(kind: str, table: Table, columns: tuple[str, ...], prefix: str) -> Any:
    """The guard row's statement: applied to (or, without a change, locking) the row only while
    it is the version that was read; it returns the row's key then, and nothing otherwise."""
    pk = [c.key for c in table.primary_key.columns]
    if kind == "guard_insert":  # a row that was not there when read: only while it still is not
        values = {c: bindparam(prefix + c, type_=table.c[c].type) for c in columns}
        return postgresql.insert(table).values(values).on_conflict_do_nothing().returning(table.c[pk[0]])
    unchanged = sa.cast(literal_column(f"{table.name}.xmin"), Text) == bindparam(GUARD_VERSION, type_=Text())
    if kind == "update":
        return _one("update", table, columns, prefix).where(unchanged).returning(table.c[pk[0]])
    where = [table.c[c] == bindparam(prefix + c, type_=table.c[c].type) for c in pk]
    return select(table.c[pk[0]]).where(*where, unchanged).with_for_update()


def _ctes(shape: _Shape, guarded: bool) -> list[Any]:
    ctes: list[Any] = []
    last: dict[Table, Any] = {}  # the CTE of each table's latest row
    guard = None
    for n, (kind, table, columns) in enumerate(shape):
        prefix = f"w{n}_"
        if guarded and n == 0:  # the guard row: every other row is written only with it
            guard = _guard(kind, table, columns, prefix).cte(f"w{n}")
            ctes.append(guard)
            continue
        if kind == "insert" and table in last:
            statement = _chained(table, columns, prefix, last[table])
        elif kind == "insert" and guard is not None:
            statement = _chained(table, columns, prefix, guard)
        else:
            statement = _one(kind, table, columns, prefix)
            if guard is not None:  # another row's update: only with the guard's
                statement = statement.where(exists(select(guard.c[0])))
        if kind == "insert":
            pk = list(table.primary_key.columns)
            statement = statement.returning(pk[0])
        cte = statement.cte(f"w{n}")
        if kind == "insert":
            last[table] = cte
        ctes.append(cte)
    return ctes


def _statement(shape: _Shape, then: Any, guarded: bool = False) -> Any:
    key = (shape, id(then), guarded)
    statement = _STATEMENTS.get(key)
    if statement is None:
        ctes = _ctes(shape, guarded)
        statement = then if then is not None else select(literal(1))
        if guarded:  # whether the guard held: the guard row's CTE returned its key
            held = select(func.count()).select_from(ctes[0]).scalar_subquery()
            statement = statement.add_columns(held.label("guard_held"))
        statement = statement.add_cte(*ctes)
        if len(_STATEMENTS) >= _MAX_STATEMENTS:
            _STATEMENTS.clear()
        _STATEMENTS[key] = statement
    return statement


async def _execute_one(session: AsyncSession, write: _Write) -> None:
    kind, table, values = write
    await session.execute(_one(kind, table, tuple(values), "v_"), {"v_" + c: v for c, v in values.items()})


async def write_pending(
    session: AsyncSession,
    then: Any = None,
    then_params: dict[str, Any] | None = None,
    *,
    guard: tuple[Base | RowKey, str | None] | None = None,
) -> Result[Any] | None:
    """Write the session's pending inserts and updates in one round trip (PostgreSQL) and run
    `then`, a select built once (a module constant) whose values are bound by name from
    `then_params`. Returns the result of `then`, or None without one.

    `guard`: (a row read without a lock, as an object or by its `RowKey`, and its version as read:
    `row_version`; or a new row, with None: it was not there when read), PostgreSQL only. The
    write happens only if the row is still that version (still absent: the new row is inserted);
    the result then has one row, with
    `guard_held` beside `then`'s columns (1: written; 0: nothing was written, read again).
    """
    if guard is not None:
        return await _write_guarded(session, then, then_params, *guard)
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
    connection = await session.connection()  # as in `_write_guarded`
    result = await connection.execute(_statement(shape, then), params)
    return result if then is not None else None


async def _write_guarded(
    session: AsyncSession, then: Any, then_params: dict[str, Any] | None, row: Base | RowKey, version: str | None
) -> Result[Any]:
    if session.get_bind().dialect.name != "postgresql":
        raise ValueError("a guarded write is PostgreSQL's (its row versions)")
    if isinstance(row, tuple):  # read, not loaded, and not changed: its lock is the guard
        if version is None:
            raise ValueError("a row given by its key was read: it has a version")
        table, key = row
        writes = [("guard", table, key), *_pending(session)]
    else:
        writes = _pending(session, row)
    shape = tuple((kind, table, tuple(values)) for kind, table, values in writes)
    params: dict[str, Any] = {**(then_params or {}), GUARD_VERSION: version}
    for n, (_, _, values) in enumerate(writes):
        params.update({f"w{n}_{column}": value for column, value in values.items()})
    # On the session's connection, as Core: the rows are out of the unit of work already, so the
    # ORM's execution (an autoflush, its compile-state lookups) would only cost calls.
    connection = await session.connection()
    result: Result[Any] = await connection.execute(_statement(shape, then, guarded=True), params)
    return result


def row_version(table: Table) -> Any:
    """The column to select beside a row that a guarded write will depend on (PostgreSQL)."""
    return sa.cast(literal_column(f"{table.name}.xmin"), Text).label("row_version")
