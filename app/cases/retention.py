"""What a case shows of disposal: the verdict on the file it belongs to.

The rules are `app.disposal.rules` (pure, with their paragraphs). An identified case belongs to
the person's file at the committee (a parent-targeted case to the child's): its dates are the
file's, from the last entry across all the person's cases there, in every unit, and there are
none while any of those cases is open (SoL 16:1). An exempted case (SoL 14:4, 14:5) holds no
identity and is a record of its own under the committee's records plan.

Each case stores its own `last_entry_on`; the file's is one aggregate query per request, for
all the persons of a page at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import CaseRow, PersonRow
from app.catalog.domain import DocumentationRule
from app.catalog.snapshot import CatalogSnapshot
from app.disposal.rules import (
    CaseActivity,
    CommitteeDisposalPolicy,
    Verdict,
    file_last_entry_on,
    last_entry_in_file,
)

CLOSED = "closed"


def last_entry_on(dates: Iterable[dt.date | None]) -> dt.date:
    """The latest of a case's entries' dates (opening, notes, sessions, plan, closing)."""
    return last_entry_in_file(dates)


def policy_of(catalog: CatalogSnapshot, committee: str) -> CommitteeDisposalPolicy:
    """The committee's disposal configuration from the in-memory catalog (no query)."""
    found = catalog.committees.get(committee)
    return CommitteeDisposalPolicy() if found is None else found.disposal_policy()


@dataclass
class PersonFile:
    """A person's file at the committee: whose number, which units, the last entry, anything open."""

    personnummer: str
    units: set[str] = field(default_factory=set)
    activity: list[CaseActivity] = field(default_factory=list)
    open_cases: int = 0
    closed_cases: int = 0

    def verdict(self, policy: CommitteeDisposalPolicy) -> Verdict:
        return policy.person_file(
            units=self.units, last_entry_on=file_last_entry_on(self.activity), personnummer=self.personnummer
        )


async def person_files(session: AsyncSession, committee: str, person_ids: Iterable[str]) -> dict[str, PersonFile]:
    """The files of these persons at the committee, in one query (grouped by person and unit)."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    open_cases = func.sum(case((CaseRow.status == CLOSED, 0), else_=1))
    query = (
        select(
            CaseRow.person_id,
            PersonRow.personnummer,
            CaseRow.unit,
            func.max(CaseRow.last_entry_on),
            open_cases,
            func.count(CaseRow.id),
        )
        .join(PersonRow, PersonRow.id == CaseRow.person_id)
        .where(CaseRow.committee == committee, CaseRow.person_id.in_(ids))
        .group_by(CaseRow.person_id, PersonRow.personnummer, CaseRow.unit)
    )
    files: dict[str, PersonFile] = {}
    for person_id, personnummer, unit, last, n_open, n_cases in (await session.execute(query)).all():
        file = files.setdefault(person_id, PersonFile(personnummer))
        file.units.add(unit)
        file.activity.append(CaseActivity(last_entry_on=last, open=bool(n_open)))
        file.open_cases += int(n_open)
        file.closed_cases += int(n_cases) - int(n_open)
    return files


def case_verdict(row: CaseRow, policy: CommitteeDisposalPolicy, files: dict[str, PersonFile]) -> Verdict:
    """The verdict a case shows: its person's file's, or (exempted) its own under the records plan."""
    if DocumentationRule(row.documentation_rule).keeps_identity and row.person_id is not None:
        file = files.get(row.person_id)
        if file is None:
            raise LookupError("the file of an identified case was not loaded")
        return file.verdict(policy)
    # SoL 14:4, 14:5: an exempted case is a record of its own; while it is open it is not due.
    return policy.exempted_record(last_entry_on=row.last_entry_on if row.status == CLOSED else None)


async def case_verdicts(
    session: AsyncSession, policy: CommitteeDisposalPolicy, rows: Sequence[CaseRow]
) -> dict[str, Verdict]:
    """The verdict of each case, by case id: at most one query, none for exempted cases only."""
    if not rows:
        return {}
    committee = rows[0].committee
    files = await person_files(session, committee, (r.person_id for r in rows if r.person_id is not None))
    return {r.id: case_verdict(r, policy, files) for r in rows}


async def other_closed_cases(session: AsyncSession, row: CaseRow) -> list[str]:
    """The ids of the closed cases of the row's person's file other than the row, oldest first."""
    query = (
        select(CaseRow.id)
        .where(
            CaseRow.committee == row.committee,
            CaseRow.person_id == row.person_id,
            CaseRow.status == CLOSED,
            CaseRow.id != row.id,
        )
        .order_by(CaseRow.created_at, CaseRow.id)
    )
    return list((await session.scalars(query)).all())
