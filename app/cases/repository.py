"""Every case, person and unit-process query. Each case query is scoped to the caller's unit, each
person query to the caller's committee."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, NamedTuple, cast

from sqlalchemy import Select, String, Table, bindparam, exists, func, literal_column, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.cases.models import (
    CasePlanRow,
    CasePlanVersionRow,
    CaseRow,
    PersonContactRow,
    PersonNameRow,
    PersonRow,
    UnitProcessRow,
)
from app.core.auth import Caller
from app.core.batch import row_version
from app.journal.links import STATE_AFTER_AN_EVENT, state_params


class VersionedPerson(NamedTuple):
    """A person as read for a guarded write: not loaded as an object (nothing of it changes)."""

    id: str
    name: str
    protected_identity: bool
    version: str  # the row's version as read (`row_version`)
    cases: tuple[int, int]  # their open and closed cases at the committee


class StoredPerson(NamedTuple):
    id: str
    name: str
    protected_identity: bool
    # The person's cases at the committee before this statement, open and closed (None: not read).
    cases: tuple[int, int] | None = None


def _in_unit(query: Select[CaseRow], caller: Caller) -> Select[CaseRow]:
    # Seed 004: a case, open or closed, is visible only to the unit that carries it out.
    return query.where(CaseRow.committee == caller.committee, CaseRow.unit == caller.unit)


def _case_count(*where: Any) -> Any:
    """The upserted person's cases, in its RETURNING clause. The person's columns are named as text:
    SQLAlchemy does not correlate a subquery with the target of an INSERT, and would add `persons`
    to the subquery's FROM (every person's cases counted, by a join of both tables)."""
    cases = cast(Table, CaseRow.__table__)
    committee = literal_column(f"{PersonRow.__tablename__}.committee", String())
    person_id = literal_column(f"{PersonRow.__tablename__}.id", String())
    return (
        select(func.count())
        .select_from(cases)
        .where(cases.c.committee == committee, cases.c.person_id == person_id, *where)
        .scalar_subquery()
    )


def _upsert(statement: Any, *, with_cases: bool = False) -> Any:
    returned = [PersonRow.id, PersonRow.personnummer, PersonRow.name, PersonRow.protected_identity]
    if with_cases:  # PostgreSQL: the person's file at a glance, in the same round trip
        cases = cast(Table, CaseRow.__table__)
        returned += [
            _case_count(cases.c.status != "closed").label("open_cases"),
            _case_count(cases.c.status == "closed").label("closed_cases"),
        ]
    return statement.on_conflict_do_update(
        index_elements=[PersonRow.committee, PersonRow.personnummer],
        set_={"protected_identity": or_(PersonRow.protected_identity, statement.excluded.protected_identity)},
    ).returning(*returned)


@functools.cache
def _upsert_person(dialect: str, columns: tuple[str, ...]) -> Any:
    """One person's upsert, built once per dialect and set of columns."""
    table = cast(Table, PersonRow.__table__)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {c: bindparam("p_" + c, type_=table.c[c].type) for c in columns}
    return _upsert(insert(table).values(values), with_cases=dialect == "postgresql")


def _after_an_entry() -> Any:
    number = select(PersonRow.personnummer).where(PersonRow.id == bindparam("entry_person_id", type_=String()))
    return STATE_AFTER_AN_EVENT.add_columns(number.scalar_subquery().label("personnummer"))


# What the answer to an identified case's new entry shows beyond the case: its delivery state and
# journal reference, and the personnummer of its file (for the disposal view). Built once; run in
# the statement that writes the entry.
AFTER_AN_ENTRY = _after_an_entry()


def after_an_entry_params(case: CaseRow) -> dict[str, Any]:
    return {**state_params("case", case.id), "entry_person_id": case.person_id}


@functools.cache
def _case_by_id(*, for_update: bool, with_entries: bool) -> Select[CaseRow]:
    """A case by its id (bound as `case_id`), built once per variant: each request only binds the id."""
    query = select(CaseRow).where(CaseRow.id == bindparam("case_id", type_=String()))
    if with_entries:
        query = query.options(
            selectinload(CaseRow.notes),
            selectinload(CaseRow.sessions),
            selectinload(CaseRow.plan),
            selectinload(CaseRow.coded_entries),
        )
    if for_update:  # serialises writes to one case (the session cap, the status)
        query = query.with_for_update()
    return query


# A case by its id with its row's version (PostgreSQL's `xmin`), built once.
_VERSIONED_CASE = select(CaseRow, row_version(cast(Table, CaseRow.__table__))).where(
    CaseRow.id == bindparam("case_id", type_=String())
)


def _versioned_person() -> Any:
    cases = cast(Table, CaseRow.__table__)
    persons = cast(Table, PersonRow.__table__)
    return select(
        persons.c.id,
        persons.c.name,
        persons.c.protected_identity,
        row_version(persons),
        _case_count(cases.c.status != "closed").label("open_cases"),
        _case_count(cases.c.status == "closed").label("closed_cases"),
    ).where(
        persons.c.committee == bindparam("committee", type_=String()),
        persons.c.personnummer == bindparam("personnummer", type_=String()),
    )


# A person by committee and personnummer with their row's version and case counts, built once.
_VERSIONED_PERSON = _versioned_person()


class CaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- cases ---------------------------------------------------------------------------------

    async def get(
        self, case_id: str, caller: Caller, *, for_update: bool = False, with_entries: bool = False
    ) -> CaseRow | None:
        # By the primary key alone, the unit checked on the row: with stale statistics a unit filter
        # in SQL let the planner fetch the case through a unit-wide index instead.
        query = _case_by_id(for_update=for_update, with_entries=with_entries)
        case = (await self.session.scalars(query, {"case_id": case_id})).one_or_none()
        # Seed 004: another unit's case is answered as one that does not exist.
        return case if case is not None and case.committee == caller.committee and case.unit == caller.unit else None

    async def get_versioned(self, case_id: str, caller: Caller) -> tuple[CaseRow, str] | None:
        """A case, unlocked, with the version of its row as read (PostgreSQL), for a write guarded
        by that version (`write_pending(..., guard=(case, version))`)."""
        row = (await self.session.execute(_VERSIONED_CASE, {"case_id": case_id})).one_or_none()
        if row is None:
            return None
        case, version = row
        return (case, version) if case.committee == caller.committee and case.unit == caller.unit else None

    async def page(
        self,
        caller: Caller,
        *,
        status: str | None,
        intervention_id: str | None,
        participant_code: str | None,
        after: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> list[CaseRow]:
        """Newest first; `after` is the (created_at, id) of the previous page's last case."""
        query = _in_unit(select(CaseRow), caller)
        if status is not None:
            query = query.where(CaseRow.status == status)
        if intervention_id is not None:
            query = query.where(CaseRow.intervention_id == intervention_id)
        if participant_code is not None:
            query = query.where(CaseRow.participant_code == participant_code)
        if after is not None:
            at, last_id = after
            query = query.where(or_(CaseRow.created_at < at, (CaseRow.created_at == at) & (CaseRow.id < last_id)))
        query = query.order_by(CaseRow.created_at.desc(), CaseRow.id.desc()).limit(limit)
        return list((await self.session.scalars(query)).all())

    async def plan_of(self, case_id: str) -> CasePlanRow | None:
        return await self.session.get(CasePlanRow, case_id)

    async def plan_versions(self, case_id: str) -> list[CasePlanVersionRow]:
        query = select(CasePlanVersionRow).where(CasePlanVersionRow.case_id == case_id)
        return list((await self.session.scalars(query.order_by(CasePlanVersionRow.version))).all())

    async def running_case_id(self, caller: Caller, intervention_id: str, person_id: str) -> str | None:
        """The person's running case of the intervention in the caller's unit, if any."""
        query = _in_unit(select(CaseRow), caller).where(
            CaseRow.intervention_id == intervention_id,
            CaseRow.person_id == person_id,
            CaseRow.status != "closed",
        )
        case = (await self.session.scalars(query.limit(1))).one_or_none()
        return None if case is None else case.id

    async def earlier_sessions(self, caller: Caller, case: CaseRow, since: dt.date) -> int:
        """Sessions of the same intervention in the person's other cases in the unit opened on or after `since`."""
        query = select(func.coalesce(func.sum(CaseRow.session_count), 0)).where(
            CaseRow.committee == caller.committee,
            CaseRow.unit == caller.unit,
            CaseRow.intervention_id == case.intervention_id,
            CaseRow.person_id == case.person_id,
            CaseRow.opened_on >= since,
            CaseRow.id != case.id,
        )
        return int(await self.session.scalar(query) or 0)

    def add(self, row: Any) -> None:
        self.session.add(row)

    # --- persons ---------------------------------------------------------------------------------

    def _insert(self) -> Any:
        return postgresql.insert if self.session.get_bind().dialect.name == "postgresql" else sqlite.insert

    async def upsert_persons(self, rows: list[dict[str, Any]]) -> dict[str, StoredPerson]:
        """Insert the persons the committee does not know and raise `protected_identity` on those it
        does, in one statement (concurrent openings race safely). Per personnummer: the row's id,
        current name and protection as stored now; a known person keeps their id and name."""
        dialect = self.session.get_bind().dialect.name
        if len(rows) == 1:  # the usual case: one statement built once, its values bound by name
            row = rows[0]
            statement = _upsert_person(dialect, tuple(row))
            params = {"p_" + column: value for column, value in row.items()}
            result = await self.session.execute(statement, params)
        else:
            result = await self.session.execute(_upsert(self._insert()(PersonRow).values(rows)))
        return {
            row.personnummer: StoredPerson(
                row.id,
                row.name,
                bool(row.protected_identity),
                (row.open_cases, row.closed_cases) if "open_cases" in row._fields else None,
            )
            for row in result
        }

    async def person_versioned(self, committee: str, digits: str) -> VersionedPerson | None:
        """The committee's person with this personnummer, unlocked, with the version of its row as
        read and their open and closed cases (PostgreSQL), for a write guarded by that version."""
        row = (await self.session.execute(_VERSIONED_PERSON, {"committee": committee, "personnummer": digits})).first()
        if row is None:
            return None
        person_id, name, protected, version, open_cases, closed_cases = row
        return VersionedPerson(person_id, name, bool(protected), version, (int(open_cases), int(closed_cases)))

    async def record_contacts(self, rows: list[dict[str, Any]]) -> None:
        """Add what an opening gave to each unit's own contact record: nothing is cleared."""
        statement = self._insert()(PersonContactRow).values(rows[0] if len(rows) == 1 else rows)
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[PersonContactRow.person_id, PersonContactRow.unit],
            set_={
                "address": func.coalesce(excluded.address, PersonContactRow.address),
                "phone": func.coalesce(excluded.phone, PersonContactRow.phone),
                "email": func.coalesce(excluded.email, PersonContactRow.email),
                "recorded_by": excluded.recorded_by,
                "updated_at": excluded.updated_at,
            },
        )
        await self.session.execute(statement)

    async def clear_addresses(self, person_ids: list[str]) -> None:
        """OSL 22:1: a person who becomes protected keeps no address in any unit's record."""
        await self.session.execute(
            update(PersonContactRow)
            .where(PersonContactRow.person_id.in_(person_ids), PersonContactRow.address.is_not(None))
            .values(address=None)
            .execution_options(synchronize_session=False)
        )

    async def person_by_personnummer(self, committee: str, digits: str) -> PersonRow | None:
        query = select(PersonRow).where(PersonRow.committee == committee, PersonRow.personnummer == digits)
        return (await self.session.scalars(query)).one_or_none()

    async def person_in_unit(self, person_id: str, caller: Caller, *, for_update: bool = False) -> PersonRow | None:
        """The person of the caller's committee, if one of their cases (registered or as guardian) is
        carried out by the caller's unit; else None."""
        has_case = exists().where(
            CaseRow.committee == caller.committee,
            CaseRow.unit == caller.unit,
            or_(CaseRow.person_id == PersonRow.id, CaseRow.guardian_person_id == PersonRow.id),
        )
        query = select(PersonRow).where(PersonRow.id == person_id, PersonRow.committee == caller.committee, has_case)
        if for_update:  # serialises changes of one person (the name versions, the protection flag)
            query = query.with_for_update(of=PersonRow)
        return (await self.session.scalars(query)).one_or_none()

    async def contacts_of(self, person_id: str) -> list[PersonContactRow]:
        query = select(PersonContactRow).where(PersonContactRow.person_id == person_id)
        return list((await self.session.scalars(query)).all())

    async def names_of(self, person_id: str) -> list[PersonNameRow]:
        query = select(PersonNameRow).where(PersonNameRow.person_id == person_id)
        return list((await self.session.scalars(query.order_by(PersonNameRow.recorded_at))).all())

    async def occurrences(self, person_id: str, committee: str) -> list[CaseRow]:
        """Identified cases of the person in every unit of the committee (registry occurrence)."""
        query = (
            select(CaseRow)
            .where(
                CaseRow.committee == committee,
                or_(CaseRow.person_id == person_id, CaseRow.guardian_person_id == person_id),
            )
            .order_by(CaseRow.opened_on, CaseRow.id)
        )
        return list((await self.session.scalars(query)).all())

    # --- unit processes ----------------------------------------------------------------------------

    async def unit_process(self, caller: Caller) -> UnitProcessRow | None:
        return await self.session.get(UnitProcessRow, (caller.committee, caller.unit))
