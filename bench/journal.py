"""Journal delivery: outbox events delivered per second over real loopback HTTP, and a backlog drained.

- Database: PostgreSQL when it answers at `IUB_BENCH_PG` (default
  `postgresql+asyncpg://postgres@127.0.0.1:5432`; a temporary database, dropped afterwards),
  else a temporary SQLite file. Backlogs are inserted in bulk (executemany), then drained.
- Journal system: the simulator under uvicorn in its own process (`iub journal-sim`) on a free
  loopback port, reached through the client `iub worker` uses (`app.journal.runtime.journal_client`).
- The worker: one dispatcher in this process (nothing else runs here meanwhile), as one
  `iub worker` process runs it. Besides events per second, events per CPU-second of this
  process: on a shared machine the steadier figure (other processes lengthen wall time, not
  our CPU time).
- Workload: identified cases of five events each — registration (two requests: person upsert
  and case), three journal entries, the closing (two requests: closing entry and avslut) — so
  six requests per five events.
- The simulator's peak resident memory after the drain (it must not grow without bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench.harness import RunConfig, Section, SectionReport, quiet_stderr

PG_SERVER = os.environ.get("IUB_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
TARGET_RATE = 1000.0  # events/s
TARGET_DRAIN_SECONDS = 120.0
EVENTS_PER_CASE = 5
REQUESTS_PER_EVENT = 6 / 5  # registration and closing take two requests each
# Skatteverket's test personnummer.
PERSONNUMMER = ("202003242381", "201802132389", "202202112385", "202205192392", "201805142385")


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


async def _drain(url: str, journal_url: str, total: int, concurrency: int) -> tuple[float, float, float | None]:
    """(wall seconds, CPU seconds of this process, CPU seconds of its PostgreSQL backends or None)
    to deliver `total` events as `iub worker --once --concurrency N` does
    (`app.journal.runtime.run_worker`)."""
    from app.core.db import Database
    from app.core.settings import Settings
    from app.journal.runtime import run_worker

    settings = Settings(journal_base_url=journal_url, journal_timeout_seconds=30)
    db = Database.connect(url)
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        delivered = await run_worker(db, settings, asyncio.Event(), concurrency=concurrency, once=True)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if delivered < total:
            raise RuntimeError(f"only {delivered} of {total} events were delivered")
        backends = None
        if db.is_postgresql:  # the pool's backends began with this drain: their CPU is the drain's
            import asyncpg

            connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
            try:
                mine = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                backends = _cpu_seconds([row["pid"] for row in await connection.fetch(mine)])
            finally:
                await connection.close()
        return seconds, cpu, backends
    finally:
        await db.dispose()


def _cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU of these processes (on this machine), or None where /proc cannot tell."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def run(config: RunConfig) -> SectionReport:
    # x5 events: 20,000 for the rate (quick: 2,000), 100,000 for the backlog (quick: 10,000)
    return await measure(rate_cases=config.scale(4_000, 400), backlog_cases=config.scale(20_000, 2_000))


async def measure(*, rate_cases: int, backlog_cases: int, concurrency: int = 32) -> SectionReport:
    """The section's figures for `rate_cases` and `backlog_cases` cases of five events (0: skipped)."""
    from bench import processes

    report = SectionReport("Journal delivery (outbox → simulator in its own process, loopback HTTP)")
    load = os.getloadavg()
    insert_seconds = 0.0
    async with _database() as (url, label):
        with processes.simulator() as simulator:
            if rate_cases:
                rows = _case_rows(rate_cases)
                await _insert(url, rows)
                seconds, cpu, _ = await _drain(url, simulator.url, len(rows), concurrency)
                rate = len(rows) / seconds
                report.add(
                    f"Delivered events/s, one worker, {len(rows):,} events",
                    f"{rate:,.0f} ({len(rows) / cpu:,.0f} per CPU-second of the worker)",
                    f">= {TARGET_RATE:,.0f}",
                    rate >= TARGET_RATE,
                )
            if backlog_cases:
                backlog = _case_rows(backlog_cases)
                insert_seconds = await _insert(url, backlog)
                sim_cpu = simulator.cpu_seconds()
                drain_seconds, drain_cpu, pg_cpu = await _drain(url, simulator.url, len(backlog), concurrency)
                sim_cpu = simulator.cpu_seconds() - sim_cpu
                pg = "" if pg_cpu is None else f", PostgreSQL CPU {pg_cpu:.1f} s"
                target = TARGET_DRAIN_SECONDS * len(backlog) / 100_000
                report.add(
                    f"Drain of a {len(backlog):,}-event backlog, one worker",
                    f"{drain_seconds:.1f} s ({len(backlog) / drain_seconds:,.0f} events/s, "
                    f"{len(backlog) / drain_cpu:,.0f} per CPU-second of the worker; worker CPU {drain_cpu:.1f} s, "
                    f"simulator CPU {sim_cpu:.1f} s{pg})",
                    f"< {target:.0f} s",
                    drain_seconds < target,
                )
            report.add("Simulator peak resident memory after the drain", f"{simulator.peak_rss_mb():.0f} MB")
        report.note(
            f"{label}; the backlog was inserted in {insert_seconds:.1f} s (executemany). Batches of 200 cases, "
            f"{concurrency} cases in flight (two dispatch loops on PostgreSQL), {concurrency} keep-alive connections; "
            f"{REQUESTS_PER_EVENT:.1f} journal "
            "requests per event. The simulator runs in its own process (`iub journal-sim`), as a journal system would. "
            f"Load average at the start: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min)."
        )
    return report


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.journal [--quick] [--rate-events N] [--backlog N]`: this section alone."""
    import argparse
    import sys

    import uvloop

    parser = argparse.ArgumentParser(prog="python -m bench.journal", description=main.__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 events for the rate, a 10,000-event backlog")
    parser.add_argument("--rate-events", type=int, help="events for the rate (0: not measured)")
    parser.add_argument("--backlog", type=int, help="events in the backlog (0: not measured)")
    parser.add_argument("--concurrency", type=int, default=32, help="cases in flight")
    args = parser.parse_args(argv)
    config = RunConfig(quick=args.quick)
    rate = config.scale(20_000, 2_000) if args.rate_events is None else args.rate_events
    backlog = config.scale(100_000, 10_000) if args.backlog is None else args.backlog
    started = time.perf_counter()
    report = uvloop.run(
        measure(
            rate_cases=rate // EVENTS_PER_CASE, backlog_cases=backlog // EVENTS_PER_CASE, concurrency=args.concurrency
        )
    )
    report.note(f"Section time: {time.perf_counter() - started:.0f} s.")
    sys.stdout.write(report.markdown())
    return 0


SECTION = Section("journal", run)


if __name__ == "__main__":
    raise SystemExit(main())
