"""The catalog kept in memory: hot reads (eligibility, case opening) never query the database.

The snapshot is rebuilt from the database at start-up, after this process commits a
decision, and when another process (another replica, `iub catalog load`) has committed one:

- on PostgreSQL every catalog write sends `NOTIFY iub_catalog` in its transaction
  (`announce_change`: delivered on commit, never for a rollback), and every store LISTENs on a
  connection of its own (outside the pool), reloading within moments of the commit;
- whatever happens to that connection, every `IUB_CATALOG_REFRESH_SECONDS` the store reloads
  anyway (the fallback; SQLite has only this), and after the listener reconnects it reloads once
  for the notifications it may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.domain import Committee, Decision
from app.catalog.repository import CatalogRepository
from app.catalog.snapshot import CatalogSnapshot
from app.core.db import CONNECT_TIMEOUT_SECONDS, Database

log = structlog.get_logger("iub.catalog")

CHANNEL = "iub_catalog"


async def announce_change(session: AsyncSession) -> None:
    """Tell every process's store that the catalog changed, when this transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class CatalogStore:
    def __init__(self) -> None:
        self._snapshot = CatalogSnapshot([], [])
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()
        self.reloads = 0

    @property
    def snapshot(self) -> CatalogSnapshot:
        return self._snapshot

    async def reload(self, db: Database) -> None:
        async with db.sessions() as session:
            committees, decisions = await CatalogRepository(session).load_all()
        self._snapshot = CatalogSnapshot(committees, decisions)
        self.reloads += 1

    def add(self, committees: list[Committee], decisions: list[Decision]) -> None:
        """Apply committed changes without a round trip."""
        merged = dict(self._snapshot.committees)
        merged.update({c.id: c for c in committees})
        all_decisions = dict(self._snapshot.decisions)
        all_decisions.update({d.id: d for d in decisions})
        self._snapshot = CatalogSnapshot(list(merged.values()), list(all_decisions.values()))

    def start_refresh(self, db: Database, every_seconds: float) -> None:
        """Reload on other processes' writes (LISTEN on PostgreSQL) and every `every_seconds`."""
        if every_seconds > 0 and not self._tasks:
            self._tasks.append(asyncio.create_task(self._refresh_forever(db, every_seconds)))
            if db.is_postgresql:
                self._tasks.append(asyncio.create_task(self._listen_forever(db)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _refresh_forever(self, db: Database, every_seconds: float) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), every_seconds)
            self._changed.clear()
            try:
                await self.reload(db)
            except Exception:  # a refresh failure keeps the last good snapshot
                log.warning("catalog_refresh_failed", exc_info=True)

    async def _listen_forever(self, db: Database) -> None:
        import asyncpg  # type: ignore[import-untyped]

        dsn = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        backoff = 1.0
        while True:
            connection: Any = None
            try:
                connection = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_SECONDS)
                closed = asyncio.Event()
                connection.add_termination_listener(lambda _connection, closed=closed: closed.set())
                await connection.add_listener(CHANNEL, lambda *_: self._changed.set())
                self._changed.set()  # whatever was committed while nobody listened
                backoff = 1.0
                await closed.wait()
                log.warning("catalog_listener_lost")
            except Exception:
                log.warning("catalog_listener_failed", exc_info=True)
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            await asyncio.sleep(backoff)
            backoff = min(30.0, backoff * 2)


# Async dependencies: FastAPI would run plain functions in a thread pool.
async def get_catalog_store(request: Request) -> CatalogStore:
    store: CatalogStore = request.app.state.catalog
    return store


async def get_catalog(request: Request) -> CatalogSnapshot:
    store: CatalogStore = request.app.state.catalog
    return store.snapshot


CatalogStoreDep = Annotated[CatalogStore, Depends(get_catalog_store)]
CatalogDep = Annotated[CatalogSnapshot, Depends(get_catalog)]
