"""The database: engine, sessions, and one transaction per request.

Services never commit: the request's session dependency commits when the endpoint returns
and rolls back on any error, so a request is one transaction and nothing is half written.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import asyncpg  # type: ignore[import-untyped]
from fastapi import Depends, Request
from sqlalchemy import JSON, MetaData, String, TypeDecorator, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# JSON that is JSONB on PostgreSQL.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")

# A list of ids: a PostgreSQL array (compact, and GIN-indexable by element: `@>`, `&&`), a JSON
# array on SQLite, which has no array type (queried there with `json_each`).
IdArray = JSON().with_variant(ARRAY(String(36)), "postgresql")


class Uuid(TypeDecorator[str]):
    """UUIDs as 36-character strings on every backend (ids travel as strings anyway)."""

    impl = String(36)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)


def on_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` only once the transaction has committed (e.g. to refresh a memory cache)."""
    session.sync_session.info.setdefault("after_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop("after_commit", []):
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop("after_commit", None)


def new_id() -> str:
    return str(uuid.uuid4())


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# A fixed pool: every connection, once made, is kept. A new asyncpg connection costs a backend
# start, the type introspection of the first statement with a varchar[] (asyncpg has no built-in
# codec for it: a recursive catalog query, 20-45 ms on a loaded 2-core machine) and a fresh prepare
# of every statement on a cold backend: about 60 ms more for a case opening's request. With
# 10 + 10 overflow, every burst past 10 requests in flight made such connections exactly when
# the service was already behind, and closed them again when it caught up, so the next burst paid
# once more: a commit held back for 100 ms (a checkpoint's fsyncs) grew into a stall of several
# hundred ms. The same 20 connections at most, now all of them warm; a burst past 20 waits
# for one.
POOL_SIZE = 20
POOL_OVERFLOW = 0


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # Bound values (names, free text) must never reach a log line through a database error.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    # No pre-ping: it costs a round trip on every checkout, and a connection found dead is
    # judged from the error it raises (`database_unavailable`: a 503, and the pool drops it).
    kwargs.setdefault("pool_pre_ping", False)
    # A server that does not answer at all fails a connection attempt in seconds (asyncpg's
    # default is a minute), so that requests answer 503 instead of hanging.
    kwargs.setdefault("connect_args", {}).setdefault("timeout", CONNECT_TIMEOUT_SECONDS)
    return create_async_engine(url, **kwargs)


CONNECT_TIMEOUT_SECONDS = 5.0

# --- a database that is away -------------------------------------------------------------------

_UNREACHABLE_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EHOSTDOWN,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)
# SQLite: the file cannot be opened, or another writer held it longer than the busy timeout.
_SQLITE_UNAVAILABLE = ("unable to open database file", "database is locked", "disk i/o error")


def _unavailable_here(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return True
    if isinstance(exc, OSError) and exc.errno in _UNREACHABLE_ERRNOS:
        return True
    if isinstance(
        exc,
        asyncpg.PostgresConnectionError  # class 08, e.g. the connection was closed mid-operation
        | asyncpg.CannotConnectNowError  # 57P03: starting up or shutting down
        | asyncpg.AdminShutdownError  # 57P01
        | asyncpg.CrashShutdownError  # 57P02
        | asyncpg.TooManyConnectionsError,  # 53300
    ):
        return True
    if isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc):
        return True
    return isinstance(exc, sqlite3.OperationalError) and str(exc).lower().startswith(_SQLITE_UNAVAILABLE)


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached now (a 503, worth retrying), not a bug.

    Judged from the exception and its causes, as SQLAlchemy, asyncpg and the socket layer raise
    them: a connection refused, reset or timed out, one that the driver found closed (SQLAlchemy
    marks it `connection_invalidated`), a server shutting down or out of connections. This does
    not rely on the pool's pre-ping, which only covers connections taken from the pool.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen or len(seen) > 20:
            continue
        seen.add(id(current))
        if _unavailable_here(current):
            return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend((current.__cause__, current.__context__, getattr(current, "orig", None)))
    return False


# Connections of the pool whose commits do not wait for the disk (see `Database.unsynced`).
UNSYNCED_POOL_SIZE = 5


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    _unsynced: async_sessionmaker[AsyncSession] | None = field(default=None, repr=False)
    _options: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def connect(cls, url: str, **kwargs: Any) -> Database:
        engine = make_engine(url, **kwargs)
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False, autoflush=True), _options=kwargs)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def unsynced(self) -> async_sessionmaker[AsyncSession]:
        """Sessions whose commits do not wait for the WAL to reach the disk (PostgreSQL's
        `synchronous_commit = off`, on a small pool of its own), for bookkeeping that may be lost
        in a crash together with the request it serves: an idempotency claim (a crash loses the
        request's uncommitted writes too, and a lost claim lets the retry run afresh, as it
        should). Any later durable commit flushes it. The request's own commit stays synchronous.
        SQLite: the ordinary sessions.
        """
        if not self.is_postgresql:
            return self.sessions
        if self._unsynced is None:
            options = {**self._options, "pool_size": UNSYNCED_POOL_SIZE, "max_overflow": UNSYNCED_POOL_SIZE}
            connect_args = dict(options.get("connect_args") or {})
            server_settings = dict(connect_args.get("server_settings") or {})
            server_settings["synchronous_commit"] = "off"
            connect_args["server_settings"] = server_settings
            options["connect_args"] = connect_args
            engine = make_engine(self.engine.url.render_as_string(hide_password=False), **options)
            self._unsynced = async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
        return self._unsynced

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._unsynced is not None:
            bind = self._unsynced.kw["bind"]
            self._unsynced = None
            await bind.dispose()


async def statements_alone(session: AsyncSession) -> bool:
    """Let each statement of `session` be its own transaction (PostgreSQL's autocommit), for a
    request whose one write is a single statement: it then costs no BEGIN and no COMMIT round
    trip, and the statement is still atomic. Only before the session's first statement, and only
    on PostgreSQL; answers whether it did (else the session stays one transaction, as always).
    The connection goes back to the pool with the default isolation restored by SQLAlchemy.
    """
    if session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return False
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return True


async def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


@asynccontextmanager
async def request_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction: committed when the block ends, rolled back on any error."""
    db: Database = request.app.state.db
    async with db.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit after the endpoint, roll back on error."""
    async with request_transaction(request) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
DatabaseDep = Annotated[Database, Depends(get_database)]
