"""The units' process steps (three or five, seed 004) kept in memory: an opening never queries them.

Like the catalog (`app.catalog.store`): a unit's choice is read from the database once, then
served from memory; this process's own change is applied when it commits, and other processes'
changes are picked up after `IUB_CATALOG_REFRESH_SECONDS` (0: never re-read). A unit without a
row has the default, three steps; that answer is cached as well.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import UnitProcessRow
from app.core.db import on_commit

DEFAULT_PROCESS_STEPS = 3


@dataclass
class UnitProcesses:
    """`(committee, unit) -> (process steps, when read)`; the table is small and rarely written."""

    refresh_seconds: float = 0.0
    _steps: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)

    async def steps(self, session: AsyncSession, committee: str, unit: str) -> int:
        key = (committee, unit)
        cached = self._steps.get(key)
        now = time.monotonic()
        if cached is not None and (self.refresh_seconds <= 0 or now - cached[1] < self.refresh_seconds):
            return cached[0]
        row = await session.get(UnitProcessRow, key)
        steps = DEFAULT_PROCESS_STEPS if row is None else row.process_steps
        self._steps[key] = (steps, now)
        return steps

    def changed(self, session: AsyncSession, committee: str, unit: str, steps: int) -> None:
        """The unit's new choice, applied once the request's transaction has committed."""
        on_commit(session, lambda: self._steps.__setitem__((committee, unit), (steps, time.monotonic())))


def unit_processes(request: Request) -> UnitProcesses:
    """The app's store, made on first use."""
    state = request.app.state
    store: UnitProcesses | None = getattr(state, "unit_processes", None)
    if store is None:
        store = state.unit_processes = UnitProcesses(state.settings.catalog_refresh_seconds)
    return store
