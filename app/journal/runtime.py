"""Wiring the journal system and the dispatcher from the settings.

- `IUB_JOURNAL_BASE_URL=embedded` (the dev default): the simulator runs in this process and the
  adapter talks to it through `httpx.ASGITransport` — no network, nothing else to start. Each
  process has its own embedded simulator, so use a real URL (e.g. `iub journal-sim`) when
  the worker runs as its own process.
- Otherwise: `httpx.AsyncClient(base_url, timeout=IUB_JOURNAL_TIMEOUT_SECONDS)`.

`start_outbox` starts the dispatcher as a task of the API process when
`settings.run_outbox_in_process` (on by default in dev, so `make run` shows the whole flow);
in production run `iub worker` processes instead (several may run against PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from app.core.db import Database
from app.core.settings import Settings
from app.journal.dispatcher import Dispatcher
from app.journal.http_adapter import HttpJournalSystem
from app.journal.port import JournalSystem

EMBEDDED = "embedded"
EMBEDDED_BASE_URL = "http://journal.embedded"

log = logging.getLogger("iub.journal.runtime")


class SpreadTransport(httpx.AsyncBaseTransport):
    """`connections` single-connection pools; each request goes to the least busy one.

    httpcore's pool checks every idle connection on every request, so one pool of N
    connections costs O(N) per request; N pools of one keep that O(1) (about 1.5x the
    requests per second at 8 connections on loopback). Responses are read in full before
    the connection counts as free again (journal responses are small JSON documents).
    """

    def __init__(self, connections: int, **options: Any) -> None:
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self._pools = [httpx.AsyncHTTPTransport(limits=one, **options) for _ in range(max(1, connections))]
        self._busy = [0] * len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._pools)), key=self._busy.__getitem__)
        self._busy[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
            return response
        finally:
            self._busy[index] -= 1

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


def journal_client(settings: Settings, *, connections: int = 8) -> httpx.AsyncClient:
    """The HTTP client to the journal system (the embedded simulator or a real base URL)."""
    timeout = httpx.Timeout(settings.journal_timeout_seconds)
    if settings.journal_base_url == EMBEDDED:
        from app.journal.simulator import create_simulator_app

        transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=create_simulator_app())
        return httpx.AsyncClient(transport=transport, base_url=EMBEDDED_BASE_URL, timeout=timeout)
    transport = SpreadTransport(connections)
    return httpx.AsyncClient(base_url=settings.journal_base_url, timeout=timeout, transport=transport)


def build_journal(settings: Settings, client: httpx.AsyncClient | None = None) -> JournalSystem:
    """The `JournalSystem` the settings name; another system would be chosen here."""
    return HttpJournalSystem(client or journal_client(settings))


def build_dispatcher(db: Database, journal: JournalSystem, settings: Settings, **options: Any) -> Dispatcher:
    # A request may take the whole client timeout, and an event up to three requests.
    options.setdefault("event_timeout", 3 * settings.journal_timeout_seconds + 1)
    options.setdefault("lease_seconds", max(60.0, 4 * options["event_timeout"]))
    options.setdefault("max_attempts", settings.outbox_max_attempts)
    return Dispatcher(db, journal, **options)


@dataclass
class OutboxRunner:
    """An in-process dispatcher task and what it owns."""

    dispatcher: Dispatcher
    client: httpx.AsyncClient
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
