"""Which files are due: a person's file (personakt) or an exempted record, with its verdict.

The unit of disposal is the person's file at the committee (SoL 16 kap. 1 §): every identified
case registered on the person (a parent-targeted case is registered on the child, so it belongs
to the child's file). Its last entry is the latest `last_entry_on` of those cases, so a new entry
in any of them moves the date. Records of exempted interventions (SoL 14 kap. 4-5 §§) have no
identity and are no personakt: each is its own item under the committee's records plan.

A file is held while a hold stands on the person or on any of the file's cases, and is not due
while any of its cases is open (the register data of an ongoing intervention remains, SoL 16:1).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import CaseRow, PersonRow
from app.disposal.models import HoldRow
from app.disposal.policy import CommitteeDisposalPolicy
from app.disposal.rules import (
    DisposalAction,
    ProviderKind,
    Verdict,
    exempted_record_verdict,
    is_due,
    person_file_verdict,
)
from app.kit.bulk import in_ids

PERSON_FILE = "person_file"
EXEMPTED_RECORD = "exempted_record"
# No file is due sooner than this many years after its last entry (private providers, SoL 17:2):
# a cheap filter in SQL before the rules are applied in Python.
SHORTEST_RETENTION_YEARS = 2
_STREAM_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class DueFile:
    kind: str  # person_file | exempted_record
    subject_id: str  # the person's id, or the exempted case's id
    verdict: Verdict

    @property
    def line(self) -> str:
        """What the list's digest covers for this item."""
        return f"{self.kind}|{self.subject_id}|{self.verdict.action}|{self.verdict.rule}|{self.verdict.due_on}\n"


class ItemsDigest:
    """The list's digest, fed line by line: a million items are hashed as they are read, never
    gathered in memory first."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()

    def add(self, line: str) -> None:
        self._sha.update(line.encode())

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def digest_of(lines: Iterable[str]) -> str:
    digest = ItemsDigest()
    for line in lines:
        digest.add(line)
    return digest.hexdigest()


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _provider(policy: CommitteeDisposalPolicy, municipal_cases: int) -> ProviderKind:
    # A file that any municipal unit has written to keeps the municipal (longer) retention.
    return ProviderKind.MUNICIPAL if municipal_cases else ProviderKind.PRIVATE


def _person_files_query(committee: str, policy: CommitteeDisposalPolicy):  # type: ignore[no-untyped-def]
    private_units = [unit for unit, kind in policy.providers.items() if kind is ProviderKind.PRIVATE]
    municipal = (
        func.sum(case((CaseRow.unit.in_(private_units), 0), else_=1)) if private_units else func.count(CaseRow.id)
    )
    still_open = func.sum(case((CaseRow.status != "closed", 1), else_=0))
    return (
        select(PersonRow.id, PersonRow.personnummer, func.max(CaseRow.last_entry_on), municipal, still_open)
        .join(CaseRow, CaseRow.person_id == PersonRow.id)
        .where(PersonRow.committee == committee, CaseRow.committee == committee, CaseRow.identity == "identified")
        .group_by(PersonRow.id, PersonRow.personnummer)
    )


def _person_verdict(
    policy: CommitteeDisposalPolicy, personnummer: str, last: dt.date, municipal: int, still_open: int
) -> Verdict:
    return person_file_verdict(
        last_entry_on=None if still_open else last,
        personnummer=personnummer,
        exemption=policy.exemption,
        provider=_provider(policy, int(municipal or 0)),
    )


async def held_persons(session: AsyncSession, committee: str, person_ids: list[str] | None = None) -> set[str]:
    """Persons whose file is held: a standing hold on the person or on one of their cases."""
    active = HoldRow.released_at.is_(None)
    direct = select(HoldRow.person_id).where(HoldRow.committee == committee, active, HoldRow.person_id.is_not(None))
    via_case = (
        select(CaseRow.person_id)
        .join(HoldRow, HoldRow.case_id == CaseRow.id)
        .where(HoldRow.committee == committee, active, CaseRow.person_id.is_not(None))
    )
    if person_ids is not None:
        direct = direct.where(in_ids(session, HoldRow.person_id, person_ids))
        via_case = via_case.where(in_ids(session, CaseRow.person_id, person_ids))
    held = set((await session.scalars(direct)).all()) | set((await session.scalars(via_case)).all())
    return {p for p in held if p is not None}


async def held_cases(session: AsyncSession, committee: str, case_ids: list[str] | None = None) -> set[str]:
    query = select(HoldRow.case_id).where(
        HoldRow.committee == committee, HoldRow.released_at.is_(None), HoldRow.case_id.is_not(None)
    )
    if case_ids is not None:
        query = query.where(in_ids(session, HoldRow.case_id, case_ids))
    return {c for c in (await session.scalars(query)).all() if c is not None}


@dataclass
class DueScan:
    files: list[DueFile]
    held: int


async def due_files(session: AsyncSession, committee: str, policy: CommitteeDisposalPolicy, as_of: dt.date) -> DueScan:
    """Every file of the committee due on `as_of` and not held, sorted as the list stores them."""
    found: list[DueFile] = []
    held_count = 0
    held_p = await held_persons(session, committee)
    cutoff = _years_before(as_of, SHORTEST_RETENTION_YEARS) + dt.timedelta(days=1)  # 29 February
    query = _person_files_query(committee, policy).having(func.max(CaseRow.last_entry_on) <= cutoff)
    async for person_id, personnummer, last, municipal, still_open in _stream(session, query):
        verdict = _person_verdict(policy, personnummer, last, municipal, still_open)
        if not is_due(verdict, as_of):
            continue
        if person_id in held_p:
            held_count += 1
            continue
        found.append(DueFile(PERSON_FILE, person_id, verdict))
    if policy.retention_years is not None:
        held_c = await held_cases(session, committee)
        records = _closed_exempted_records(committee, policy.retention_years, as_of)
        async for case_id, last in _stream(session, records):
            verdict = exempted_record_verdict(last_entry_on=last, retention_years=policy.retention_years)
            if not is_due(verdict, as_of):
                continue
            if case_id in held_c:
                held_count += 1
                continue
            found.append(DueFile(EXEMPTED_RECORD, case_id, verdict))
    found = [f for f in found if f.verdict.action is not DisposalAction.KEEP]
    found.sort(key=lambda f: (f.kind, f.subject_id))
    return DueScan(found, held_count)


async def _stream(session: AsyncSession, query):  # type: ignore[no-untyped-def]
    result = await session.stream(query.execution_options(yield_per=_STREAM_CHUNK))
    async for partition in result.partitions():
        for row in partition:
            yield tuple(row)


# --- the check again at execution ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recheck:
    """Per subject id: still due exactly as listed (`go`), held, or changed (no longer due as listed)."""

    go: set[str]
    held: set[str]
    changed: set[str]


async def recheck(
    session: AsyncSession,
    committee: str,
    policy: CommitteeDisposalPolicy,
    as_of: dt.date,
    persons: dict[str, tuple[str, str]],
    records: dict[str, tuple[str, str]],
) -> Recheck:
    """`persons` / `records`: subject id → (action, rule) as listed. The holds and the dates are read
    again now, so a hold set or an entry written after the list was made stops the file."""
    go: set[str] = set()
    held: set[str] = set()
    changed: set[str] = set()
    if persons:
        ids = list(persons)
        held_p = await held_persons(session, committee, ids)
        query = _person_files_query(committee, policy).where(in_ids(session, PersonRow.id, ids))
        current = {row[0]: row for row in (await session.execute(query)).all()}
        for person_id, listed in persons.items():
            if person_id in held_p:
                held.add(person_id)
                continue
            row = current.get(person_id)
            if row is None:
                changed.add(person_id)
                continue
            verdict = _person_verdict(policy, row[1], row[2], row[3], row[4])
            if is_due(verdict, as_of) and (str(verdict.action), verdict.rule) == listed:
                go.add(person_id)
            else:
                changed.add(person_id)
    if records:
        ids = list(records)
        held_c = await held_cases(session, committee, ids)
        rows = await session.execute(
            select(CaseRow.id, CaseRow.last_entry_on).where(
                in_ids(session, CaseRow.id, ids),
                CaseRow.committee == committee,
                CaseRow.identity == "anonymous",
                CaseRow.status == "closed",
            )
        )
        current_r = {case_id: last for case_id, last in rows.all()}
        for case_id, listed in records.items():
            if case_id in held_c:
                held.add(case_id)
                continue
            last = current_r.get(case_id)
            if last is None:
                changed.add(case_id)
                continue
            verdict = exempted_record_verdict(last_entry_on=last, retention_years=policy.retention_years)
            if is_due(verdict, as_of) and (str(verdict.action), verdict.rule) == listed:
                go.add(case_id)
            else:
                changed.add(case_id)
    return Recheck(go, held, changed)


async def iter_due_before(
    session: AsyncSession, committee: str, policy: CommitteeDisposalPolicy, before: dt.date
) -> AsyncIterator[DueFile]:
    """Files whose due date is before `before` (for planning); held ones included."""
    cutoff = _years_before(before, SHORTEST_RETENTION_YEARS) + dt.timedelta(days=1)  # 29 February
    query = _person_files_query(committee, policy).having(func.max(CaseRow.last_entry_on) <= cutoff)
    async for person_id, personnummer, last, municipal, still_open in _stream(session, query):
        verdict = _person_verdict(policy, personnummer, last, municipal, still_open)
        if verdict.due_on is not None and verdict.due_on < before and verdict.action is not DisposalAction.KEEP:
            yield DueFile(PERSON_FILE, person_id, verdict)
    if policy.retention_years is not None:
        records = _closed_exempted_records(committee, policy.retention_years, before)
        async for case_id, last in _stream(session, records):
            verdict = exempted_record_verdict(last_entry_on=last, retention_years=policy.retention_years)
            if verdict.due_on is not None and verdict.due_on < before:
                yield DueFile(EXEMPTED_RECORD, case_id, verdict)


def _closed_exempted_records(committee: str, retention_years: int, on: dt.date) -> Select[str, dt.date]:
    """The committee's closed exempted records old enough to be due on `on` under the records plan
    (a day's slack for 29 February; the verdict decides)."""
    return select(CaseRow.id, CaseRow.last_entry_on).where(
        CaseRow.committee == committee,
        CaseRow.identity == "anonymous",
        CaseRow.status == "closed",
        CaseRow.last_entry_on <= _years_before(on, retention_years) + dt.timedelta(days=1),
    )
