"""Journal delivery: outbox events delivered per second against the simulator (no faults).

- Database: PostgreSQL when it answers at `IUB_BENCH_PG` (default
  `postgresql+asyncpg://postgres@127.0.0.1:5432`; a temporary database, dropped afterwards),
  else a temporary SQLite file. Backlogs are inserted in bulk (executemany), then drained.
- Journal system, two ways:
  - *in-process*: the simulator behind `httpx.ASGITransport` in the dispatcher's process (the
    `embedded` dev configuration): the dispatcher, the adapter and the simulator share one CPU;
  - *loopback*: the simulator under uvicorn on a free loopback port in its own process
    (`iub journal-sim`), reached over HTTP/1.1 keep-alive through `SpreadTransport` (8
    connections), as a real system would be.
- Workload: identified cases of five events each — registration (two requests: person upsert
  and case), three journal entries, the closing (two requests: closing entry and avslut) — so
  six requests per five events.
- The 100,000-event backlog is drained in-process by two dispatchers (two asyncio tasks, one
  engine each; on PostgreSQL they share the work through SKIP LOCKED; SQLite: one).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

from bench.harness import RunConfig, Section, SectionReport, bare_app, quiet_stderr

PG_SERVER = os.environ.get("IUB_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
TARGET_RATE = 1000.0  # events/s
TARGET_DRAIN_SECONDS = 120.0
EVENTS_PER_CASE = 5
REQUESTS_PER_EVENT = 6 / 5  # registration and closing take two requests each
# Skatteverket's test personnummer.
PERSONNUMMER = ("202003242381", "201802132389", "202202112385", "202205192392", "201805142385")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _pg_admin(sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    dsn = PG_SERVER.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def _database() -> AsyncIterator[tuple[str, str]]:
    """(url, label) of a fresh, migrated database."""
    from alembic import command
    from app.cli import alembic_config

    name = f"iub_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        await _pg_admin(f'CREATE DATABASE "{name}"')
    except Exception:
        with tempfile.TemporaryDirectory(prefix="iub-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'journal.sqlite3'}"
            with quiet_stderr():
                await asyncio.to_thread(command.upgrade, alembic_config(url), "head")  # type: ignore[arg-type]
            yield url, "SQLite (PostgreSQL not reachable)"
        return
    url = f"{PG_SERVER}/{name}"
    try:
        with quiet_stderr():
            await asyncio.to_thread(command.upgrade, alembic_config(url), "head")  # type: ignore[arg-type]
        yield url, "PostgreSQL"
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def _simulator() -> AsyncIterator[str]:
    port = _free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before any measurement
        [sys.executable, "-m", "app.cli", "journal-sim", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                try:
                    await http.get(url + "/_sim/faults")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the simulator did not start")
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _case_rows(cases: int) -> list[dict[str, Any]]:
    from app.journal import events
    from app.journal.port import (
        CaseClosing,
        CaseRegistration,
        ClosingReason,
        EntryKind,
        JournalEntry,
        PersonRecord,
    )

    class _Capture:
        row: Any = None

        def add(self, row: Any) -> None:
            self.row = row

    def payload(build: Any, *args: Any, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        capture = _Capture()
        build(capture, *args, **kwargs)
        return capture.row.kind, capture.row.payload

    opened = dt.date(2026, 11, 2)
    closing = CaseClosing(
        closed_on=dt.date(2026, 11, 20), reason=ClosingReason.completed, disposal_due_on=dt.date(2031, 11, 20)
    )
    closing_entry = JournalEntry(EntryKind.closing, dt.date(2026, 11, 20), "Avslut: insatsen är genomförd.")
    entries = [JournalEntry(EntryKind.execution, opened, f"Samtal {n} genomfört.") for n in (1, 2, 3)]
    rows = []
    for i in range(cases):
        case_id = str(uuid.uuid4())
        person = PersonRecord(personnummer=PERSONNUMMER[i % len(PERSONNUMMER)], name=f"Testperson {i % 5}")
        registration = CaseRegistration(person, "bench-unit", "samtalsstod", "Samtalsstöd", 3, opened)
        built = [payload(events.case_registered, case_id, registration)]
        built += [payload(events.note_added, case_id, e) for e in entries]
        built.append(payload(events.case_closed, case_id, closing, entry=closing_entry))
        for kind, data in built:
            rows.append(
                {
                    "id": str(uuid.uuid4()), "aggregate_type": "case", "aggregate_id": case_id, "kind": kind,
                    "payload": data, "status": "pending", "attempts": 0,
                }
            )  # fmt: skip
    return rows


async def _insert(url: str, rows: list[dict[str, Any]]) -> float:
    from sqlalchemy import insert, text

    from app.core.db import Database
    from app.journal.models import OutboxEvent

    db = Database.connect(url)
    started = time.perf_counter()
    try:
        async with db.sessions() as session, session.begin():
            for start in range(0, len(rows), 10_000):
                await session.execute(insert(OutboxEvent), rows[start : start + 10_000])
        if db.is_postgresql:  # what autovacuum would do after a bulk insert: fresh planner statistics
            async with db.engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("ANALYZE outbox_events"))
    finally:
        await db.dispose()
    return time.perf_counter() - started


async def _drain(url: str, client: httpx.AsyncClient, total: int, *, workers: int = 1) -> float:
    """Seconds to deliver `total` events with `workers` dispatchers in this process."""
    from app.core.db import Database
    from app.journal.dispatcher import Dispatcher
    from app.journal.http_adapter import HttpJournalSystem

    if not url.startswith("postgresql"):
        workers = 1
    databases = [Database.connect(url) for _ in range(workers)]
    journal = HttpJournalSystem(client)
    dispatchers = [
        Dispatcher(db, journal, batch_size=200, concurrency=32, lease_seconds=120, event_timeout=30) for db in databases
    ]
    delivered = 0

    async def work(dispatcher: Dispatcher) -> None:
        nonlocal delivered
        idle = 0
        while delivered < total and idle < 50:
            count = await dispatcher.run_once()
            delivered += count
            idle = 0 if dispatcher.last_cycle.claimed else idle + 1
            if not dispatcher.last_cycle.claimed:
                await asyncio.sleep(0.01)  # the other dispatcher holds the rest

    started = time.perf_counter()
    try:
        await asyncio.gather(*(work(d) for d in dispatchers))
        if delivered < total:
            raise RuntimeError(f"only {delivered} of {total} events were delivered")
        return time.perf_counter() - started
    finally:
        for db in databases:
            await db.dispose()


def _in_process_client() -> httpx.AsyncClient:
    from app.journal.simulator import create_simulator_app

    transport = httpx.ASGITransport(app=create_simulator_app())
    return httpx.AsyncClient(transport=transport, base_url="http://journal.embedded", timeout=30.0)


def _loopback_client(journal_url: str) -> httpx.AsyncClient:
    from app.journal.runtime import SpreadTransport

    return httpx.AsyncClient(base_url=journal_url, timeout=30.0, transport=SpreadTransport(8))


class _EntryBody(BaseModel):
    kind: str
    occurred_on: dt.date
    text: str


async def _bare_rate(requests: int, concurrency: int = 32) -> float:
    """Requests/s of a bare FastAPI endpoint through the same in-process httpx transport, as many
    requests in flight as the dispatcher keeps: the ceiling the delivery figures sit under."""
    transport = httpx.ASGITransport(app=bare_app(_EntryBody))
    body = {"kind": "execution", "occurred_on": "2026-01-01", "text": "Samtal 1 av 5 genomförd."}
    async with httpx.AsyncClient(transport=transport, base_url="http://bare") as client:

        async def worker(count: int) -> None:
            for _ in range(count):
                (await client.post("/bare", json=body)).raise_for_status()

        await worker(200)  # warm-up
        started = time.perf_counter()
        await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
        return (requests // concurrency) * concurrency / (time.perf_counter() - started)


async def run(config: RunConfig) -> SectionReport:
    report = SectionReport("Journal delivery (outbox dispatcher → simulator, no faults)")
    rate_cases = config.scale(4_000, 400)  # x5 events
    backlog_cases = config.scale(20_000, 2_000)  # x5 events: 100,000 (quick: 10,000)
    async with _database() as (url, label), _simulator() as journal_url:
        for name, client in (("in-process", _in_process_client()), ("loopback", _loopback_client(journal_url))):
            async with client:
                rows = _case_rows(rate_cases)
                await _insert(url, rows)
                rate = len(rows) / await _drain(url, client, len(rows))
            in_process = name == "in-process"
            report.add(
                f"Delivered events/s, {name}, {len(rows):,} events, one dispatcher",
                f"{rate:,.0f}",
                f">= {TARGET_RATE:,.0f}" if in_process else "",
                rate >= TARGET_RATE if in_process else None,
            )
            if in_process:
                bare = await _bare_rate(config.scale(12_000, 1_200))
                report.add(
                    "Bare FastAPI endpoint, same in-process httpx transport, 32 in flight: requests/s", f"{bare:,.0f}"
                )
                requests_per_second = rate * REQUESTS_PER_EVENT
                report.add(
                    "Dispatcher's journal requests/s (events × 6/5) / bare endpoint",
                    f"{requests_per_second:,.0f} ({requests_per_second / bare:.0%})",
                )
        backlog = _case_rows(backlog_cases)
        insert_seconds = await _insert(url, backlog)
        async with _in_process_client() as client:
            drain_seconds = await _drain(url, client, len(backlog), workers=2)
        target = TARGET_DRAIN_SECONDS * len(backlog) / 100_000
        report.add(
            f"Drain of a {len(backlog):,}-event backlog, in-process, two dispatchers",
            f"{drain_seconds:.1f} s ({len(backlog) / drain_seconds:,.0f} events/s)",
            f"< {target:.0f} s",
            drain_seconds < target,
        )
        report.note(
            f"{label}; the backlog was inserted in {insert_seconds:.1f} s (executemany). Batches of 200 cases, "
            "32 cases in flight per dispatcher. In-process: simulator behind httpx.ASGITransport in the "
            "same process. Loopback: simulator under uvicorn in its own process, 8 keep-alive connections; "
            "there httpx/httpcore's per-request cost in the dispatcher's process is the limit."
        )
    return report


SECTION = Section("journal", run)
