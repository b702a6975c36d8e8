"""The catalog kept in memory: hot reads (eligibility, case opening) never query the database.

The snapshot is rebuilt from the database at start-up, after this process commits a
decision, and every `IUB_CATALOG_REFRESH_SECONDS` (to pick up other processes' writes).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import structlog
from fastapi import Depends, Request

from app.catalog.domain import Committee, Decision
from app.catalog.repository import CatalogRepository
from app.catalog.snapshot import CatalogSnapshot
from app.core.db import Database

log = structlog.get_logger("iub.catalog")


class CatalogStore:
    def __init__(self) -> None:
        self._snapshot = CatalogSnapshot([], [])
        self._task: asyncio.Task[None] | None = None

    @property
    def snapshot(self) -> CatalogSnapshot:
        return self._snapshot

    async def reload(self, db: Database) -> None:
        async with db.sessions() as session:
            committees, decisions = await CatalogRepository(session).load_all()
        self._snapshot = CatalogSnapshot(committees, decisions)

    def add(self, committees: list[Committee], decisions: list[Decision]) -> None:
        """Apply committed changes without a round trip."""
        merged = dict(self._snapshot.committees)
        merged.update({c.id: c for c in committees})
        all_decisions = dict(self._snapshot.decisions)
        all_decisions.update({d.id: d for d in decisions})
        self._snapshot = CatalogSnapshot(list(merged.values()), list(all_decisions.values()))

    def start_refresh(self, db: Database, every_seconds: float) -> None:
        if every_seconds > 0 and self._task is None:
            self._task = asyncio.create_task(self._refresh_forever(db, every_seconds))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _refresh_forever(self, db: Database, every_seconds: float) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await self.reload(db)
            except Exception:  # a refresh failure keeps the last good snapshot
                log.warning("catalog_refresh_failed", exc_info=True)


# Async dependencies: FastAPI would run plain functions in a thread pool.
async def get_catalog_store(request: Request) -> CatalogStore:
    store: CatalogStore = request.app.state.catalog
    return store


async def get_catalog(request: Request) -> CatalogSnapshot:
    store: CatalogStore = request.app.state.catalog
    return store.snapshot


CatalogStoreDep = Annotated[CatalogStore, Depends(get_catalog_store)]
CatalogDep = Annotated[CatalogSnapshot, Depends(get_catalog)]
