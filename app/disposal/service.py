"""Disposal use cases: holds, lists (propose, refresh, approve), the due forecast, certificates.

Never commits (one request, one transaction). Everything is scoped to the caller's committee
(each committee is its own controller and register); a hold on a case also to the caller's unit,
which alone sees the case (seed 004).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Select, and_, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import CaseRow, PersonRow
from app.core.auth import Caller
from app.core.db import new_id
from app.core.errors import NOT_FOUND, ProblemError, problem_type
from app.disposal.files import DueFile, digest_of, due_files, iter_due_before
from app.disposal.models import DisposalListItemRow, DisposalListRow, DisposalPackageRow, DisposalRunRow, HoldRow
from app.disposal.policy import CommitteeDisposalPolicy, load_policies
from app.disposal.schemas import Counts, DueDoc, HoldIn
from app.kit.clock import now

T = TypeVar("T")
PolicyLoader = Callable[[AsyncSession, str], Awaitable[CommitteeDisposalPolicy]]

FOUR_EYES = problem_type(
    "disposal-four-eyes",
    403,
    "A list is approved by another person than the one who proposed it",
    "Four eyes: the subject (`sub`) approving a disposal list must differ from the one who proposed it.",
)
LIST_CHANGED = problem_type(
    "disposal-list-changed",
    409,
    "The list is not the version approved",
    "An approval names the `digest` of the list version it approves; the list's current digest differs. "
    "Read the list again and approve what it holds now.",
)
LIST_NOT_OPEN = problem_type(
    "disposal-list-not-open",
    409,
    "The list is being or has been executed",
    "A list that is executing or executed can no longer be refreshed or approved.",
)
ALREADY_APPROVED = problem_type(
    "disposal-list-already-approved",
    409,
    "The list is approved already",
    "The list's current version is approved; approving it again would only overwrite who approved it and "
    "when. Nothing was changed. A list that changes after its approval (a refresh) needs approval again.",
)
_INSERT_CHUNK = 5000


Key = tuple[dt.datetime, str]  # a page's last (timestamp, id), from its cursor


def _after(query: Select[T], at: Any, row_id: Any, key: Key | None) -> Select[T]:
    """Keyset pagination, newest first: the rows after `key` in (at, id) descending order."""
    if key is None:
        return query
    last_at, last_id = key
    return query.where(or_(at < last_at, and_(at == last_at, row_id < last_id)))


def count_files(files: list[DueFile]) -> Counts:
    counts: dict[str, Counter[str]] = {}
    for f in files:
        counts.setdefault(str(f.verdict.action), Counter())[f.verdict.rule] += 1
    return {action: dict(sorted(c.items())) for action, c in sorted(counts.items())}


class DisposalService:
    def __init__(self, session: AsyncSession, caller: Caller, policies: PolicyLoader = load_policies) -> None:
        self.session = session
        self.caller = caller
        self.policies = policies

    # --- holds -------------------------------------------------------------------------------------

    async def set_hold(self, body: HoldIn) -> HoldRow:
        committee = self.caller.committee
        unit = self.caller.unit
        if body.case_id is not None:
            case = await self.session.scalar(
                select(CaseRow.id).where(
                    CaseRow.id == body.case_id, CaseRow.committee == committee, CaseRow.unit == self.caller.unit
                )
            )
            if case is None:
                raise ProblemError(NOT_FOUND, "No such case in the caller's unit.")
        else:
            person = await self.session.scalar(
                select(PersonRow.id).where(PersonRow.id == body.person_id, PersonRow.committee == committee)
            )
            if person is None:
                raise ProblemError(NOT_FOUND, "No such person in the caller's committee.")
        row = HoldRow(
            id=new_id(),
            committee=committee,
            unit=unit,
            person_id=body.person_id,
            case_id=body.case_id,
            reason=str(body.reason),
            reference=body.reference,
            created_by=self.caller.sub,
            created_at=now(),
        )
        self.session.add(row)
        await self.session.flush()
        return row

    def _visible_holds(self) -> Select[HoldRow]:
        # A person hold is the committee's; a case hold is seen only by the case's unit.
        return select(HoldRow).where(
            HoldRow.committee == self.caller.committee,
            (HoldRow.case_id.is_(None)) | (HoldRow.unit == self.caller.unit),
        )

    async def holds(self, *, include_released: bool, after: Key | None, limit: int) -> list[HoldRow]:
        """Newest first; `after` is the (created_at, id) of the last hold of the previous page."""
        query = self._visible_holds()
        if not include_released:
            query = query.where(HoldRow.released_at.is_(None))
        query = _after(query, HoldRow.created_at, HoldRow.id, after)
        query = query.order_by(HoldRow.created_at.desc(), HoldRow.id.desc()).limit(limit)
        return list((await self.session.scalars(query)).all())

    async def release_hold(self, hold_id: str) -> HoldRow:
        query = self._visible_holds().where(HoldRow.id == hold_id, HoldRow.released_at.is_(None))
        row = (await self.session.scalars(query.with_for_update())).one_or_none()
        if row is None:
            raise ProblemError(NOT_FOUND, "No such standing hold.")
        row.released_by = self.caller.sub
        row.released_at = now()
        return row

    # --- lists -------------------------------------------------------------------------------------

    async def propose(self, as_of: dt.date) -> DisposalListRow:
        policy = await self.policies(self.session, self.caller.committee)
        scan = await due_files(self.session, self.caller.committee, policy, as_of)
        row = DisposalListRow(
            id=new_id(),
            committee=self.caller.committee,
            as_of=as_of,
            status="proposed",
            version=1,
            digest=digest_files(scan.files),
            item_count=len(scan.files),
            held_count=scan.held,
            counts=count_files(scan.files),
            proposed_by=self.caller.sub,
            proposed_at=now(),
        )
        self.session.add(row)
        await self.session.flush()
        await self._write_items(row.id, scan.files)
        return row

    async def _write_items(self, list_id: str, files: list[DueFile]) -> None:
        rows = [
            {
                "list_id": list_id,
                "kind": f.kind,
                "person_id": f.subject_id if f.kind == "person_file" else None,
                "case_id": f.subject_id if f.kind != "person_file" else None,
                "action": str(f.verdict.action),
                "rule": f.verdict.rule,
                "due_on": f.verdict.due_on,
                "status": "pending",
            }
            for f in files
        ]
        for start in range(0, len(rows), _INSERT_CHUNK):
            await self.session.execute(insert(DisposalListItemRow), rows[start : start + _INSERT_CHUNK])

    async def get_list(self, list_id: str, *, for_update: bool = False) -> DisposalListRow:
        query = select(DisposalListRow).where(
            DisposalListRow.id == list_id, DisposalListRow.committee == self.caller.committee
        )
        if for_update:
            query = query.with_for_update()
        row = (await self.session.scalars(query)).one_or_none()
        if row is None:
            raise ProblemError(NOT_FOUND, "No such disposal list.")
        return row

    async def lists(self, *, after: Key | None, limit: int) -> list[DisposalListRow]:
        """Newest version first (a refresh that makes a new version brings the list to the front);
        `after` is the (proposed_at, id) of the last list of the previous page."""
        query = select(DisposalListRow).where(DisposalListRow.committee == self.caller.committee)
        query = _after(query, DisposalListRow.proposed_at, DisposalListRow.id, after)
        query = query.order_by(DisposalListRow.proposed_at.desc(), DisposalListRow.id.desc()).limit(limit)
        return list((await self.session.scalars(query)).all())

    async def refresh(self, list_id: str) -> DisposalListRow:
        """Make the list again as of its date: when the items differ, a new version that needs
        approval again (a hold set or an entry written since changes it)."""
        row = await self.get_list(list_id, for_update=True)
        if row.status not in ("proposed", "approved"):
            raise ProblemError(LIST_NOT_OPEN, "The list is executing or executed.")
        policy = await self.policies(self.session, self.caller.committee)
        scan = await due_files(self.session, self.caller.committee, policy, row.as_of)
        digest = digest_files(scan.files)
        row.held_count = scan.held
        if digest == row.digest:
            return row
        await self.session.execute(delete(DisposalListItemRow).where(DisposalListItemRow.list_id == row.id))
        await self._write_items(row.id, scan.files)
        row.version += 1
        row.digest = digest
        # Whoever made this version proposed it: they cannot approve it (four eyes).
        row.proposed_by = self.caller.sub
        row.proposed_at = now()
        row.item_count = len(scan.files)
        row.counts = count_files(scan.files)
        row.status = "proposed"
        return row

    async def approve(self, list_id: str, digest: str) -> DisposalListRow:
        row = await self.get_list(list_id, for_update=True)
        if row.status not in ("proposed", "approved"):
            raise ProblemError(LIST_NOT_OPEN, "The list is executing or executed.")
        if row.status == "approved":
            # The approval on record (who and when) is the evidence of four eyes: never rewritten.
            raise ProblemError(ALREADY_APPROVED, "The list's current version is approved.", version=row.version)
        if row.proposed_by == self.caller.sub:
            raise ProblemError(FOUR_EYES, "The list was proposed by the same subject.")
        if digest != row.digest:
            raise ProblemError(LIST_CHANGED, "The digest is not the list's current version.", version=row.version)
        row.status = "approved"
        row.approved_by = self.caller.sub
        row.approved_at = now()
        row.approved_version = row.version
        row.approved_digest = row.digest
        return row

    async def due_before(self, before: dt.date) -> DueDoc:
        policy = await self.policies(self.session, self.caller.committee)
        counts: dict[str, Counter[str]] = {}
        years: Counter[str] = Counter()
        total = 0
        async for f in iter_due_before(self.session, self.caller.committee, policy, before):
            counts.setdefault(str(f.verdict.action), Counter())[f.verdict.rule] += 1
            assert f.verdict.due_on is not None
            years[str(f.verdict.due_on.year)] += 1
            total += 1
        return DueDoc(
            before=before,
            total=total,
            counts={a: dict(sorted(c.items())) for a, c in sorted(counts.items())},
            by_due_year=dict(sorted(years.items())),
        )

    # --- certificates ------------------------------------------------------------------------------

    async def runs(self, *, after: Key | None, limit: int) -> list[tuple[DisposalRunRow, list[DisposalPackageRow]]]:
        """Newest first; `after` is the (started_at, id) of the last run of the previous page."""
        query = select(DisposalRunRow).where(DisposalRunRow.committee == self.caller.committee)
        query = _after(query, DisposalRunRow.started_at, DisposalRunRow.id, after)
        query = query.order_by(DisposalRunRow.started_at.desc(), DisposalRunRow.id.desc()).limit(limit)
        runs = list((await self.session.scalars(query)).all())
        if not runs:
            return []
        # The page's packages in one query, not one per run.
        packages: dict[str, list[DisposalPackageRow]] = {run.id: [] for run in runs}
        query_packages = (
            select(DisposalPackageRow)
            .where(DisposalPackageRow.run_id.in_(list(packages)))
            .order_by(DisposalPackageRow.batch, DisposalPackageRow.id)
        )
        for package in (await self.session.scalars(query_packages)).all():
            packages[package.run_id].append(package)
        return [(run, packages[run.id]) for run in runs]

    async def run(self, run_id: str) -> tuple[DisposalRunRow, list[DisposalPackageRow]]:
        row = (
            await self.session.scalars(
                select(DisposalRunRow).where(
                    DisposalRunRow.id == run_id, DisposalRunRow.committee == self.caller.committee
                )
            )
        ).one_or_none()
        if row is None:
            raise ProblemError(NOT_FOUND, "No such disposal run.")
        return row, await self._packages(row.id)

    async def _packages(self, run_id: str) -> list[DisposalPackageRow]:
        query = select(DisposalPackageRow).where(DisposalPackageRow.run_id == run_id).order_by(DisposalPackageRow.batch)
        return list((await self.session.scalars(query)).all())


def digest_files(files: list[DueFile]) -> str:
    return digest_of(f.line for f in files)
