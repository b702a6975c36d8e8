"""Statistics: a predefined table over 1,000,000 case records, next to a bare query of the same aggregate.

- Database: PostgreSQL when it answers at `IUB_BENCH_PG` (a temporary database, dropped
  afterwards), else a temporary SQLite file. The cases (one committee, 4 units, the demo's 20
  interventions, opened 2025Q3–2026Q3, about 70 % closed) are loaded with COPY on PostgreSQL.
- The design measured: the published counts of a committee are a *snapshot* — computed from the
  records (`app.cases.follow_up`), protected by the disclosure control for every table and period
  together, and stored — refreshed in the background (`iub stats refresh`, or by a read that finds
  it older than `IUB_STATS_REFRESH_SECONDS`). Case writes do no extra work at all.
- Measured: the refresh (what a scheduler pays; what a reader pays only when the snapshot is stale),
  `GET /v1/stats/tables/started_by_gender?period=2026Q1` through the whole application in-process
  (median of the requests, snapshot fresh), and the bare SQL of the same aggregate (started in
  2026Q1 by unit, intervention and gender) through the same engine, in the same run.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
import uuid
from typing import Any

import httpx

from bench.harness import RunConfig, Section, SectionReport, quiet_stderr
from bench.journal import _database

TARGET_MS = 300.0
UNITS = ("enhet-norr", "enhet-soder", "enhet-oster", "enhet-vaster")
GENDERS = ("female", "male", "other", "not_stated", None)
REASONS = ("completed", "ended_early", "transferred_to_needs_assessed", "other")
EARLY = ("moved", "declined_to_continue", "referred_to_needs_assessed", "no_show", "other")
COLUMNS = (
    "id", "committee", "unit", "intervention_id", "intervention_name", "decision_id", "documentation_rule",
    "subject_rule", "process_steps", "identity", "participant_gender", "participant_age", "start_wellbeing",
    "start_social_situation", "end_wellbeing", "end_social_situation", "participant_satisfaction",
    "informed_of_right_to_apply", "informed_of_documentation", "status", "opened_on", "closed_on", "closing_reason",
    "early_termination_reason", "session_count", "record_key", "last_entry_on", "created_by", "created_at",
    "updated_at",
)  # fmt: skip
BARE_SQL = """
SELECT unit, intervention_id, participant_gender, count(*)
FROM cases
WHERE committee = :committee AND opened_on BETWEEN :first AND :last
GROUP BY unit, intervention_id, participant_gender
"""


def _records(n: int, interventions: list[str], seed: int = 7) -> list[tuple[Any, ...]]:
    rnd = random.Random(seed)
    first, days = dt.date(2025, 7, 1), (dt.date(2026, 9, 30) - dt.date(2025, 7, 1)).days
    stamp = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    decision = str(uuid.uuid4())
    out = []
    for _ in range(n):
        opened = first + dt.timedelta(days=rnd.randrange(days))
        closed = opened + dt.timedelta(days=rnd.randrange(200)) if rnd.random() < 0.7 else None
        if closed is not None and closed > dt.date(2026, 11, 30):
            closed = None
        reason = rnd.choice(REASONS) if closed else None
        intervention = rnd.choice(interventions)
        out.append(
            (
                str(uuid.uuid4()), "sn-sydvast", rnd.choice(UNITS), intervention, intervention, decision,
                "identity_exempt", "subject", 3, "anonymous", rnd.choice(GENDERS), rnd.choice((None, *range(0, 95))),
                rnd.randint(1, 5), "[]", rnd.randint(1, 5) if closed else None, "[]",
                rnd.randint(1, 5) if closed else None, rnd.random() < 0.85, True, "closed" if closed else "in_progress",
                opened, closed, reason, rnd.choice(EARLY) if reason == "ended_early" else None, rnd.randrange(12),
                rnd.randrange(256), closed or opened, "bench", stamp, stamp,
            )
        )  # fmt: skip
    return out


async def _load(url: str, records: list[tuple[Any, ...]]) -> float:
    from sqlalchemy import insert, text

    from app.cases.models import CaseRow
    from app.core.db import Database

    started = time.perf_counter()
    if url.startswith("postgresql"):
        import asyncpg  # type: ignore[import-untyped]

        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await connection.copy_records_to_table("cases", records=records, columns=list(COLUMNS))
            await connection.execute("ANALYZE cases")
        finally:
            await connection.close()
    else:
        db = Database.connect(url)
        try:
            async with db.sessions() as session, session.begin():
                rows = [dict(zip(COLUMNS, r, strict=True)) for r in records]
                for row in rows:
                    row["start_social_situation"] = row["end_social_situation"] = []
                for start in range(0, len(rows), 10_000):
                    await session.execute(insert(CaseRow), rows[start : start + 10_000])
                await session.execute(text("ANALYZE"))
        finally:
            await db.dispose()
    return time.perf_counter() - started


async def run(config: RunConfig) -> SectionReport:
    from sqlalchemy import text

    from app.catalog.loader import demo_catalog_path, load_catalog_text
    from app.catalog.service import CatalogService
    from app.catalog.store import CatalogStore
    from app.core.auth import issue_dev_token
    from app.core.db import Database
    from app.core.settings import Env, LogFormat, Settings
    from app.main import create_app
    from app.stats.service import refresh

    cases = config.scale(1_000_000, 10_000)
    requests = config.scale(40, 10)
    report = SectionReport(f"Statistics: a table over {cases:,} case records")
    committees, decisions = load_catalog_text(demo_catalog_path().read_text(encoding="utf-8"))
    interventions = sorted({i.id for d in decisions for i in d.interventions})
    async with _database() as (url, label):
        load_seconds = await _load(url, _records(cases, interventions))
        settings = Settings(
            env=Env.test,
            database_url=url,
            auth_dev_secret="bench-secret-for-the-benchmark-only",
            log_format=LogFormat.json,
            catalog_refresh_seconds=0,
            outbox_in_process=False,
            stats_refresh_seconds=3600,
        )
        database = Database.connect(url)
        try:
            async with database.sessions() as session, session.begin():
                await CatalogService(session, CatalogStore()).load(committees, decisions)
            started = time.perf_counter()
            await refresh(database, "sn-sydvast", settings)
            refresh_seconds = time.perf_counter() - started

            app = create_app(settings, database=database)
            token = issue_dev_token(settings, sub="bench", unit=UNITS[0], committee="sn-sydvast", scope="stats:read")
            path = "/v1/stats/tables/started_by_gender?period=2026Q1"
            table_ms: list[float] = []
            bare_ms: list[float] = []
            params = {"committee": "sn-sydvast", "first": dt.date(2026, 1, 1), "last": dt.date(2026, 3, 31)}
            with quiet_stderr():
                async with app.router.lifespan_context(app):
                    transport = httpx.ASGITransport(app=app)
                    async with httpx.AsyncClient(
                        transport=transport, base_url="http://bench.test", headers={"Authorization": f"Bearer {token}"}
                    ) as client:
                        for i in range(requests + 2):  # alternately, after two warm-ups each
                            sent = time.perf_counter()
                            response = await client.get(path)
                            elapsed = time.perf_counter() - sent
                            if response.status_code != 200:
                                raise RuntimeError(f"{path} answered {response.status_code}")
                            sent = time.perf_counter()
                            async with database.sessions() as session:
                                groups = (await session.execute(text(BARE_SQL), params)).all()
                            bare = time.perf_counter() - sent
                            if i >= 2:
                                table_ms.append(elapsed * 1000)
                                bare_ms.append(bare * 1000)
        finally:
            await database.dispose()
    table_median = statistics.median(table_ms)
    report.add(
        "table answer, median (`GET …/started_by_gender?period=2026Q1`)",
        f"{table_median:.1f} ms",
        f"< {TARGET_MS:.0f} ms",
        table_median < TARGET_MS,
    )
    report.add("bare SQL of the same aggregate, median (same run, same engine)", f"{statistics.median(bare_ms):.1f} ms")
    report.add("snapshot refresh of the committee (all tables, all periods)", f"{refresh_seconds:.2f} s")
    report.add("load of the case records (not part of the answer)", f"{load_seconds:.1f} s")
    report.note(
        f"{label}; {cases:,} cases of one committee, {len(groups)} groups in the bare aggregate; {requests} requests. "
        "The table is read from the committee's stored snapshot of published counts (disclosure control "
        "already applied): exact as of its `as_of`, refreshed by `iub stats refresh` or by a read that finds it "
        "older than `IUB_STATS_REFRESH_SECONDS`. No write is added to case writes."
    )
    return report


SECTION = Section("stats", run)
