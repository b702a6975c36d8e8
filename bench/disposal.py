"""Disposal: executing approved disposal lists of N due files (each a person with a case and notes)
on PostgreSQL — the target is 1,000,000 files in under 5 minutes with flat memory.

- A temporary PostgreSQL database (`IUB_BENCH_PG`, default the local server), built by
  `alembic upgrade head`, dropped afterwards.
- Seeded with bulk SQL (`INSERT ... SELECT generate_series`), not the API: per file a person (with
  a name version and a contact record), one closed case with two notes, a session, a coded entry,
  a plan and a plan version, a dead-lettered outbox event, a journal link and two audit rows. 95 %
  of the files are at a committee without research exemption (destroyed), 5 % at one with `all`
  (transferred: one E-ARK package per batch, written and verified). The personnummer are not
  valid numbers (month 90 or 91), so they can belong to no one.
- Two approved lists (one per committee), executed by `DisposalRunner` as `iub disposal run` does.
- Reported: files/s, rows removed/s, packages, and the peak RSS of this process during the run
  (sampled every 50 ms) next to its RSS before.

`run(quick)` returns the figures as a dict; `python -m bench.disposal [--quick] [--files N]` prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

FULL_FILES = 1_000_000
QUICK_FILES = 20_000
TARGET_SECONDS = 300.0
PG_SERVER = os.environ.get("IUB_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
AS_OF = dt.date(2026, 6, 1)
DESTROY, ARCHIVE = "bench-destroy", "bench-archive"

SEED = [
    """INSERT INTO committees (id, name) VALUES ('bench-destroy', 'Bänknämnden Gallring'),
    ('bench-archive', 'Bänknämnden Arkiv')""",
    """INSERT INTO persons (id, committee, personnummer, name, name_source, name_recorded_by, name_recorded_unit,
    name_recorded_at, protected_identity, created_at, updated_at)
    SELECT md5('p' || i)::uuid::text, CASE WHEN i % 20 = 0 THEN 'bench-archive' ELSE 'bench-destroy' END,
    '19999' || lpad(i::text, 7, '0'), 'Bänk Person ' || i, 'registration', 'bench', 'unit-a', now(), false, now(),
    now() FROM generate_series(1, :n) AS i""",
    """INSERT INTO person_names (id, person_id, name, source, recorded_by, recorded_unit, recorded_at, superseded_at)
    SELECT md5('pn' || i)::uuid::text, md5('p' || i)::uuid::text, 'Bänk Tidigare ' || i, 'registration', 'bench',
    'unit-a', now(), now() FROM generate_series(1, :n) AS i""",
    """INSERT INTO person_contacts (person_id, unit, address, phone, email, recorded_by, updated_at)
    SELECT md5('p' || i)::uuid::text, 'unit-a', 'Bänkgatan ' || i, '070-000 00 00', NULL, 'bench', now()
    FROM generate_series(1, :n) AS i""",
    """INSERT INTO cases (id, committee, unit, intervention_id, intervention_name, decision_id, documentation_rule,
    subject_rule, process_steps, identity, registered_on, person_id, start_social_situation, end_social_situation,
    informed_of_right_to_apply, informed_of_documentation, status, opened_on, closed_on, session_count, record_key,
    last_entry_on, created_by, created_at, updated_at)
    SELECT md5('c' || i)::uuid::text, CASE WHEN i % 20 = 0 THEN 'bench-archive' ELSE 'bench-destroy' END, 'unit-a',
    'stodsamtal', 'Stödsamtal', md5('decision')::uuid::text, 'standard', 'adult', 3, 'identified', 'subject',
    md5('p' || i)::uuid::text, '[]', '[]', true, true, 'closed', DATE '2019-01-01', DATE '2020-01-01' + (i % 300),
    1, i % 256, DATE '2020-01-01' + (i % 300), 'bench', now(), now() FROM generate_series(1, :n) AS i""",
    """INSERT INTO case_notes (id, case_id, kind, occurred_on, text, recorded_by, created_at)
    SELECT md5('n' || i || '-' || k)::uuid::text, md5('c' || i)::uuid::text, 'event', DATE '2020-01-01',
    'Samtal genomfört enligt plan; nästa träff bokad. Anteckning ' || k, 'bench', now()
    FROM generate_series(1, :n) AS i, generate_series(1, 2) AS k""",
    """INSERT INTO case_sessions (id, case_id, number, held_on, form, recorded_by, created_at)
    SELECT md5('s' || i)::uuid::text, md5('c' || i)::uuid::text, 1, DATE '2020-01-01', 'conversation', 'bench', now()
    FROM generate_series(1, :n) AS i""",
    """INSERT INTO case_coded_entries (id, case_id, code, occurred_on, recorded_by, created_at)
    SELECT md5('e' || i)::uuid::text, md5('c' || i)::uuid::text, 'concern_reported', DATE '2020-01-01', 'bench',
    now() FROM generate_series(1, :n) AS i""",
    """INSERT INTO case_plans (case_id, drawn_up_on, starts_on, description, responsible_contact, version, updated_at)
    SELECT md5('c' || i)::uuid::text, DATE '2019-01-01', DATE '2019-01-01', 'Plan', 'Handläggare', 1, now()
    FROM generate_series(1, :n) AS i""",
    """INSERT INTO case_plan_versions (case_id, version, drawn_up_on, starts_on, description, responsible_contact,
    recorded_by, recorded_at)
    SELECT md5('c' || i)::uuid::text, 1, DATE '2019-01-01', DATE '2019-01-01', 'Plan', 'Handläggare', 'bench', now()
    FROM generate_series(1, :n) AS i""",
    """INSERT INTO outbox_events (id, aggregate_type, aggregate_id, committee, kind, payload, status, attempts,
    next_attempt_at, created_at)
    SELECT md5('o' || i)::uuid::text, 'case', md5('c' || i)::uuid::text, 'bench-destroy', 'case.registered',
    jsonb_build_object('case_id', md5('c' || i)::uuid::text, 'name', 'Bänk Person ' || i), 'dead', 12, now(), now()
    FROM generate_series(1, :n) AS i""",
    """INSERT INTO journal_links (aggregate_type, aggregate_id, external_ref, sync_state, updated_at)
    SELECT 'case', md5('c' || i)::uuid::text, NULL, 'failed', now() FROM generate_series(1, :n) AS i""",
    """INSERT INTO audit_records (id, at, actor, committee, unit, action, case_id, person_id, why_code)
    SELECT md5('a' || i || '-' || k)::uuid::text, now(), 'handlaggare', 'bench-destroy', 'unit-a', 'case.read',
    md5('c' || i)::uuid::text, md5('p' || i)::uuid::text, 'carrying_out'
    FROM generate_series(1, :n) AS i, generate_series(1, 2) AS k""",
]
# Rows per file removed (or, for the audit trail, rewritten without identity).
ROWS_PER_FILE = 1 + 1 + 1 + 1 + 2 + 1 + 1 + 1 + 1 + 1 + 1 + 2


def _bytes_in(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*.zip"))


def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


class _PeakRss:
    def __init__(self) -> None:
        self.peak = _rss_kib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _rss_kib())

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_kib())


async def _pg_admin(sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    server = PG_SERVER.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(server + "/postgres", timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def _database() -> AsyncIterator[str]:
    from alembic import command
    from app.cli import alembic_config

    name = f"iub_bench_disposal_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    url = f"{PG_SERVER}/{name}"
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")  # type: ignore[arg-type]
        yield url
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _approved_list(session: AsyncSession, committee: str, runner: Any) -> None:
    list_id = str(uuid.uuid4())
    await session.execute(
        text(
            """INSERT INTO disposal_lists (id, committee, as_of, status, version, digest, item_count, held_count,
            counts, proposed_by, proposed_at, approved_by, approved_at, approved_version, approved_digest)
            VALUES (:id, :committee, :as_of, 'approved', 1, '', 0, 0, '{}', 'bench-anna', now(), 'bench-bo', now(),
            1, '')"""
        ),
        {"id": list_id, "committee": committee, "as_of": AS_OF},
    )
    action, rule = (
        ("archive_transfer", "sol_16_4_research_all") if committee == ARCHIVE else ("destroy", "sol_16_1_destroy")
    )
    result = await session.execute(
        text(
            """INSERT INTO disposal_list_items (list_id, kind, person_id, case_id, action, rule, due_on, status)
            SELECT :list_id, 'person_file', p.id, NULL, :action, :rule, DATE '2025-01-01' + (c.last_entry_on - DATE
            '2020-01-01'), 'pending' FROM persons p JOIN cases c ON c.person_id = p.id WHERE p.committee = :committee
            ORDER BY p.id"""
        ),
        {"list_id": list_id, "action": action, "rule": rule, "committee": committee},
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    digest = await runner._items_digest(session, list_id)
    await session.execute(
        text(
            "UPDATE disposal_lists SET digest = :d, approved_digest = :d, item_count = :n, "
            "counts = CAST(:counts AS jsonb) WHERE id = :id"
        ),
        {"d": digest, "n": count, "id": list_id, "counts": json.dumps({action: {rule: count}})},
    )


async def _run(files: int, batch_size: int, concurrency: int) -> dict[str, Any]:
    from app.core.db import Database
    from app.core.settings import Settings
    from app.disposal.execution import DisposalRunner
    from app.disposal.rules import CommitteeDisposalPolicy, ResearchExemption

    async def policies(_session: AsyncSession, committee: str) -> CommitteeDisposalPolicy:
        exemption = ResearchExemption.ALL if committee == ARCHIVE else ResearchExemption.NONE
        return CommitteeDisposalPolicy(exemption=exemption)

    async with _database() as url:
        db = Database.connect(url)
        try:
            started = time.perf_counter()
            async with db.sessions() as session, session.begin():
                for statement in SEED:
                    await session.execute(text(statement), {"n": files})
            async with db.sessions() as session:
                await session.execute(text("ANALYZE"))
                await session.commit()
            seed_seconds = time.perf_counter() - started
            with tempfile.TemporaryDirectory(prefix="iub-bench-archive-") as archive:
                settings = Settings(
                    database_url=url,
                    archive_dir=Path(archive),
                    disposal_batch_size=batch_size,
                    disposal_concurrency=concurrency,
                )
                runner = DisposalRunner(db, settings, policies=policies)
                async with db.sessions() as session, session.begin():
                    for committee in (DESTROY, ARCHIVE):
                        await _approved_list(session, committee, runner)
                rss_before = _rss_kib()
                with _PeakRss() as rss:
                    started = time.perf_counter()
                    reports = await runner.run(as_of=AS_OF)
                    seconds = time.perf_counter() - started
                package_bytes = await asyncio.to_thread(_bytes_in, Path(archive))
            async with db.sessions() as session:
                left = await session.scalar(text("SELECT count(*) FROM cases")) or 0
        finally:
            await db.dispose()
    done = sum(r.files_done for r in reports)
    return {
        "files": files,
        "batch_size": batch_size,
        "concurrency": concurrency,
        "files_done": done,
        "cases_left": int(left),
        "packages": sum(len(r.packages) for r in reports),
        "package_mib": round(package_bytes / 2**20, 1),
        "seconds": round(seconds, 1),
        "files_per_second": round(done / seconds),
        "rows_per_second": round(done * ROWS_PER_FILE / seconds),
        "rss_before_mib": round(rss_before / 1024, 1),
        "peak_rss_mib": round(rss.peak / 1024, 1),
        "seed_seconds": round(seed_seconds, 1),
        "target_seconds": TARGET_SECONDS * files / FULL_FILES,
        "met": seconds <= TARGET_SECONDS * files / FULL_FILES,
    }


def run(quick: bool, *, files: int | None = None, batch_size: int = 2000, concurrency: int = 2) -> dict[str, Any]:
    """Seed, execute and measure; the target scales with the number of files (1,000,000 in 300 s)."""
    n = files or (QUICK_FILES if quick else FULL_FILES)
    return asyncio.run(_run(n, batch_size, concurrency))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.disposal", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_FILES:,} files instead of {FULL_FILES:,}")
    parser.add_argument("--files", type=int, help="any number of files")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=2, help="batches at once")
    args = parser.parse_args()
    figures = run(args.quick, files=args.files, batch_size=args.batch_size, concurrency=args.concurrency)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
