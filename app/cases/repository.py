"""Every case, person and unit-process query. Each case query is scoped to the caller's unit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.cases.models import CasePlanRow, CaseRow, PersonRow, UnitProcessRow
from app.core.auth import Caller


def _in_unit(query: Select[CaseRow], caller: Caller) -> Select[CaseRow]:
    # Seed 004: a case, open or closed, is visible only to the unit that carries it out.
    return query.where(CaseRow.committee == caller.committee, CaseRow.unit == caller.unit)


class CaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- cases ---------------------------------------------------------------------------------

    async def get(
        self, case_id: str, caller: Caller, *, for_update: bool = False, with_entries: bool = False
    ) -> CaseRow | None:
        query = _in_unit(select(CaseRow).where(CaseRow.id == case_id), caller)
        if with_entries:
            query = query.options(
                selectinload(CaseRow.notes), selectinload(CaseRow.sessions), selectinload(CaseRow.plan)
            )
        if for_update:  # serialises writes to one case (the session cap, the status)
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

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

    def add(self, row: Any) -> None:
        self.session.add(row)

    # --- persons ---------------------------------------------------------------------------------

    async def insert_person_if_new(self, values: dict[str, Any]) -> bool:
        """Insert unless the personnummer is known (concurrent openings race safely); True if inserted."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(PersonRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[PersonRow.personnummer])
            .returning(PersonRow.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def person_by_personnummer(self, digits: str) -> PersonRow | None:
        return (await self.session.scalars(select(PersonRow).where(PersonRow.personnummer == digits))).one_or_none()

    async def persons_by_personnummer(self, digits: list[str]) -> dict[str, PersonRow]:
        rows = (await self.session.scalars(select(PersonRow).where(PersonRow.personnummer.in_(digits)))).all()
        return {row.personnummer: row for row in rows}

    async def person_in_unit(self, person_id: str, caller: Caller) -> PersonRow | None:
        """The person, if one of their cases (registered or as guardian) is carried out by the caller's unit."""
        has_case = exists().where(
            CaseRow.committee == caller.committee,
            CaseRow.unit == caller.unit,
            or_(CaseRow.person_id == PersonRow.id, CaseRow.guardian_person_id == PersonRow.id),
        )
        query = select(PersonRow).where(PersonRow.id == person_id, has_case)
        return (await self.session.scalars(query)).one_or_none()

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
