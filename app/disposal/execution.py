"""Executing approved disposal lists: bounded batches, each one transaction, resumable, provable.

For each approved list whose date has come (`as_of` on or before the run's date):

1. One runner per list: on PostgreSQL a session advisory lock keyed by the list (a second
   machine skips the list while the first holds it); SQLite has a single runner. Within it, on
   PostgreSQL, `concurrency` batches at once (items claimed with SKIP LOCKED).
2. The first start checks the items against the approved digest and creates the run (the
   disposal certificate); a later start resumes it.
3. Batches of `disposal_batch_size` pending items, in the order of their files' rows on disk
   (`disposal_run_order`, written when the run starts: a batch's files then share pages), each in
   ONE transaction:
   - the holds and the dates are read again: a held file, or one no longer due exactly as listed,
     is left (`held`, `changed`) and counted;
   - files to transfer are written as one archive package (E-ARK SIP) into `<archive_dir>/.staging`
     and verified (`verify_package`) before anything is removed;
   - every row of the files goes: cases with notes, plans, plan versions, sessions and coded
     entries; the person (and a guardian no remaining file refers to) with names and contacts;
     outbox events (dead letters too) and journal links; stored idempotent responses naming
     them; released holds; audit rows are replaced by rows without case and person;
   - the items are marked done (their ids cleared), their order rows deleted, and the counts and the package recorded on
     the run, in the same transaction.
   After the commit the package moves from `.staging` to `archive_dir`. A crash before the
   commit leaves the items pending and an unrecorded package in `.staging`, which the retry
   replaces; a crash after it leaves a recorded package in `.staging`, which the next start
   moves. So no file is lost and none is transferred twice.
4. A hold set while a batch runs cannot be lost: the hold's foreign key to the person or case
   makes either the hold or the batch fail; a failed batch is retried and then sees the hold.

`dry_run` reads and counts (with the same checks) and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import hashlib
import os
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, NamedTuple

import structlog
from sqlalchemy import BigInteger, delete, func, literal, select, text, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.erasure import (
    check_no_references,
    deidentify_audit,
    erase_cases,
    erase_persons,
    guardians_of,
    identified_case_ids,
    references_unchecked,
    set_based_available,
    unreferenced_persons,
)
from app.cases.models import CaseRow
from app.catalog.models import CommitteeRow
from app.core.db import Database, new_id
from app.core.settings import Settings
from app.disposal import metrics
from app.disposal.archive import PackageMeta, PackageResult, verify_package, write_package
from app.disposal.files import PERSON_FILE, ItemsDigest, recheck
from app.disposal.models import (
    DisposalListItemRow,
    DisposalListRow,
    DisposalPackageRow,
    DisposalRunOrderRow,
    DisposalRunRow,
    HoldRow,
)
from app.disposal.policy import CommitteeDisposalPolicy, load_policies
from app.disposal.records import RECORDS_DESCRIPTION, file_records
from app.disposal.rules import DisposalAction
from app.disposal.service import PolicyLoader
from app.journal import events
from app.journal.erasure import case_refs, erase_aggregates
from app.journal.port import CaseDisposed
from app.kit.bulk import id_array_text, in_ids
from app.kit.clock import now, today
from app.kit.idempotency_erasure import erase_responses_naming

log = structlog.get_logger("iub.disposal")

STAGING = ".staging"
_BATCH_ATTEMPTS = 3
_DIGEST_CHUNK = 10000

Progress = Callable[[int, int], None]  # (files handled so far in this list, files on the list)
Hook = Callable[[int], None]  # called with the batch number


@dataclass
class Hooks:
    """Test seams: called after the batch's package is verified (before the commit) and after the
    batch committed. Raising from either is a crash at that point."""

    before_commit: Hook | None = None
    after_commit: Hook | None = None


@dataclass
class ListReport:
    list_id: str
    committee: str
    run_id: str | None
    dry_run: bool
    done: dict[str, dict[str, int]] = field(default_factory=dict)  # action -> rule -> files
    held: int = 0
    changed: int = 0
    packages: list[str] = field(default_factory=list)
    skipped: str | None = None  # why the list was not run: "locked", "digest-mismatch"

    @property
    def files_done(self) -> int:
        return sum(sum(rules.values()) for rules in self.done.values())


class Item(NamedTuple):
    """A pending list item as the batch needs it (a plain row: no ORM object per file)."""

    id: int
    kind: str
    person_id: str | None
    case_id: str | None
    action: str
    rule: str
    position: int | None  # its place in execution (a dry run has none)


class _Claims:
    """Where a batch's claim starts reading the pending items of a list (`position > floor`).

    Every item below the first of the oldest batch still in flight (with none in flight: up to
    the last item claimed) is done, held or changed. A claim that read the pending items from the
    start would step over the index entries every earlier batch left behind (their items were
    pending when indexed), a batch more each time: quadratic at a million files. After a batch
    rolled back its items are pending again, and claims read from the start once more."""

    def __init__(self) -> None:
        self._in_flight: dict[int, int] = {}  # batch token -> its first item's position
        self._claimed_to = 0
        self._rolled_back = False

    def floor(self) -> int:
        if self._rolled_back:
            return 0
        return min(self._in_flight.values(), default=self._claimed_to + 1) - 1

    def claimed(self, token: int, items: list[Item]) -> None:
        first, last = items[0].position, items[-1].position
        assert first is not None and last is not None  # claims read placed items only
        self._in_flight[token] = first
        self._claimed_to = max(self._claimed_to, last)

    def settled(self, token: int, *, committed: bool) -> None:
        if self._in_flight.pop(token, None) is not None and not committed:
            self._rolled_back = True


class DigestMismatch(Exception):
    """The list's items are not the version that was approved."""


def _software_version() -> str:
    try:
        return version("iub")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0.0.0"


def _lock_key(list_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"iub-disposal:{list_id}".encode()).digest()[:8], "big", signed=True)


def _add(counts: dict[str, Any], path: tuple[str, ...], n: int = 1) -> dict[str, Any]:
    """A copy of the nested counts with `n` added at `path` (a new object, so the JSON column updates)."""
    out = copy.deepcopy(counts)
    node: dict[str, Any] = out
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = int(node.get(path[-1], 0)) + n
    return out


class DisposalRunner:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        policies: PolicyLoader = load_policies,
        batch_size: int | None = None,
        progress: Progress | None = None,
        hooks: Hooks | None = None,
        should_stop: Callable[[], bool] | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.concurrency = concurrency or settings.disposal_concurrency
        self.db = db
        self.should_stop = should_stop or (lambda: False)
        self.settings = settings
        self.policies = policies
        self.batch_size = batch_size or settings.disposal_batch_size
        self.progress = progress
        self.hooks = hooks or Hooks()
        self.archive_dir = Path(settings.archive_dir)
        self.staging = self.archive_dir / STAGING
        self._set_based = False  # decided when a list's run starts (`set_based_available`)

    # --- which lists ---------------------------------------------------------------------------------

    async def runnable_lists(self, as_of: dt.date) -> list[DisposalListRow]:
        async with self.db.sessions() as session:
            query = (
                select(DisposalListRow)
                .where(DisposalListRow.status.in_(("approved", "executing")), DisposalListRow.as_of <= as_of)
                .order_by(DisposalListRow.as_of, DisposalListRow.id)
            )
            rows = (await session.scalars(query)).all()
        return [row for row in rows if row.approved_digest == row.digest]

    async def run(self, *, as_of: dt.date, dry_run: bool = False) -> list[ListReport]:
        reports = []
        for listed in await self.runnable_lists(as_of):
            if self.should_stop():
                break
            if dry_run:
                reports.append(await self._dry_run(listed))
            else:
                reports.append(await self._execute(listed))
        return reports

    # --- dry run -------------------------------------------------------------------------------------

    async def _dry_run(self, listed: DisposalListRow) -> ListReport:
        report = ListReport(listed.id, listed.committee, None, dry_run=True)
        async with self.db.sessions() as session:
            policy = await self.policies(session, listed.committee)
            last_id = 0
            handled = 0
            while True:
                items = await self._pending(session, listed.id, after=last_id, lock=False)
                if not items:
                    break
                last_id = items[-1].id
                go, held, changed = await self._check(session, listed, policy, items)
                for item in go:
                    report.done = _add(report.done, (item.action, item.rule))
                report.held += len(held)
                report.changed += len(changed)
                handled += len(items)
                if self.progress:
                    self.progress(handled, listed.item_count)
            await session.rollback()
        return report

    # --- execution -----------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _list_lock(self, list_id: str) -> AsyncIterator[bool]:
        if not self.db.is_postgresql:
            yield True
            return
        key = _lock_key(list_id)
        async with self.db.engine.connect() as connection:
            got = bool(await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
            await connection.commit()
            try:
                yield got
            finally:
                if got:
                    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    await connection.commit()

    async def _execute(self, listed: DisposalListRow) -> ListReport:
        report = ListReport(listed.id, listed.committee, None, dry_run=False)
        async with self._list_lock(listed.id) as got:
            if not got:
                report.skipped = "locked"
                log.info("disposal_list_locked", list_id=listed.id)
                return report
            try:
                run = await self._start(listed.id)
            except DigestMismatch:
                report.skipped = "digest-mismatch"
                log.error("disposal_digest_mismatch", list_id=listed.id)
                return report
            if run is None:  # finished meanwhile by another runner
                return report
            report.run_id = run.id
            await self._recover_staging(run.id)
            async with self.db.sessions() as session:
                self._set_based = await set_based_available(session)
                policy = await self.policies(session, listed.committee)
                committee_name = await session.scalar(
                    select(CommitteeRow.name).where(CommitteeRow.id == listed.committee)
                )
            handled = await self._handled(listed.id)
            claims = _Claims()

            async def work() -> None:
                nonlocal handled
                while not self.should_stop():  # stop between batches; the next start resumes
                    outcome = await self._batch_with_retries(
                        run.id, listed, policy, committee_name or listed.committee, claims
                    )
                    if outcome is None:
                        return
                    handled += outcome.items
                    for (action, rule), n in outcome.done.items():
                        report.done = _add(report.done, (action, rule), n)
                    report.held += outcome.held
                    report.changed += outcome.changed
                    if outcome.package is not None:
                        report.packages.append(outcome.package)
                    if self.progress:
                        self.progress(handled, listed.item_count)

            # Batches claim their items with SKIP LOCKED, so several run at once on PostgreSQL.
            workers = self.concurrency if self.db.is_postgresql else 1
            if workers == 1:
                await work()
            else:
                try:
                    async with asyncio.TaskGroup() as group:  # one failing stops the others
                        for _ in range(workers):
                            group.create_task(work())
                except BaseExceptionGroup as failed:
                    raise failed.exceptions[0] from None
            await self._finish(run.id, listed.id)
        return report

    async def _handled(self, list_id: str) -> int:
        async with self.db.sessions() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(DisposalListItemRow)
                    .where(DisposalListItemRow.list_id == list_id, DisposalListItemRow.status != "pending")
                )
                or 0
            )

    async def _start(self, list_id: str) -> DisposalRunRow | None:
        async with self.db.sessions() as session, session.begin():
            listed = (
                await session.scalars(select(DisposalListRow).where(DisposalListRow.id == list_id).with_for_update())
            ).one()
            run = (await session.scalars(select(DisposalRunRow).where(DisposalRunRow.list_id == list_id))).one_or_none()
            if run is not None:
                if run.status == "finished":
                    return None
                await self._place(session, list_id)  # a run started before the order existed
                return run
            if listed.approved_digest != listed.digest or await self._items_digest(session, list_id) != listed.digest:
                raise DigestMismatch
            assert listed.approved_by is not None and listed.approved_version is not None
            run = DisposalRunRow(
                id=new_id(),
                list_id=list_id,
                committee=listed.committee,
                as_of=listed.as_of,
                list_version=listed.approved_version,
                list_digest=listed.digest,
                proposed_by=listed.proposed_by,
                approved_by=listed.approved_by,
                status="running",
                started_at=now(),
                batches=0,
                counts={"done": {}, "held": {}, "changed": {}},
            )
            session.add(run)
            listed.status = "executing"
            await self._place(session, list_id)
            return run

    async def _place(self, session: AsyncSession, list_id: str) -> None:
        """Give the pending items their execution order, once per run (`disposal_run_order`): the
        order of their files' rows on disk (a person's file by the person's row, an exempted
        record by its case's; the files whose row is gone last, in item order). The list's items
        are sorted by subject id, random UUIDs: a batch in that order touched a page of every
        table per file, each read, dirtied and written whole to the WAL after a checkpoint; in
        this order a batch's files share their pages. Done when the run starts, since only then
        is the layout known."""
        placed = await session.scalar(
            select(DisposalRunOrderRow.position).where(DisposalRunOrderRow.list_id == list_id).limit(1)
        )
        if placed is not None:
            return
        row = "ctid" if self.db.is_postgresql else "rowid"  # where the row is (SQLite: its rowid)
        await session.execute(
            text(
                "INSERT INTO disposal_run_order (list_id, position, item_id)"
                " SELECT CAST(:list_id AS VARCHAR),"
                f" row_number() OVER (ORDER BY p.{row} IS NULL, p.{row}, c.{row} IS NULL, c.{row}, i.id),"
                " i.id FROM disposal_list_items i LEFT JOIN persons p ON p.id = i.person_id"
                " LEFT JOIN cases c ON c.id = i.case_id WHERE i.list_id = :list_id AND i.status = 'pending'"
            ),
            {"list_id": list_id},
        )
        if self.db.is_postgresql:
            # Statistics now: with none (or those of an empty table) the planner expects a few
            # rows and each claim read every order row after its floor, then sorted them.
            await session.execute(text("ANALYZE disposal_run_order"))

    async def _items_digest(self, session: AsyncSession, list_id: str) -> str:
        digest = ItemsDigest()
        query = (
            select(
                DisposalListItemRow.kind,
                DisposalListItemRow.person_id,
                DisposalListItemRow.case_id,
                DisposalListItemRow.action,
                DisposalListItemRow.rule,
                DisposalListItemRow.due_on,
            )
            .where(DisposalListItemRow.list_id == list_id)
            .order_by(DisposalListItemRow.id)
            .execution_options(yield_per=_DIGEST_CHUNK)
        )
        result = await session.stream(query)
        async for partition in result.partitions():
            for kind, person_id, case_id, action, rule, due_on in partition:
                subject = person_id if kind == PERSON_FILE else case_id
                digest.add(f"{kind}|{subject}|{action}|{rule}|{due_on}\n")
        return digest.hexdigest()

    async def _finish(self, run_id: str, list_id: str) -> None:
        async with self.db.sessions() as session, session.begin():
            run = await session.get(DisposalRunRow, run_id, with_for_update=True)
            assert run is not None
            if run.status == "finished":
                return
            pending = await session.scalar(
                select(DisposalListItemRow.id)
                .where(DisposalListItemRow.list_id == list_id, DisposalListItemRow.status == "pending")
                .limit(1)
            )
            if pending is not None:
                return
            run.status = "finished"
            run.finished_at = now()
            await session.execute(
                update(DisposalListRow).where(DisposalListRow.id == list_id).values(status="executed")
            )
        log.info("disposal_run_finished", run_id=run_id, list_id=list_id)

    async def _pending(self, session: AsyncSession, list_id: str, *, after: int = 0, lock: bool) -> list[Item]:
        """The next pending items: a batch's claim (`lock`) in the run's order after position
        `after`, a dry run (the items are not placed) in item order after id `after`."""
        columns = DisposalListItemRow
        wanted = (columns.id, columns.kind, columns.person_id, columns.case_id, columns.action, columns.rule)
        query: Any  # a select of the columns of an Item, whichever way they are read
        if lock:
            order = DisposalRunOrderRow
            # The next order rows first, by their primary key, then their items by theirs: joined
            # in one step, a planner without statistics for the items (they are not analysed when
            # the run starts) hash-joined the whole order to the whole list and sorted it, per
            # batch. An order row exists while its item is pending: each batch deletes its items'
            # rows in the transaction that settles the items (the status test only guards that).
            claim = (
                select(order.position, order.item_id)
                .where(order.list_id == list_id, order.position > after)
                .order_by(order.position)
                .limit(self.batch_size)
            )
            if self.db.is_postgresql:
                # The order rows are locked, not the items: they lie in claim order, a few pages per
                # batch, where the batch's items lie scattered over the list (sorted by subject).
                claim = claim.with_for_update(skip_locked=True)
            claimed = claim.subquery("claimed")
            if self.db.is_postgresql:
                # Each item looked up by its primary key (LATERAL, its LIMIT keeps PostgreSQL from
                # flattening it into a join): joined, a planner that knows the order's size but not
                # the items' (not analysed) hashed the whole list for one batch.
                item = select(*wanted).where(columns.id == claimed.c.item_id, columns.status == "pending").limit(1)
                found = item.lateral("item")
                query = (
                    select(*found.c, claimed.c.position)
                    .select_from(claimed)
                    .join(found, true())
                    .order_by(claimed.c.position)
                )
            else:
                query = (
                    select(*wanted, claimed.c.position)
                    .join(columns, columns.id == claimed.c.item_id)
                    .where(columns.status == "pending")
                    .order_by(claimed.c.position)
                )
        else:
            query = (
                select(*wanted, literal(None, BigInteger))
                .where(columns.list_id == list_id, columns.status == "pending", columns.id > after)
                .order_by(columns.id)
                .limit(self.batch_size)
            )
        return [Item(*row) for row in (await session.execute(query)).all()]

    async def _check(
        self,
        session: AsyncSession,
        listed: DisposalListRow,
        policy: CommitteeDisposalPolicy,
        items: list[Item],
    ) -> tuple[list[Item], list[Item], list[Item]]:
        persons = {i.person_id: (i.action, i.rule) for i in items if i.kind == PERSON_FILE and i.person_id}
        records = {i.case_id: (i.action, i.rule) for i in items if i.kind != PERSON_FILE and i.case_id}
        checked = await recheck(session, listed.committee, policy, listed.as_of, persons, records)
        go, held, changed = [], [], []
        for item in items:
            subject = item.person_id if item.kind == PERSON_FILE else item.case_id
            if subject in checked.go:
                go.append(item)
            elif subject in checked.held:
                held.append(item)
            else:
                changed.append(item)
        return go, held, changed

    async def _batch_with_retries(
        self,
        run_id: str,
        listed: DisposalListRow,
        policy: CommitteeDisposalPolicy,
        committee_name: str,
        claims: _Claims,
    ) -> _BatchOutcome | None:
        for attempt in range(1, _BATCH_ATTEMPTS + 1):
            try:
                return await self._batch(run_id, listed, policy, committee_name, claims)
            except IntegrityError:
                # A hold (or a new entry) arrived on a file of this batch while it ran: the batch is
                # rolled back and made again, and the check then sees it.
                log.warning("disposal_batch_conflict", run_id=run_id, attempt=attempt)
                if attempt == _BATCH_ATTEMPTS:
                    raise
        return None  # pragma: no cover

    async def _batch(
        self,
        run_id: str,
        listed: DisposalListRow,
        policy: CommitteeDisposalPolicy,
        committee_name: str,
        claims: _Claims,
    ) -> _BatchOutcome | None:
        staged: PackageResult | None = None
        token = object()
        committed = False
        async with self.db.sessions() as session:
            try:
                async with session.begin():
                    items = await self._pending(session, listed.id, after=claims.floor(), lock=True)
                    if not items:
                        return None
                    claims.claimed(id(token), items)
                    go, held, changed = await self._check(session, listed, policy, items)
                    transfer = [i for i in go if i.action == DisposalAction.ARCHIVE_TRANSFER]
                    if transfer:
                        staged = await self._package(session, listed, run_id, items[0].id, transfer, committee_name)
                    await self._erase(session, listed.committee, go, staged.name if staged else None)
                    # The run row last: concurrent batches wait for each other only here.
                    run = await session.get(DisposalRunRow, run_id, with_for_update=True, populate_existing=True)
                    assert run is not None
                    batch = run.batches + 1
                    outcome = await self._record(session, run, batch, go, held, changed, staged)
                    if self.hooks.before_commit:
                        self.hooks.before_commit(batch)
                committed = True
            except BaseException:
                if staged is not None:
                    _remove(staged.path)
                raise
            finally:
                claims.settled(id(token), committed=committed)
        if staged is not None:
            self._publish(staged.name)
        metrics.record_batch(outcome)
        if self.hooks.after_commit:
            self.hooks.after_commit(outcome.batch)
        return outcome

    async def _package(
        self,
        session: AsyncSession,
        listed: DisposalListRow,
        run_id: str,
        first_item: int,
        items: list[Item],
        committee_name: str,
    ) -> PackageResult:
        persons = {i.person_id: i.rule for i in items if i.kind == PERSON_FILE and i.person_id}
        records = {i.case_id: i.rule for i in items if i.kind != PERSON_FILE and i.case_id}
        documents = await file_records(session, listed.committee, persons, records)
        # Named by the batch's first item: the same batch made again gets the same name.
        package_id = f"iub-{listed.committee}-{listed.as_of:%Y%m%d}-{run_id[:8]}-{first_item:09d}"
        meta = PackageMeta(
            package_id=package_id,
            label=f"Gallring med överlämnande till arkiv, {committee_name}, {listed.as_of.isoformat()}",
            committee_id=listed.committee,
            committee_name=committee_name,
            created_at=now().replace(microsecond=0),
            software_name="iub",
            software_version=_software_version(),
            submitting_organisation=self.settings.archive_submitting_organisation or committee_name,
            submitting_organisation_code=self.settings.archive_submitting_organisation_code or listed.committee,
            records_description=RECORDS_DESCRIPTION,
        )
        name = f"{package_id}.zip" if self.settings.archive_as_zip else package_id
        if (self.archive_dir / name).exists():
            # Published but not recorded cannot happen (publishing follows the commit): refuse to guess.
            raise FileExistsError(f"archive package {name} exists but no run recorded it")
        _remove(self.staging / name)  # an unrecorded package of a batch that did not commit
        result = write_package(self.staging, meta, documents, as_zip=self.settings.archive_as_zip)
        verify_package(result)  # raises PackageInvalid: nothing is removed
        return result

    async def _erase(self, session: AsyncSession, committee: str, go: list[Item], package: str | None) -> None:
        persons = sorted(i.person_id for i in go if i.kind == PERSON_FILE and i.person_id)
        records = sorted(i.case_id for i in go if i.kind != PERSON_FILE and i.case_id)
        file_cases = await identified_case_ids(session, persons)
        case_ids = sorted({*file_cases, *records})
        await self._tell_journal(session, committee, go, file_cases, package)
        candidates = set(persons) | await guardians_of(session, case_ids)
        if case_ids:
            await session.execute(
                delete(HoldRow)
                .where(in_ids(session, HoldRow.case_id, case_ids), HoldRow.released_at.is_not(None))
                .execution_options(synchronize_session=False)
            )
        # The foreign keys' work per batch rather than per row where the database allows it
        # (`references_unchecked`): the same rows go and the same references fail the batch.
        async with contextlib.AsyncExitStack() as unchecked:
            if self._set_based:
                await unchecked.enter_async_context(references_unchecked(session))
            gone = await self._erase_files(session, case_ids, candidates)
            if self._set_based:
                await check_no_references(session, case_ids, gone)
        await erase_responses_naming(session, [*case_ids, *gone])
        await deidentify_audit(session, case_ids, gone)

    async def _erase_files(self, session: AsyncSession, case_ids: list[str], candidates: set[str]) -> list[str]:
        """The cases, then the persons no remaining case refers to; returns those persons."""
        await erase_cases(session, case_ids, set_based=self._set_based)
        standing = set(
            (
                await session.scalars(
                    select(HoldRow.person_id).where(
                        in_ids(session, HoldRow.person_id, sorted(candidates)), HoldRow.released_at.is_(None)
                    )
                )
            ).all()
        )
        gone = await unreferenced_persons(session, sorted(candidates - {p for p in standing if p}))
        if gone:
            await session.execute(
                delete(HoldRow)
                .where(in_ids(session, HoldRow.person_id, gone))
                .execution_options(synchronize_session=False)
            )
        await erase_aggregates(session, case_ids, gone)  # outbox events and journal links (no foreign keys)
        await erase_persons(session, gone, set_based=self._set_based)
        return gone

    async def _tell_journal(
        self,
        session: AsyncSession,
        committee: str,
        go: list[Item],
        file_cases: list[str],
        package: str | None,
    ) -> None:
        """A `case.disposed` event for every case of the files that reached the journal system,
        written in the batch's transaction (the outbox): the journal system disposes of its copy."""
        refs = await case_refs(session, file_cases)
        if not refs:
            return
        owner = dict(
            (
                await session.execute(
                    select(CaseRow.id, CaseRow.person_id).where(in_ids(session, CaseRow.id, list(refs)))
                )
            ).all()
        )
        verdicts = {i.person_id: (i.action, i.rule) for i in go if i.kind == PERSON_FILE}
        disposed_on = today()
        for case_id, ref in sorted(refs.items()):
            action, rule = verdicts[owner[case_id]]
            transferred = action == DisposalAction.ARCHIVE_TRANSFER
            disposed = CaseDisposed(disposed_on, action, rule, package if transferred else None)
            events.case_disposed(session, case_id, ref, disposed, committee=committee)

    async def _record(
        self,
        session: AsyncSession,
        run: DisposalRunRow,
        batch: int,
        go: list[Item],
        held: list[Item],
        changed: list[Item],
        staged: PackageResult | None,
    ) -> _BatchOutcome:
        items = DisposalListItemRow
        order = DisposalRunOrderRow
        positions = [i.position for i in (*go, *held, *changed)]
        if self.db.is_postgresql:
            # The array through a sub-select: given as a parameter, the planner's custom plan
            # expects thousands of ids to match most of the table and scans it (as erasure.py;
            # `ANY` takes it cast, or it would read it as `ANY (subquery)`).
            wanted, param = id_array_text("positions", positions, "BIGINT")
            await session.execute(
                text(
                    "DELETE FROM disposal_run_order WHERE list_id = :list_id"
                    f" AND position = ANY(CAST((SELECT {wanted}) AS BIGINT[]))"
                ).bindparams(param),
                {"list_id": run.list_id},
            )
        else:
            await session.execute(
                delete(order)
                .where(order.list_id == run.list_id, order.position.in_(positions))
                .execution_options(synchronize_session=False)
            )
        if go:
            await session.execute(
                update(items)
                .where(in_ids(session, items.id, [i.id for i in go]))
                .values(status="done", batch=batch, person_id=None, case_id=None)
                .execution_options(synchronize_session=False)
            )
        for status, group in (("held", held), ("changed", changed)):
            if group:
                await session.execute(
                    update(items)
                    .where(in_ids(session, items.id, [i.id for i in group]))
                    .values(status=status, batch=batch)
                    .execution_options(synchronize_session=False)
                )
        done = Counter((i.action, i.rule) for i in go)
        counts = run.counts
        for (action, rule), n in done.items():
            counts = _add(counts, ("done", action, rule), n)
        for key, group in (("held", held), ("changed", changed)):
            for rule, n in Counter(i.rule for i in group).items():
                counts = _add(counts, (key, rule), n)
        run.counts = counts
        run.batches = batch
        if staged is not None:
            session.add(
                DisposalPackageRow(
                    id=new_id(),
                    run_id=run.id,
                    batch=batch,
                    name=staged.name,
                    sha256=staged.sha256,
                    size=staged.size,
                    file_count=staged.file_count,
                    created_at=now(),
                )
            )
        return _BatchOutcome(
            batch=batch,
            items=len(go) + len(held) + len(changed),
            done=dict(done),
            held=len(held),
            changed=len(changed),
            package=staged.name if staged else None,
            package_bytes=staged.size if staged else 0,
        )

    # --- the package directory -------------------------------------------------------------------

    def _publish(self, name: str) -> None:
        source = self.staging / name
        if not source.exists():
            return
        os.replace(source, self.archive_dir / name)
        _fsync_dir(self.archive_dir)

    async def _recover_staging(self, run_id: str) -> None:
        """Publish what a crash after a commit left in staging; drop what no run recorded."""
        if not self.staging.exists():
            return
        async with self.db.sessions() as session:
            recorded = set(
                (
                    await session.scalars(select(DisposalPackageRow.name).where(DisposalPackageRow.run_id == run_id))
                ).all()
            )
        for entry in self.staging.iterdir():
            if entry.name.startswith("."):
                continue  # lock files and spools of a writer
            if entry.name in recorded:
                self._publish(entry.name)
            elif run_id[:8] in entry.name:
                _remove(entry)


@dataclass(frozen=True)
class _BatchOutcome:
    batch: int
    items: int
    done: dict[tuple[str, str], int]
    held: int
    changed: int
    package: str | None
    package_bytes: int


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
