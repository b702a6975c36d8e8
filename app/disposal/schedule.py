"""The daily disposal run inside `iub worker`: approved lists whose date has come are executed."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from app.core.db import Database
from app.core.settings import Settings
from app.disposal.execution import DisposalRunner
from app.kit.clock import today

log = structlog.get_logger("iub.disposal")


async def run_daily(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    """Every `disposal_interval_hours` until `stop`: run the approved lists (stops between batches)."""
    while not stop.is_set():
        try:
            runner = DisposalRunner(db, settings, should_stop=stop.is_set)
            for report in await runner.run(as_of=today()):
                log.info(
                    "disposal_list_run",
                    list_id=report.list_id,
                    run_id=report.run_id,
                    files=report.files_done,
                    held=report.held,
                    changed=report.changed,
                    skipped=report.skipped,
                )
        except Exception as exc:  # the worker keeps delivering; the next day's run resumes
            log.error("disposal_run_failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.disposal_interval_hours * 3600)
