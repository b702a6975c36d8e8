"""Every query on a growing table has an index, and the planner takes it with stale statistics.

A database of its own is filled with 100,000 cases (a third identified, with their persons),
100,000 audit records, 100,000 outbox events (most delivered) and 100,000 journal links, with autovacuum off for its
tables, as on machines where it is off, so PostgreSQL plans with stale statistics: none at all
(never analysed), or those of a young database (analysed once on a few rows, then grown). Each
query is captured as the service's code sends it (statement and parameters) and explained
there: the plan must use the expected index, scan no big table sequentially and sort no big
set. SQLite (no `sqlite_stat1`, as the service runs it) is held to the same: no full scan of a
big table, no temporary sort for a paged list.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.audit import AUDIT_COMMITTEE_SCOPE, AuditRepository, AuditTrail
from app.cases.erasure import deidentify_audit, erase_cases, erase_persons, identified_case_ids, unreferenced_persons
from app.cases.repository import CaseRepository
from app.cases.schemas import NoteAddIn
from app.cases.service import CaseService
from app.core.auth import Caller
from app.core.db import Database
from app.journal.dispatcher import Dispatcher, Outcome, _Refs
from app.journal.erasure import erase_aggregates
from app.journal.links import journal_status
from app.journal.metrics import outbox_gauges
from app.journal.outbox import purge_delivered
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _pg_admin, run_migrations

N = 100_000
BIG_TABLES = ("cases", "audit_records", "outbox_events", "persons", "journal_links")
T0 = "2025-01-01 00:00:00+00"

# Rows for i in 1..N. Four committees of five units each; twelve interventions; statuses mostly
# closed; every third case identified, with a person of its own; events mostly delivered.
_CASES = """
INSERT INTO persons (id, committee, personnummer, name, name_source, name_recorded_by, name_recorded_unit,
                     name_recorded_at, protected_identity, created_at, updated_at)
SELECT {uuid_p}, 'c' || (i % 4), printf('%012d', i), 'x', 'registration', 's', 'u', {t}, {false}, {t}, {t}
FROM ids WHERE i % 3 = 0;
INSERT INTO cases (id, committee, unit, intervention_id, intervention_name, decision_id, documentation_rule,
                   subject_rule, process_steps, identity, person_id, participant_code, start_social_situation,
                   end_social_situation, informed_of_right_to_apply, informed_of_documentation, status,
                   opened_on, session_count, record_key, last_entry_on, created_by, created_at, updated_at)
SELECT {uuid_c}, 'c' || (i % 4), 'u' || (i % 20), 'iv' || (i % 12), 'x', '00000000-0000-0000-0000-000000000000',
       CASE WHEN i % 3 = 0 THEN 'standard' ELSE 'counselling_exempt' END, 'subject', 3,
       CASE WHEN i % 3 = 0 THEN 'identified' ELSE 'anonymous' END,
       CASE WHEN i % 3 = 0 THEN {uuid_p} END, CASE WHEN i % 3 <> 0 THEN 'P' || i END, '[]', '[]', {true}, {true},
       CASE WHEN i % 10 < 8 THEN 'closed' WHEN i % 10 = 8 THEN 'registered' ELSE 'in_progress' END,
       {day}, 0, 0, {day}, 's', {at}, {at}
FROM ids;
INSERT INTO audit_records (id, at, actor, committee, unit, action, case_id, person_id, why_code)
SELECT {uuid_a}, {at}, 's', 'c' || (i % 4), 'u' || (i % 20), 'case.read', {uuid_c},
       CASE WHEN i % 3 = 0 THEN {uuid_p} END, 'carrying_out'
FROM ids;
INSERT INTO audit_records (id, at, actor, committee, unit, action, case_ids, person_ids, why_code)
SELECT {uuid_l}, {at}, 's', 'c' || (i % 4), 'u' || (i % 20), 'case.listed', {page_cases}, {page_persons}, 'carrying_out'
FROM ids WHERE i % 50 = 3;
INSERT INTO outbox_events (id, aggregate_type, aggregate_id, committee, kind, payload, status, attempts,
                           next_attempt_at, created_at, delivered_at)
SELECT {uuid_e}, 'case', {uuid_c}, 'c' || (i % 4), 'case.note_added', '{{}}',
       CASE WHEN i % 100 = 0 THEN 'pending' WHEN i % 1000 = 1 THEN 'dead' ELSE 'delivered' END, 0, {at}, {at},
       CASE WHEN i % 100 <> 0 AND i % 1000 <> 1 THEN {at} END
FROM ids;
INSERT INTO journal_links (aggregate_type, aggregate_id, external_ref, sync_state, updated_at)
SELECT 'case', {uuid_c}, 'C' || i, 'delivered', {at} FROM ids;
"""
_PG = {
    "uuid_p": "md5('p' || i)::uuid::text",
    "uuid_c": "md5('c' || i)::uuid::text",
    "uuid_a": "md5('a' || i)::uuid::text",
    "uuid_e": "md5('e' || i)::uuid::text",
    "uuid_l": "md5('l' || i)::uuid::text",
    # A page row every 50 rows names its case and the two before it, and their persons.
    "page_cases": "ARRAY[md5('c' || i)::uuid::text, md5('c' || (i - 1))::uuid::text, md5('c' || (i - 2))::uuid::text]",
    "page_persons": "ARRAY[md5('p' || i)::uuid::text]",
    "t": f"timestamptz '{T0}'",
    "at": f"timestamptz '{T0}' + i * interval '1 minute'",
    "day": "date '2025-01-01' + (i / 1440)",
    "true": "true",
    "false": "false",
}
_SQLITE = {
    # 36-character ids shaped like UUIDs (what the service stores), unique per i.
    "uuid_p": "printf('%08x-0000-4000-8000-%012d', i, 1)",
    "uuid_c": "printf('%08x-0000-4000-8000-%012d', i, 2)",
    "uuid_a": "printf('%08x-0000-4000-8000-%012d', i, 3)",
    "uuid_e": "printf('%08x-0000-4000-8000-%012d', i, 4)",
    "uuid_l": "printf('%08x-0000-4000-8000-%012d', i, 5)",
    "page_cases": "json_array(printf('%08x-0000-4000-8000-%012d', i, 2), "
    "printf('%08x-0000-4000-8000-%012d', i - 1, 2), printf('%08x-0000-4000-8000-%012d', i - 2, 2))",
    "page_persons": "json_array(printf('%08x-0000-4000-8000-%012d', i, 1))",
    "t": f"'{T0}'",
    "at": "datetime('2025-01-01', '+' || i || ' minutes')",
    "day": "date('2025-01-01', '+' || (i / 1440) || ' days')",
    "true": "1",
    "false": "0",
}


def _case_id(i: int) -> str:
    import hashlib

    return str(uuid.UUID(hashlib.md5(f"c{i}".encode()).hexdigest()))


async def _fill_postgresql(db: Database, n: int) -> None:
    sql = _CASES.replace("printf('%012d', i)", "lpad(i::text, 12, '0')").format(**_PG)
    async with db.engine.begin() as connection:
        await connection.exec_driver_sql(f"CREATE TEMP TABLE ids AS SELECT generate_series(1, {n}) AS i")
        for statement in filter(str.strip, sql.split(";")):
            await connection.exec_driver_sql(statement)
        await connection.exec_driver_sql("DROP TABLE ids")


async def _fill_sqlite(db: Database, n: int) -> None:
    sql = _CASES.format(**_SQLITE)
    async with db.engine.begin() as connection:
        await connection.exec_driver_sql(
            f"CREATE TEMP TABLE ids AS WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
            "SELECT i FROM s"
        )
        for statement in filter(str.strip, sql.split(";")):
            await connection.exec_driver_sql(statement)
        await connection.exec_driver_sql("DROP TABLE ids")


@pytest.fixture(scope="module", params=["never_analysed", "analysed_when_young"])
async def plan_db(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    """A database of its own with N rows per big table and stale statistics: never analysed, or
    analysed once while it held a few rows (PostgreSQL; SQLite has no statistics unless asked)."""
    if backend == "sqlite":
        if request.param != "never_analysed":
            pytest.skip("SQLite keeps no statistics unless ANALYZE is run")
        url = f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('plans')) / 'plans.sqlite3'}"
        await asyncio.to_thread(run_migrations, url)
        db = Database.connect(url)
        await _fill_sqlite(db, N)
        yield db
        await db.dispose()
        return
    name = f"iub_plans_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
        await asyncio.to_thread(run_migrations, url)
        db = Database.connect(url)
        async with db.engine.begin() as connection:
            for table in BIG_TABLES:
                await connection.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        if request.param == "analysed_when_young":
            await _fill_postgresql(db, 40)
            async with db.engine.begin() as connection:
                await connection.exec_driver_sql("ANALYZE")
                await connection.exec_driver_sql("INSERT INTO audit_delete_grants VALUES ('plans', 'tests')")
                for table in (
                    "outbox_events",
                    "audit_records",
                    "cases",
                    "persons",
                    "journal_links",
                    "audit_delete_grants",
                ):
                    await connection.exec_driver_sql(f"DELETE FROM {table}")
        await _fill_postgresql(db, N)
        yield db
        await db.dispose()
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


Captured = list[tuple[str, Any]]


async def _captured(db: Database, work: Callable[[AsyncSession], Awaitable[object]]) -> Captured:
    """The statements `work` sends (with their parameters); its transaction is rolled back."""
    seen: Captured = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with db.sessions() as session:
            await work(session)
            await session.rollback()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    return seen


async def _explain(db: Database, statement: str, parameters: Any, settings: list[str] | None = None) -> str:
    """The plan of one captured statement, as text ('Index Scan using ix_... on cases', ...), after
    the planner settings the code made before it (in the same transaction, as the code does)."""
    async with db.engine.connect() as connection:
        for setting in settings or ():
            await connection.exec_driver_sql(setting)
        if db.is_postgresql:
            rows = (await connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)).all()
            plan = rows[0][0]
            return "\n".join(_pg_nodes(json.loads(plan) if isinstance(plan, str) else plan))
        rows = (await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)).all()
        return "\n".join(str(row[-1]) for row in rows)


def _pg_nodes(plan: Any) -> Iterator[str]:
    nodes = [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        text = node["Node Type"]
        if "Index Name" in node:
            text += f" using {node['Index Name']}"
        if "Relation Name" in node:
            text += f" on {node['Relation Name']}"
        yield text
        nodes.extend(node.get("Plans", []))


def _assert_indexed(plan: str, *, uses: str | None = None, ordered: bool = False) -> None:
    for table in BIG_TABLES:
        assert f"Seq Scan on {table}" not in plan, plan  # PostgreSQL
        assert f"SCAN {table}\n" not in plan + "\n" and f"SCAN {table} " not in plan, plan  # SQLite: a full scan
    if uses is not None:
        assert uses in plan, plan
    if ordered:  # a page comes off the index in order: nothing big is sorted
        assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan


async def _plans_of(db: Database, work: Callable[[AsyncSession], Awaitable[object]]) -> list[str]:
    """The plans of what `work` sends; planner settings it makes (`set_config(...)`) are made for
    the statements after them, as they are for the code, not explained."""
    statements = await _captured(db, work)
    assert statements, "the work sent no statement"
    plans = []
    settings = [s for s, _ in statements if s.lstrip().upper().startswith("SELECT SET_CONFIG")]
    for statement, parameters in statements:
        if statement in settings:
            continue
        plans.append(await _explain(db, statement, parameters, settings[: _index(statements, statement)]))
    return plans


def _index(statements: Captured, statement: str) -> int:
    """How many planner settings were made before `statement`."""
    made = 0
    for sent, _ in statements:
        if sent == statement:
            return made
        made += sent.lstrip().upper().startswith("SELECT SET_CONFIG")
    return made


CALLER = Caller(sub="s", committee="c1", unit="u1", scopes=frozenset({"cases:read"}), expires_at=0.0)
COMMITTEE_AUDITOR = Caller(
    sub="s", committee="c1", unit="u1", scopes=frozenset({AUDIT_COMMITTEE_SCOPE}), expires_at=0.0
)
AFTER = (dt.datetime(2025, 3, 1, tzinfo=dt.UTC), "ffffffff-ffff-ffff-ffff-ffffffffffff")


@pytest.fixture
def explain(plan_db: Database) -> Callable[[Callable[[AsyncSession], Awaitable[object]]], Awaitable[list[str]]]:
    return lambda work: _plans_of(plan_db, work)


# --- cases ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "ix_cases_committee_unit_created_at_id"),
        # Not the running-case partial unique index, whose predicate `status <> 'closed'` any
        # running status implies: it would walk the unit's running cases and sort them.
        ({"status": "registered"}, "ix_cases_committee_unit_status_created_at_id"),
        ({"status": "in_progress"}, "ix_cases_committee_unit_status_created_at_id"),
        ({"status": "closed"}, "ix_cases_committee_unit_status_created_at_id"),
        ({"intervention_id": "iv1"}, "ix_cases_committee_unit_intervention_id_created_at_id"),
        ({"participant_code": "P1"}, "participant_code"),
    ],
)
@pytest.mark.parametrize("after", [None, AFTER])
async def test_a_page_of_cases_comes_off_an_index_in_order(explain, backend, filters, index, after):
    filters = {"status": None, "intervention_id": None, "participant_code": None, **filters}

    async def work(session: AsyncSession) -> object:
        return await CaseRepository(session).page(CALLER, **filters, after=after, limit=51)

    (plan,) = await explain(work)
    if filters["participant_code"] is not None:
        _assert_indexed(plan)  # one row by a unique index: nothing to order
        return
    _assert_indexed(plan, uses=index if backend == "postgresql" else index.removeprefix("ix_"), ordered=True)


@pytest.mark.parametrize("options", [{}, {"for_update": True}, {"with_entries": True}])
async def test_a_case_is_fetched_by_its_primary_key(explain, backend, options):
    async def work(session: AsyncSession) -> object:
        return await CaseRepository(session).get(_case_id(21), CALLER, **options)

    plans = await explain(work)
    _assert_indexed(plans[0], uses="pk_cases" if backend == "postgresql" else "sqlite_autoindex_cases_1 (id=?)")
    for plan in plans[1:]:  # the entries, by their case id
        assert "Seq Scan" not in plan or "Seq Scan on cases" not in plan, plan


async def test_a_note_reads_its_case_unlocked_and_writes_it_guarded_by_its_primary_key(explain, backend):
    """The note's two statements (PostgreSQL, no idempotency record): the case with its row
    version, then the write guarded by that version; both find the case by its primary key."""
    if backend != "postgresql":
        pytest.skip("the row version (xmin) is PostgreSQL's")
    caller = Caller(sub="s", committee="c1", unit="u9", scopes=frozenset({"cases:write"}), expires_at=0.0)

    async def work(session: AsyncSession) -> object:
        found = await CaseRepository(session).get_versioned(_case_id(9), caller)  # identified, in progress
        assert found is not None
        service = CaseService(session, caller, AuditTrail(session, caller, None))
        note = NoteAddIn(kind="execution", occurred_on=dt.date(2025, 1, 2), text="Samtal.")
        return await service._add_note(found[0], note, found[1])

    read, write = await explain(work)
    for plan in (read, write):
        _assert_indexed(plan, uses="pk_cases")


async def test_the_persons_queries_use_their_indexes(explain, backend):
    person_id = str(uuid.UUID(__import__("hashlib").md5(b"p21").hexdigest()))

    async def work(session: AsyncSession) -> object:
        repo = CaseRepository(session)
        await repo.person_in_unit(person_id, CALLER)
        await repo.occurrences(person_id, "c1")
        await repo.person_by_personnummer("c1", "000000000021")
        return await repo.running_case_id(CALLER, "iv9", person_id)

    for plan in await explain(work):
        _assert_indexed(plan)


async def test_an_opening_reads_its_person_and_writes_guarded_off_their_indexes(explain, backend):
    """An identified opening without an idempotency record (PostgreSQL): the person with their row
    version and case counts, then the registration guarded by that version with the case."""
    if backend != "postgresql":
        pytest.skip("the row version (xmin) is PostgreSQL's")

    async def work(session: AsyncSession) -> object:
        # Case 21's person (committee c1), opened again in another unit; and a person not yet known.
        found = await CaseRepository(session).person_versioned("c1", "000000000021")
        assert found is not None and found.cases == (0, 1)  # case 21 is closed
        return await CaseRepository(session).person_versioned("c1", "190001019999")

    read, absent = await explain(work)
    _assert_indexed(read, uses="uq_persons_committee")
    _assert_indexed(absent, uses="uq_persons_committee")


# --- audit -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "index"),
    [(CALLER, "ix_audit_records_committee_unit_at_id"), (COMMITTEE_AUDITOR, "ix_audit_records_committee_at_id")],
)
@pytest.mark.parametrize("since", [None, dt.datetime(2025, 2, 1, tzinfo=dt.UTC)])
async def test_the_audit_trail_is_read_newest_first_off_an_index(explain, plan_db, request, caller, index, since):
    async def work(session: AsyncSession) -> object:
        return await AuditRepository(session).page(
            caller, case_id=None, person_id=None, since=since, after=None, limit=51
        )

    (plan,) = await explain(work)
    pg = plan_db.is_postgresql
    # Known limit: with no statistics at all PostgreSQL guesses a committee holds ~0.5 % of the
    # trail (about a page of it here), so it may gather the committee's rows off the index and
    # sort them; the guess grows with the table, and any statistics give the ordered read.
    ordered = not (pg and caller is COMMITTEE_AUDITOR and "never_analysed" in request.node.callspec.id)
    _assert_indexed(plan, uses=index if pg else index.removeprefix("ix_"), ordered=ordered)


@pytest.mark.parametrize("by", ["case_id", "person_id"])
async def test_the_audit_trail_of_one_case_or_person_uses_its_indexes(explain, backend, by):
    # Its own records off the btree index, and the page records naming it (case 52 is on the page
    # record of 53) off the list's GIN index on PostgreSQL, with statistics or without. SQLite (the
    # development database) reads the page records off the committee's index: never the table.
    filters = {"case_id": None, "person_id": None, by: _case_id(52)}

    async def work(session: AsyncSession) -> object:
        return await AuditRepository(session).page(COMMITTEE_AUDITOR, **filters, since=None, after=None, limit=51)

    own, pages = await explain(work)
    _assert_indexed(own)
    _assert_indexed(pages)
    if backend == "postgresql":
        assert f"ix_audit_records_{by}" in own, own
        assert f"ix_audit_records_{by}s" in pages, pages


async def test_disposal_finds_the_audit_records_of_a_batch_of_files_off_their_indexes(explain, backend):
    # A batch of 2,000 files: the records naming their cases or persons, page records included.
    cases = [_case_id(i) for i in range(1, 2001)]
    persons = [str(uuid.UUID(__import__("hashlib").md5(f"p{i}".encode()).hexdigest())) for i in range(3, 6001, 3)]

    async def work(session: AsyncSession) -> object:
        return await deidentify_audit(session, cases, persons)

    plans = [plan for plan in await explain(work) if "audit_records" in plan]
    assert plans
    for plan in plans:
        _assert_indexed(plan)
    if backend == "postgresql":
        assert any("ix_audit_records_case_ids" in plan and "ix_audit_records_person_ids" in plan for plan in plans)


# --- outbox ------------------------------------------------------------------------------------------


async def test_the_dispatchers_claim_reads_only_undelivered_events(explain, backend, plan_db):
    dispatcher = Dispatcher(plan_db, journal=None, batch_size=50)  # type: ignore[arg-type]

    async def work(session: AsyncSession) -> object:
        return await dispatcher.claim()

    plans = await explain(work)
    assert plans
    for plan in plans:  # partial indexes only: never the delivered history
        _assert_indexed(plan)
    if backend == "postgresql":  # the heads in seq order off the open events' index, whatever the statistics
        heads = plans[0]
        assert "Index Scan using ix_outbox_events_open_seq" in heads, heads
        assert "Merge Join" not in heads and "Hash" not in heads and "Sort" not in heads, heads


def _literal(value: Any) -> str:
    """A captured parameter as a SQL literal (the types the dispatcher binds)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "ARRAY[" + ", ".join(_literal(v) for v in value) + "]" if value else "'{}'"
    if isinstance(value, dt.datetime | dt.date):
        value = value.isoformat()
    return "'" + str(value).replace("'", "''") + "'"


async def _explain_generic(db: Database, statement: str, parameters: Any) -> str:
    """The generic plan of a captured statement: asyncpg prepares every statement, and after five
    runs PostgreSQL may plan it once for all, blind to the parameters' values."""
    async with db.engine.connect() as connection:
        await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        await connection.exec_driver_sql(f"PREPARE generic_plan AS {statement}")
        try:
            arguments = ", ".join(_literal(value) for value in parameters)
            execute = f"EXECUTE generic_plan({arguments})" if arguments else "EXECUTE generic_plan"
            plan = (await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {execute}")).scalar_one()
        finally:
            await connection.exec_driver_sql("DEALLOCATE generic_plan")
            await connection.exec_driver_sql("RESET plan_cache_mode")
    return "\n".join(_pg_nodes(json.loads(plan) if isinstance(plan, str) else plan))


async def test_the_dispatchers_generic_plans_read_only_undelivered_events(backend, plan_db):
    """A claim and its completion, as prepared statements run over and over: every read of events
    by aggregate takes the partial index of unfinished events (never the primary key over the
    whole backlog, each row tested against the batch's ids: a claim whose cost grew with the
    backlog); nothing reads the delivered history."""
    if backend != "postgresql":
        pytest.skip("generic plans are PostgreSQL's")
    dispatcher = Dispatcher(plan_db, journal=None, batch_size=50)  # type: ignore[arg-type]
    claimed: list[Any] = []

    async def work(session: AsyncSession) -> object:
        claim = await dispatcher.claim()
        assert claim is not None
        claimed.append(claim)
        outcomes = [Outcome(event, "released") for run in claim.runs.values() for event in run]
        return await dispatcher.complete(claim, outcomes, _Refs())  # released: pending again

    statements = await _captured(plan_db, work)
    by_aggregate = [(sql, params) for sql, params in statements if "outbox_events.aggregate_id = ANY" in sql]
    heads = [(sql, params) for sql, params in statements if "NOT EXISTS" in sql]
    assert len(by_aggregate) == 2 and len(heads) == 1, [sql[:80] for sql, _ in statements]
    for sql, params in by_aggregate:
        plan = await _explain_generic(plan_db, sql, params)
        _assert_indexed(plan, uses="ix_outbox_events_unfinished_aggregate_id_seq")
        assert "pk_outbox_events" not in plan, plan
    ((sql, params),) = heads
    _assert_indexed(await _explain_generic(plan_db, sql, params))


async def test_the_journal_state_of_cases_and_the_purge_use_partial_indexes(explain, backend, request):
    before = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)

    async def work(session: AsyncSession) -> object:
        await journal_status(session, "case", [_case_id(i) for i in range(1, 51)])
        return await purge_delivered(session, before)

    status, purge_delivered_events, purge_skipped = await explain(work)
    _assert_indexed(status)
    _assert_indexed(purge_skipped)  # by the ids the operators' skips name
    # The purge is a daily batch: where statistics say most events are delivered and old (as the
    # young database's do) a sequential scan is a fair plan for it; without any, the index.
    if backend == "postgresql" and "never_analysed" in request.node.callspec.id:
        assert "ix_outbox_events_delivered_at" in purge_delivered_events, purge_delivered_events


async def test_the_outbox_gauges_never_read_the_delivered_history(explain, backend):
    async def work(session: AsyncSession) -> object:
        return await outbox_gauges(session, dt.datetime.now(dt.UTC))

    events, *_actions = await explain(work)
    _assert_indexed(events)  # partial indexes only
    if backend == "postgresql":
        assert "ix_outbox_events_held_status_seq" in events, events


# --- disposal ----------------------------------------------------------------------------------------


async def test_a_disposal_batchs_erasure_reads_every_table_by_an_index(explain):
    """Per batch, every statement finds the batch's rows by an index: a scan of a whole table per
    batch would make disposing of a million files quadratic. (Ten files: with no statistics
    PostgreSQL takes an `= ANY` of thousands of ids for the whole table.)"""
    import hashlib

    persons = [str(uuid.UUID(hashlib.md5(f"p{i}".encode()).hexdigest())) for i in range(3, 33, 3)]

    async def work(session: AsyncSession) -> object:
        case_ids = await identified_case_ids(session, persons)
        await erase_cases(session, case_ids)
        gone = await unreferenced_persons(session, persons)
        await erase_aggregates(session, case_ids, gone)
        await erase_persons(session, gone)
        return await deidentify_audit(session, case_ids, gone)

    for plan in await explain(work):
        _assert_indexed(plan)


_LIST = "00000000-0000-4000-8000-0000000d15a1"


async def _fill_disposal_list(db: Database) -> None:
    """An approved list of N files (a person's file for every person, an exempted record for
    every other case), all pending; its tables as stale as the others'."""
    async with db.engine.begin() as connection:
        for table in ("disposal_list_items", "disposal_run_order"):
            await connection.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        await connection.exec_driver_sql(
            "INSERT INTO disposal_lists (id, committee, as_of, status, version, digest, item_count, held_count,"
            " counts, proposed_by, proposed_at) VALUES"
            f" ('{_LIST}', 'c1', date '2025-01-01', 'executing', 1, 'd', {N}, 0, '{{}}', 's', timestamptz '{T0}')"
        )
        await connection.exec_driver_sql(
            "INSERT INTO disposal_list_items (list_id, kind, person_id, case_id, action, rule, due_on, status)"
            f" SELECT '{_LIST}', CASE WHEN i % 3 = 0 THEN 'person_file' ELSE 'exempted_record' END,"
            " CASE WHEN i % 3 = 0 THEN md5('p' || i)::uuid END, CASE WHEN i % 3 <> 0 THEN md5('c' || i)::uuid END,"
            " 'destroy', 'r', date '2025-01-01', 'pending' FROM generate_series(1, {n}) AS i".replace("{n}", str(N))
        )


@pytest.mark.parametrize("placed", ["as_the_run_starts", "not_analysed"])
@pytest.mark.parametrize("after", [0, N // 2])
async def test_a_disposal_batchs_claim_reads_the_run_order_off_its_primary_key(backend, plan_db, placed, after):
    """A batch claims the next items of the run's order (`disposal_run_order`, N rows) by its
    primary key, in order, and their items by theirs: never a scan of the whole order or of the
    list's items, nor a sort of them. The run's start writes the order and analyses it; the claim
    is held to the same without that analysis (stale statistics, as every table here)."""
    if backend != "postgresql":
        pytest.skip("batches claim with SKIP LOCKED on PostgreSQL only")
    from app.disposal.execution import DisposalRunner
    from tests.conftest import make_settings

    runner = DisposalRunner(plan_db, make_settings(str(plan_db.engine.url)), batch_size=500)
    await _fill_disposal_list(plan_db)
    try:
        async with plan_db.sessions() as session, session.begin():
            if placed == "as_the_run_starts":
                await runner._place(session, _LIST)  # the INSERT ... SELECT and the ANALYZE of the run's start
            else:
                await session.execute(
                    text(
                        "INSERT INTO disposal_run_order (list_id, position, item_id) SELECT list_id,"
                        " row_number() OVER (ORDER BY id), id FROM disposal_list_items WHERE list_id = :list_id"
                    ),
                    {"list_id": _LIST},
                )

        async def work(session: AsyncSession) -> object:
            return await runner._pending(session, _LIST, after=after, lock=True)

        (plan,) = await _plans_of(plan_db, work)
        _assert_indexed(plan)
        assert "Seq Scan on disposal_run_order" not in plan and "Seq Scan on disposal_list_items" not in plan, plan
        assert "Index Scan using pk_disposal_run_order on disposal_run_order" in plan, plan
        assert "Index Scan using pk_disposal_list_items on disposal_list_items" in plan, plan
        assert "Hash" not in plan, plan
        # The order rows come off the index in order, a batch's worth: at most that batch is
        # sorted again once joined to its items (the top node), never the run's order.
        nodes = plan.splitlines()
        assert [i for i, node in enumerate(nodes) if node == "Sort"] in ([], [0]), plan
    finally:
        async with plan_db.engine.begin() as connection:
            for table in ("disposal_run_order", "disposal_list_items", "disposal_lists"):
                await connection.exec_driver_sql(f"DELETE FROM {table}")
