"""A disposal scenario: files across the three research-exemption settings, with holds, parents
and children, exempted records, private units and mixed dates; and what must happen to each.

Each person gets a unique name token (`Qz<n>x`), so a canary sweep can look for every removed
person's name and personnummer (12 and 10 digits) in every table.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import CaseRow
from app.core.auth import Caller
from app.core.db import Database
from app.disposal.execution import DisposalRunner, Hooks
from app.disposal.models import HoldRow
from app.disposal.policy import CommitteeDisposalPolicy
from app.disposal.rules import (
    DisposalAction,
    ProviderKind,
    ResearchExemption,
    exempted_record_verdict,
    is_due,
    person_file_verdict,
)
from app.disposal.service import DisposalService
from app.models import Base
from tests.disposal.support import Seed, new_id, official_personnummer

AS_OF = dt.date(2026, 6, 1)
POLICIES = {
    "sn-goteborg": CommitteeDisposalPolicy(exemption=ResearchExemption.ALL, retention_years=None),
    "sn-sydvast": CommitteeDisposalPolicy(
        exemption=ResearchExemption.BIRTHDAYS_5_15_25,
        retention_years=3,
        providers={"unit-p": ProviderKind.PRIVATE},
    ),
    "sn-ingen": CommitteeDisposalPolicy(exemption=ResearchExemption.NONE, retention_years=4),
}
LAST_ENTRIES = [
    dt.date(2018, 3, 5),
    dt.date(2019, 11, 30),
    dt.date(2020, 2, 29),
    dt.date(2021, 5, 31),
    dt.date(2021, 6, 1),
    dt.date(2021, 6, 2),
    dt.date(2023, 1, 15),
    dt.date(2024, 5, 31),
    dt.date(2025, 9, 1),
]


async def policies(_session: AsyncSession, committee: str) -> CommitteeDisposalPolicy:
    return POLICIES[committee]


def caller(committee: str, sub: str, unit: str = "unit-a") -> Caller:
    scopes = frozenset({"disposal:propose", "disposal:approve", "disposal:hold", "disposal:read"})
    return Caller(sub=sub, unit=unit, committee=committee, scopes=scopes, expires_at=2e9)


@dataclass
class Person:
    id: str
    committee: str
    pnr: str
    name: str
    cases: list[tuple[str, str, dt.date, bool]] = field(default_factory=list)  # (case id, unit, last entry, open)
    guardian_of: list[str] = field(default_factory=list)  # persons whose cases name this one as guardian
    held: bool = False


@dataclass
class Scenario:
    persons: dict[str, Person] = field(default_factory=dict)
    records: dict[str, tuple[str, dt.date, bool]] = field(
        default_factory=dict
    )  # exempted case -> committee, last, open
    held_records: set[str] = field(default_factory=set)
    # Audit rows of read pages of cases: (case ids, person ids) as written, disposed and kept mixed.
    pages: list[tuple[list[str], list[str]]] = field(default_factory=list)

    def expected_person_files(self) -> dict[str, tuple[str, str]]:
        """Person id -> (action, rule) of every file due on AS_OF and not held."""
        out = {}
        for p in self.persons.values():
            if not p.cases or p.held:
                continue
            policy = POLICIES[p.committee]
            municipal = any(policy.provider(unit) is ProviderKind.MUNICIPAL for _, unit, _, _ in p.cases)
            still_open = any(is_open for *_, is_open in p.cases)
            verdict = person_file_verdict(
                last_entry_on=None if still_open else max(last for _, _, last, _ in p.cases),
                personnummer=p.pnr,
                exemption=policy.exemption,
                provider=ProviderKind.MUNICIPAL if municipal else ProviderKind.PRIVATE,
            )
            if is_due(verdict, AS_OF) and verdict.action is not DisposalAction.KEEP:
                out[p.id] = (str(verdict.action), verdict.rule)
        return out

    def expected_records(self) -> dict[str, tuple[str, str]]:
        out = {}
        for case_id, (committee, last, is_open) in self.records.items():
            retention = POLICIES[committee].retention_years
            verdict = exempted_record_verdict(last_entry_on=None if is_open else last, retention_years=retention)
            if case_id not in self.held_records and is_due(verdict, AS_OF):
                out[case_id] = (str(verdict.action), verdict.rule)
        return out

    def removed_persons(self) -> set[str]:
        """Persons whose row must be gone: their file went (or they had none), and no remaining file
        names them as guardian."""
        files = self.expected_person_files()
        remaining_children = {p.id for p in self.persons.values() if p.cases and p.id not in files}
        gone = set()
        for p in self.persons.values():
            if p.held or (p.cases and p.id not in files):
                continue
            if any(child in remaining_children for child in p.guardian_of):
                continue
            if not p.cases and not p.guardian_of:
                continue
            gone.add(p.id)
        return gone


async def build(
    db: Database, per_committee: int, *, seed: int = 10, committees: tuple[str, ...] = tuple(POLICIES)
) -> Scenario:
    rng = random.Random(seed)
    pnrs = official_personnummer()
    rng.shuffle(pnrs)
    numbers = iter(pnrs)
    scenario = Scenario()
    rows = Seed()
    n = 0

    def person(committee: str) -> Person:
        nonlocal n
        n += 1
        pnr = next(numbers)
        name = f"Qz{n}x Testsson"
        p = Person(rows.person(committee, pnr, name), committee, pnr, name)
        scenario.persons[p.id] = p
        return p

    def case(p: Person, unit: str, last: dt.date, guardian: Person | None = None, open_case: bool = False) -> str:
        cid = rows.case(
            p.committee,
            unit,
            person_id=p.id,
            guardian_person_id=guardian.id if guardian else None,
            last_entry_on=last,
            note_text=f"Samtal med {p.name} ({p.pnr})",
            pnr=p.pnr,
            open_case=open_case,
        )
        p.cases.append((cid, unit, last, open_case))
        listed.setdefault(p.committee, []).append((cid, [p.id, *([guardian.id] if guardian else [])]))
        if guardian is not None:
            guardian.guardian_of.append(p.id)
        return cid

    holds: list[dict[str, object]] = []
    listed: dict[str, list[tuple[str, list[str]]]] = {}  # committee -> its identified cases with their persons
    for committee in committees:
        units = ["unit-a", "unit-b"] + (["unit-p"] if committee == "sn-sydvast" else [])
        for i in range(per_committee):
            p = person(committee)
            kind = i % 10
            last = rng.choice(LAST_ENTRIES)
            cid = case(p, rng.choice(units), last)
            if kind == 1:  # a second, recent case moves the file's date
                case(p, rng.choice(units), dt.date(2025, 1, 1))
            elif kind == 2:  # a second, old case
                case(p, rng.choice(units), dt.date(2019, 1, 1))
            elif kind == 3:  # a child of a parent without cases of their own
                parent = person(committee)
                child = person(committee)
                case(child, "unit-a", rng.choice(LAST_ENTRIES), guardian=parent)
            elif kind == 4:  # the parent has an own file too, the child's date differs
                child = person(committee)
                case(child, "unit-b", rng.choice(LAST_ENTRIES), guardian=p)
            elif kind == 5 and i % 20 == 5:  # a hold on the person
                p.held = True
                holds.append({"person_id": p.id})
            elif kind == 6 and i % 20 == 6:  # a hold on one of the cases
                p.held = True
                holds.append({"case_id": cid, "unit": p.cases[0][1]})
            elif kind == 7 and i % 20 == 7:  # a released hold does not hold
                holds.append({"person_id": p.id, "released": True})
            elif kind == 8:  # an open case keeps the whole file (SoL 16:1), however old
                case(p, rng.choice(units), dt.date(2018, 1, 1), open_case=True)
            if i % 3 == 0:  # an exempted record
                last_r = rng.choice(LAST_ENTRIES)
                still = i % 9 == 0
                unit_r = rng.choice(units)
                rid = rows.case(committee, unit_r, last_entry_on=last_r, note_text="Anonymt samtal", open_case=still)
                scenario.records[rid] = (committee, last_r, still)
                if i % 30 == 0:
                    scenario.held_records.add(rid)
                    holds.append({"case_id": rid, "unit": "unit-a", "record": True})
        # the test's committee id is written on every row above
        # Pages of 50 listed cases, each one audit row: due, held and open files side by side.
        for start in range(0, len(listed.get(committee, [])), 50):
            page = listed[committee][start : start + 50]
            rows.page_read(committee, "unit-a", page)
            persons = list(dict.fromkeys(p for _, people in page for p in people))
            scenario.pages.append(([case_id for case_id, _ in page], persons))
    async with db.sessions() as session, session.begin():
        await rows.write(session)
        for h in holds:
            target_case = h.get("case_id")
            committee = (
                scenario.persons[str(h["person_id"])].committee
                if "person_id" in h
                else str(await session.scalar(select(CaseRow.committee).where(CaseRow.id == target_case)))
            )
            released = bool(h.get("released"))
            session.add(
                HoldRow(
                    id=new_id(),
                    committee=committee,
                    unit=str(h.get("unit", "unit-a")),
                    person_id=h.get("person_id"),
                    case_id=target_case,
                    reason="court_case",
                    created_by="jurist",
                    released_by="jurist" if released else None,
                    released_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) if released else None,
                )
            )
    return scenario


async def propose_and_approve(db: Database, committee: str) -> str:
    async with db.sessions() as session, session.begin():
        listed = await DisposalService(session, caller(committee, "anna"), policies).propose(AS_OF)
        list_id, digest = listed.id, listed.digest
    async with db.sessions() as session, session.begin():
        await DisposalService(session, caller(committee, "bo"), policies).approve(list_id, digest)
    return list_id


def runner(db: Database, settings, batch_size: int = 40, hooks: Hooks | None = None) -> DisposalRunner:  # type: ignore[no-untyped-def]
    # Two batches at once on PostgreSQL (SQLite runs one): shared guardians, holds and crashes race.
    return DisposalRunner(db, settings, policies=policies, batch_size=batch_size, hooks=hooks, concurrency=2)


async def table_counts(db: Database) -> dict[str, int]:
    async with db.sessions() as session:
        return {
            t.name: int(await session.scalar(select(func.count()).select_from(t)) or 0)
            for t in Base.metadata.sorted_tables
        }


TOKEN = re.compile(r"qz\d+x|\d{10,12}")


async def database_tokens(db: Database) -> set[str]:
    """Every name token and every run of 10-12 digits in any column of any table."""
    found: set[str] = set()
    async with db.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                found.update(TOKEN.findall(str(tuple(row)).lower()))
    return found
