"""The disposal scenario on both databases: exactly the due files go, each as its rule says, with
nothing left behind (no orphan row, no identity value of a removed file), provably; a second run
does nothing; a crash resumes without loss or double transfer."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from app.cases.models import AuditRecordRow, CaseRow, PersonRow
from app.core.db import Database
from app.core.settings import Settings
from app.disposal.archive import PackageResult, verify_package
from app.disposal.execution import STAGING, Hooks
from app.disposal.models import DisposalListItemRow, DisposalPackageRow, DisposalRunRow, HoldRow
from app.disposal.service import DisposalService
from app.journal.models import JournalLink, OutboxEvent
from app.kit.idempotency_erasure import ids_named
from app.kit.idempotency_models import IdempotencyRecord
from tests.conftest import make_settings
from tests.disposal import scenario as sc
from tests.disposal.support import new_id

ORPHANS = {
    "case_notes": "SELECT count(*) FROM case_notes WHERE case_id NOT IN (SELECT id FROM cases)",
    "case_plans": "SELECT count(*) FROM case_plans WHERE case_id NOT IN (SELECT id FROM cases)",
    "case_plan_versions": "SELECT count(*) FROM case_plan_versions WHERE case_id NOT IN (SELECT id FROM cases)",
    "case_sessions": "SELECT count(*) FROM case_sessions WHERE case_id NOT IN (SELECT id FROM cases)",
    "case_coded_entries": "SELECT count(*) FROM case_coded_entries WHERE case_id NOT IN (SELECT id FROM cases)",
    "person_names": "SELECT count(*) FROM person_names WHERE person_id NOT IN (SELECT id FROM persons)",
    "person_contacts": "SELECT count(*) FROM person_contacts WHERE person_id NOT IN (SELECT id FROM persons)",
    "outbox_events": "SELECT count(*) FROM outbox_events WHERE (aggregate_type = 'case' AND aggregate_id NOT IN "
    "(SELECT id FROM cases)) OR (aggregate_type = 'person' AND aggregate_id NOT IN (SELECT id FROM persons))",
    "journal_links": "SELECT count(*) FROM journal_links WHERE (aggregate_type = 'case' AND aggregate_id NOT IN "
    "(SELECT id FROM cases)) OR (aggregate_type = 'person' AND aggregate_id NOT IN (SELECT id FROM persons))",
    "audit_cases": "SELECT count(*) FROM audit_records WHERE case_id IS NOT NULL AND case_id NOT IN "
    "(SELECT id FROM cases)",
    "audit_persons": "SELECT count(*) FROM audit_records WHERE person_id IS NOT NULL AND person_id NOT IN "
    "(SELECT id FROM persons)",
    "persons_unreferenced": "SELECT count(*) FROM persons WHERE id NOT IN (SELECT person_id FROM cases WHERE "
    "person_id IS NOT NULL) AND id NOT IN (SELECT guardian_person_id FROM cases WHERE guardian_person_id IS NOT "
    "NULL) AND id NOT IN (SELECT person_id FROM disposal_holds WHERE person_id IS NOT NULL)",
}


@pytest.fixture
def archive_settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, archive_dir=tmp_path / "archive")


def package_records(archive: Path) -> list[str]:
    """Every record path in every published package (with repeats, if any)."""
    paths = []
    for package in sorted(archive.glob("*.zip")):
        with zipfile.ZipFile(package) as zf:
            paths += [n.split("/data/", 1)[1] for n in zf.namelist() if "/data/" in n]
    return paths


async def assert_outcome(db: Database, scenario: sc.Scenario, archive: Path, run_ids: list[str]) -> None:
    files = scenario.expected_person_files()
    records = scenario.expected_records()
    async with db.sessions() as session:
        persons_left = set((await session.scalars(select(PersonRow.id))).all())
        cases_left = set((await session.scalars(select(CaseRow.id))).all())
        for name, query in ORPHANS.items():
            assert await session.scalar(text(query)) == 0, name
        runs = (await session.scalars(select(DisposalRunRow).where(DisposalRunRow.id.in_(run_ids)))).all()
        packages = (await session.scalars(select(DisposalPackageRow))).all()
        pending = await session.scalar(
            select(func.count()).select_from(DisposalListItemRow).where(DisposalListItemRow.status == "pending")
        )
        # Each batch deletes its items' places in the run's order: a finished run leaves none.
        assert await session.scalar(text("SELECT count(*) FROM disposal_run_order")) == 0
        named_done = await session.scalar(
            select(func.count())
            .select_from(DisposalListItemRow)
            .where(DisposalListItemRow.status == "done", DisposalListItemRow.person_id.is_not(None))
        )
        pages = (await session.execute(select(AuditRecordRow.case_ids, AuditRecordRow.person_ids))).all()
    assert pending == 0 and named_done == 0

    # A read page's audit row keeps that the page was read and what of it remains: exactly the
    # kept cases and persons it named, in their order; never a disposed case or person.
    remaining = [
        ([c for c in cases if c in cases_left], [p for p in persons if p in persons_left])
        for cases, persons in scenario.pages
    ]
    assert sorted((list(c), list(p)) for c, p in pages if c is not None) == sorted(remaining)
    # The scenario's pages do mix disposed and kept cases.
    assert any(0 < len(kept) < len(cases) for (kept, _), (cases, _) in zip(remaining, scenario.pages, strict=True))

    # Exactly the due files went: their cases, and their persons unless still a guardian.
    for p in scenario.persons.values():
        for case_id, *_ in p.cases:
            assert (case_id in cases_left) == (p.id not in files), "a file went that was not due, or the reverse"
    assert persons_left.isdisjoint(scenario.removed_persons())
    kept = {p.id for p in scenario.persons.values()} - scenario.removed_persons()
    assert kept <= persons_left
    for case_id in scenario.records:
        assert (case_id in cases_left) == (case_id not in records)

    # Each as its rule says: transfers are in exactly one package, destructions in none.
    transferred = {f"files/{p}.json" for p, (action, _) in files.items() if action == "archive_transfer"}
    transferred |= {f"records/{c}.json" for c, (action, _) in records.items() if action == "archive_transfer"}
    in_packages = package_records(archive)
    assert len(in_packages) == len(set(in_packages)), "a file was transferred twice"
    assert set(in_packages) == transferred
    assert not any((archive / STAGING).glob("iub-*"))

    # The certificates: counts per action and rule, packages with their checksums; no identity.
    expected: dict[str, dict[str, int]] = {}
    for action, rule in [*files.values(), *records.values()]:
        expected.setdefault(action, {}).setdefault(rule, 0)
        expected[action][rule] += 1
    done: dict[str, dict[str, int]] = {}
    for run in runs:
        assert run.status == "finished" and run.approved_by == "bo" and run.proposed_by == "anna"
        for action, rules in run.counts["done"].items():
            for rule, n in rules.items():
                done.setdefault(action, {}).setdefault(rule, 0)
                done[action][rule] += n
    assert done == expected
    for package in packages:
        path = archive / package.name
        verify_package(PackageResult(package.name, path, package.sha256, package.size, package.file_count))

    # No stored response names a removed case or person: not in its body (text or base64), not in
    # its headers; and those of kept files stay.
    removed_ids = scenario.removed_persons() | {
        case_id for p in scenario.persons.values() for case_id, *_ in p.cases if case_id not in cases_left
    }
    async with db.sessions() as session:
        stored = (
            await session.execute(select(IdempotencyRecord.response_body, IdempotencyRecord.response_headers))
        ).all()
    named = {i for body, headers in stored for i in ids_named(body, headers)}
    assert named and named.isdisjoint(removed_ids)
    assert named & cases_left

    # The canary sweep: no personnummer (12 or 10 digits) or name of a removed person anywhere.
    tokens = await sc.database_tokens(db)
    for person_id in scenario.removed_persons():
        p = scenario.persons[person_id]
        leaked = {p.pnr, p.pnr[2:], p.name.split()[0].lower()} & tokens
        assert not leaked, "an identity value of a removed file is still in the database"


async def run_all(db: Database, settings: Settings, hooks: Hooks | None = None, batch_size: int = 40) -> list[str]:
    reports = await sc.runner(db, settings, hooks=hooks, batch_size=batch_size).run(as_of=sc.AS_OF)
    return [r.run_id for r in reports if r.run_id]


async def test_disposal_scenario(db: Database, archive_settings: Settings) -> None:
    scenario = await sc.build(db, per_committee=120)
    async with db.sessions() as session:
        audit_rows = await session.scalar(select(func.count()).select_from(AuditRecordRow))
    list_ids = [await sc.propose_and_approve(db, committee) for committee in sc.POLICIES]
    # After approval: a hold on one listed file, a new entry in another. Both are checked again.
    listed = sorted(scenario.expected_person_files())
    late_hold, late_entry = listed[0], listed[1]
    entry_case, unit, _, still_open = scenario.persons[late_entry].cases[0]
    async with db.sessions() as session, session.begin():
        session.add(
            HoldRow(
                id=new_id(),
                committee=scenario.persons[late_hold].committee,
                unit="unit-a",
                person_id=late_hold,
                reason="court_case",
                created_by="jurist",
            )
        )
        await session.execute(update(CaseRow).where(CaseRow.id == entry_case).values(last_entry_on=dt.date(2025, 1, 1)))
    scenario.persons[late_hold].held = True
    scenario.persons[late_entry].cases[0] = (entry_case, unit, dt.date(2025, 1, 1), still_open)

    dry = await sc.runner(db, archive_settings).run(as_of=sc.AS_OF, dry_run=True)
    before = await sc.table_counts(db)
    assert sum(r.files_done for r in dry) == len(scenario.expected_person_files()) + len(scenario.expected_records())
    assert not (archive_settings.archive_dir).exists() or not any(archive_settings.archive_dir.glob("*.zip"))

    # Not yet: a list runs only once its date has come.
    assert await sc.runner(db, archive_settings).run(as_of=sc.AS_OF - dt.timedelta(days=1)) == []
    assert await sc.table_counts(db) == before

    run_ids = await run_all(db, archive_settings)
    assert len(run_ids) == 3
    await assert_outcome(db, scenario, archive_settings.archive_dir, run_ids)
    async with db.sessions() as session:
        runs = (await session.scalars(select(DisposalRunRow))).all()
    assert sum(sum(r.counts["held"].values()) for r in runs) == 1
    assert sum(sum(r.counts["changed"].values()) for r in runs) == 1
    async with db.sessions() as session:
        # The audit trail keeps every access, only no longer whose file it was.
        assert await session.scalar(select(func.count()).select_from(AuditRecordRow)) == audit_rows
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) > 0  # kept files' events
        assert await session.scalar(select(func.count()).select_from(JournalLink)) > 0
        assert await session.scalar(select(func.count()).select_from(IdempotencyRecord)) > 0

    # A second run does nothing; a new list as of the same date holds nothing.
    after = await sc.table_counts(db)
    assert await sc.runner(db, archive_settings).run(as_of=sc.AS_OF) == []
    assert await sc.table_counts(db) == after
    for committee in sc.POLICIES:
        async with db.sessions() as session, session.begin():
            again = await DisposalService(session, sc.caller(committee, "anna"), sc.policies).propose(sc.AS_OF)
            assert again.item_count == 0
    assert len(list_ids) == 3


class Crash(Exception):
    pass


def crash_at(batch: int) -> object:
    def hook(number: int) -> None:
        if number == batch:
            raise Crash

    return hook


async def test_batches_take_the_files_in_the_order_of_their_rows(db: Database, archive_settings: Settings) -> None:
    """The items are sorted by subject id (random UUIDs); a run takes the files in the order of
    their rows on disk instead, so that a batch's files share pages rather than touch a page of
    every table per file: batch numbers rise along the persons' rows."""
    from app.disposal.execution import DisposalRunner

    await sc.build(db, per_committee=40, seed=15, committees=("sn-goteborg",))
    list_id = await sc.propose_and_approve(db, "sn-goteborg")
    row = "ctid" if db.is_postgresql else "rowid"
    async with db.sessions() as session:
        on_disk = list(
            (
                await session.scalars(
                    text(
                        f"SELECT i.id FROM disposal_list_items i JOIN persons p ON p.id = i.person_id "
                        f"WHERE i.list_id = :list_id ORDER BY p.{row}"
                    ),
                    {"list_id": list_id},
                )
            ).all()
        )
    assert on_disk != sorted(on_disk), "the rows lie in item order: nothing would be tested"
    runner = DisposalRunner(db, archive_settings, policies=sc.policies, batch_size=5, concurrency=1)
    await runner.run(as_of=sc.AS_OF)
    async with db.sessions() as session:
        batch_of = {
            item: batch
            for item, batch in await session.execute(select(DisposalListItemRow.id, DisposalListItemRow.batch))
        }
    batches = [batch_of[item] for item in on_disk]
    assert batches == sorted(batches) and len(set(batches)) > 1


async def test_crash_in_a_batch_and_between_batches_resumes(db: Database, archive_settings: Settings) -> None:
    scenario = await sc.build(db, per_committee=60, seed=11)
    for committee in sc.POLICIES:
        await sc.propose_and_approve(db, committee)

    # Raised inside batch 2 after its package was written: batch 2 rolls back, its package is dropped.
    with pytest.raises(Crash):
        await run_all(db, archive_settings, Hooks(before_commit=crash_at(2)), batch_size=10)  # type: ignore[arg-type]
    # Killed between batches (after batch 3 committed).
    with pytest.raises(Crash):
        await run_all(db, archive_settings, Hooks(after_commit=crash_at(3)), batch_size=10)  # type: ignore[arg-type]
    # A crash after a commit, before the package left staging: the next start publishes it.
    archive = archive_settings.archive_dir
    published = sorted(archive.glob("*.zip"))
    if published:
        (archive / STAGING).mkdir(exist_ok=True)
        published[-1].rename(archive / STAGING / published[-1].name)

    await run_all(db, archive_settings, batch_size=10)
    async with db.sessions() as session:
        run_ids = list((await session.scalars(select(DisposalRunRow.id))).all())
    await assert_outcome(db, scenario, archive, run_ids)


async def test_a_killed_runner_resumes(db: Database, database_url: str, tmp_path: Path) -> None:
    """`iub disposal run` killed (SIGKILL) mid-run, then started again: nothing lost, nothing twice.

    The committee is unknown to the catalog, so the command reads the default policy, which is the
    scenario's `sn-goteborg` (everything transferred): a package in every batch."""
    import asyncio
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import TEST_SECRET

    scenario = await sc.build(db, per_committee=80, seed=12, committees=("sn-goteborg",))
    await sc.propose_and_approve(db, "sn-goteborg")
    archive = tmp_path / "archive"
    env = {
        **os.environ,
        "IUB_ENV": "test",
        "IUB_AUTH_DEV_SECRET": TEST_SECRET,
        "IUB_DATABASE_URL": database_url,
        "IUB_ARCHIVE_DIR": str(archive),
    }
    command = [sys.executable, "-m", "app.cli", "disposal", "run", "--as-of", sc.AS_OF.isoformat(), "--batch-size", "3"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    try:
        for _ in range(600):  # until a few batches have committed
            async with db.sessions() as session:
                done = await session.scalar(
                    select(func.count()).select_from(DisposalListItemRow).where(DisposalListItemRow.status != "pending")
                )
            if (done or 0) >= 9 or process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    async with db.sessions() as session:
        pending = await session.scalar(
            select(func.count()).select_from(DisposalListItemRow).where(DisposalListItemRow.status == "pending")
        )
    assert pending, "the runner finished before it was killed: nothing was tested"

    again = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    async with db.sessions() as session:
        run_ids = list((await session.scalars(select(DisposalRunRow.id))).all())
    await assert_outcome(db, scenario, archive, run_ids)


async def test_two_machines_at_once(db: Database, archive_settings: Settings) -> None:
    """Two runners started together (as on two machines): each list is run by one of them, wholly."""
    import asyncio

    if not db.is_postgresql:
        pytest.skip("SQLite has a single runner (README, Disposal); the advisory lock is PostgreSQL's")
    scenario = await sc.build(db, per_committee=60, seed=14)
    for committee in sc.POLICIES:
        await sc.propose_and_approve(db, committee)
    first, second = await asyncio.gather(
        sc.runner(db, archive_settings, batch_size=10).run(as_of=sc.AS_OF),
        sc.runner(db, archive_settings, batch_size=10).run(as_of=sc.AS_OF),
    )
    ran = [r for r in (*first, *second) if r.run_id and not r.skipped]
    assert len({r.list_id for r in ran}) == 3
    async with db.sessions() as session:
        run_ids = list((await session.scalars(select(DisposalRunRow.id))).all())
    assert len(run_ids) == 3
    await assert_outcome(db, scenario, archive_settings.archive_dir, run_ids)
