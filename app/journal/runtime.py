"""Wiring the journal system and the dispatcher from the settings.

- `IUB_JOURNAL_BASE_URL=embedded` (the dev default): the simulator runs in this process and the
  adapter talks to it through `httpx.ASGITransport` — no network, nothing else to start. Each
  process has its own embedded simulator, so use a real URL (e.g. `iub journal-sim`) when
  the worker runs as its own process.
- Otherwise: keep-alive connections to the base URL, each request bounded by
  `IUB_JOURNAL_TIMEOUT_SECONDS`, through `Http1Transport` (`app.journal.http1`: about a quarter
  of aiohttp's CPU per request) or, with `IUB_JOURNAL_CLIENT=aiohttp`, `AiohttpTransport`.

`start_outbox` starts the dispatcher as a task of the API process when
`settings.run_outbox_in_process` (on by default in dev, so `make run` shows the whole flow);
in production run `iub worker` processes instead (several may run against PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from app.core.db import Database
from app.core.settings import Settings
from app.journal.dispatcher import CycleResult, Dispatcher
from app.journal.http1 import Http1Transport
from app.journal.http_adapter import AiohttpTransport, HttpJournalSystem, HttpxTransport, JournalTransport
from app.journal.port import JournalSystem

EMBEDDED = "embedded"
EMBEDDED_BASE_URL = "http://journal.embedded"

log = logging.getLogger("iub.journal.runtime")


def journal_client(settings: Settings, *, connections: int = 8) -> JournalTransport:
    """The HTTP client to the journal system (the embedded simulator or a real base URL)."""
    if settings.journal_base_url == EMBEDDED:
        from app.journal.simulator import create_simulator_app

        transport = httpx.ASGITransport(app=create_simulator_app())
        timeout = httpx.Timeout(settings.journal_timeout_seconds)
        return HttpxTransport(httpx.AsyncClient(transport=transport, base_url=EMBEDDED_BASE_URL, timeout=timeout))
    if settings.journal_client == "aiohttp":
        return AiohttpTransport(
            settings.journal_base_url, timeout=settings.journal_timeout_seconds, connections=connections
        )
    return Http1Transport(settings.journal_base_url, timeout=settings.journal_timeout_seconds, connections=connections)


def build_journal(settings: Settings, client: JournalTransport | httpx.AsyncClient | None = None) -> JournalSystem:
    """The `JournalSystem` the settings name; another system would be chosen here."""
    return HttpJournalSystem(client or journal_client(settings))


def build_dispatcher(db: Database, journal: JournalSystem, settings: Settings, **options: Any) -> Dispatcher:
    # A request may take the whole client timeout, and an event up to three requests.
    options.setdefault("event_timeout", 3 * settings.journal_timeout_seconds + 1)
    options.setdefault("lease_seconds", max(60.0, 4 * options["event_timeout"]))
    options.setdefault("max_attempts", settings.outbox_max_attempts)
    return Dispatcher(db, journal, **options)


async def run_worker(
    db: Database,
    settings: Settings,
    stop: asyncio.Event,
    *,
    concurrency: int = 32,
    once: bool = False,
    options: dict[str, Any] | None = None,
    loops: int | None = None,
    on_cycle: Callable[[CycleResult], None] | None = None,
) -> int:
    """`iub worker`: deliver until `stop` is set (or, `once`, until nothing is due); the number
    delivered when `once`. `options` go to each `Dispatcher` (batch size, poll interval, lease).

    `concurrency` cases are in flight at once. On PostgreSQL they are shared by two dispatch
    loops in this process (SKIP LOCKED keeps them apart, as it keeps workers apart): while one
    claims or completes its batch in the database, the other's requests keep the connections
    to the journal system busy (measured: the idle gaps between batches were a fifth of a
    worker's time). One aggregate's events are always in one claim, so the order per case holds.
    """
    if loops is None or not db.is_postgresql:
        loops = 2 if db.is_postgresql and concurrency >= 2 else 1
    client = journal_client(settings, connections=min(concurrency, 64))
    journal = build_journal(settings, client)
    dispatchers = [
        build_dispatcher(db, journal, settings, concurrency=max(1, concurrency // loops), **(options or {}))
        for _ in range(loops)
    ]
    try:
        if once:

            async def drain(dispatcher: Dispatcher) -> int:
                total = 0
                while (delivered := await dispatcher.run_once()) or dispatcher.last_cycle.claimed:
                    total += delivered
                    if on_cycle is not None:  # `iub worker --once`: progress, and failures for its exit code
                        on_cycle(dispatcher.last_cycle)
                return total

            return sum(await asyncio.gather(*(drain(d) for d in dispatchers)))
        await asyncio.gather(*(d.run_forever(stop) for d in dispatchers))
        return 0
    finally:
        await client.aclose()


@dataclass
class OutboxRunner:
    """An in-process dispatcher task and what it owns."""

    dispatcher: Dispatcher
    client: JournalTransport
    stop_event: asyncio.Event
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.stop_event.set()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), self.dispatcher.lease_seconds)
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.client.aclose()


async def start_outbox(db: Database, settings: Settings) -> OutboxRunner | None:
    """Start the in-process dispatcher when the settings ask for it; None otherwise."""
    if not settings.run_outbox_in_process:
        return None
    client = journal_client(settings)
    dispatcher = build_dispatcher(db, build_journal(settings, client), settings, poll_interval=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run_forever(stop), name="outbox-dispatcher")
    log.info("outbox dispatcher started in-process", extra={"journal": _describe(settings)})
    return OutboxRunner(dispatcher, client, stop, task)


async def stop_outbox(runner: OutboxRunner | None) -> None:
    if runner is not None:
        await runner.stop()


def _describe(settings: Settings) -> str:
    return EMBEDDED if settings.journal_base_url == EMBEDDED else "http"
