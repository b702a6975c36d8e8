"""The audit trail (SoLPUL 10 §, SoLPUF 15 §): who read or wrote an identified case or person, and why.

Append-only: this module adds rows and reads them; no code path updates or deletes one (only
disposal replaces the rows naming a disposed file, `app/cases/erasure.py`). Rows name case and
person ids, never a personnummer. A read of one case or person is a row per person concerned; a
read of a page of cases is ONE row whose `case_ids` and `person_ids` name everything on the
page. Anonymous cases (SoL 14:4, 14:5) hold no identity, so reading them is not an access to
personal data and is not audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, String, and_, exists, func, literal_column, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.cases.models import AuditRecordRow
from app.core.auth import Caller
from app.core.db import new_id
from app.kit.clock import now


class Purpose(StrEnum):
    """Why an access happens (the `X-Purpose` header); each action has a default."""

    carrying_out = "carrying_out"  # genomförande
    follow_up = "follow_up"  # uppföljning
    registry_request = "registry_request"  # förekomst, begäran om uppgifter
    supervision = "supervision"  # tillsyn, egenkontroll


class Action(StrEnum):
    case_opened = "case.opened"
    case_read = "case.read"
    case_listed = "case.listed"  # a page of cases: one row naming them all
    case_note_added = "case.note_added"
    case_plan_set = "case.plan_set"
    case_session_recorded = "case.session_recorded"
    case_coded_entry_added = "case.coded_entry_added"
    case_closed = "case.closed"
    person_read = "person.read"
    person_updated = "person.updated"
    person_protection_raised = "person.protection_raised"  # skyddade personuppgifter set
    person_protection_cleared = "person.protection_cleared"  # only with `persons:protect`
    registry_occurrence = "registry.occurrence"


DEFAULT_PURPOSE: dict[Action, Purpose] = {Action.registry_occurrence: Purpose.registry_request}


class AuditTrail:
    """Adds audit rows to the request's transaction (written with everything else, or not at all)."""

    def __init__(self, session: AsyncSession, caller: Caller, purpose: Purpose | None) -> None:
        self.session = session
        self.caller = caller
        self.purpose = purpose

    def record(
        self,
        action: Action,
        *,
        case_id: str | None = None,
        person_ids: Sequence[str | None] = (),
        basis: str | None = None,
    ) -> None:
        """One row per person concerned (so a person's trail is complete), or one without a person.

        `basis` is the legal basis an asker stated (a registry occurrence question), as a code.
        """
        people: list[str | None] = [p for p in person_ids if p is not None] or [None]
        at = now()
        self.session.add_all(
            self._row(action, at, case_id=case_id, person_id=person_id, basis=basis) for person_id in people
        )

    def record_page(self, action: Action, cases: Sequence[tuple[str, Sequence[str | None]]]) -> None:
        """ONE row for a page of identified cases (each given with its persons): `case_ids` and
        `person_ids` name them all, in page order and without repeats. A page with no identified
        case reads no personal data and writes nothing."""
        if not cases:
            return
        case_ids = list(dict.fromkeys(case_id for case_id, _ in cases))
        person_ids = list(dict.fromkeys(p for _, people in cases for p in people if p is not None))
        self.session.add(self._row(action, now(), case_ids=case_ids, person_ids=person_ids))

    def _row(self, action: Action, at: dt.datetime, **named: Any) -> AuditRecordRow:
        why = self.purpose or DEFAULT_PURPOSE.get(action, Purpose.carrying_out)
        return AuditRecordRow(
            id=new_id(),
            at=at,
            actor=self.caller.sub,
            committee=self.caller.committee,
            unit=self.caller.unit,
            action=action.value,
            why_code=why.value,
            **named,
        )


def listing(session: AsyncSession, ids_column: Any, wanted: str) -> ColumnElement[bool]:
    """The page records whose list (`case_ids`, `person_ids`) names `wanted`.

    PostgreSQL: `@>` on the array, off its GIN index. SQLite: the JSON list through `json_each`,
    on the page records only, which a range on the list's index finds."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(ids_column, ARRAY(String)).contains(type_coerce([wanted], ARRAY(String)))
    element = func.json_each(ids_column).table_valued("value")
    return and_(
        page_records(ids_column),
        exists(select(literal_column("1")).select_from(element).where(element.c.value == wanted)),
    )


def page_records(ids_column: Any) -> ColumnElement[bool]:
    """SQLite: the rows whose list (`case_ids`, `person_ids`) is set, as a range on the list's
    index (its JSON text sorts after ''): without statistics SQLite trusts a range to narrow the
    search, never `IS NOT NULL`, and would scan the whole table instead."""
    return type_coerce(ids_column, String) > literal_column("''")


def as_utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


AUDIT_COMMITTEE_SCOPE = "audit:committee"


def committee_wide(caller: Caller) -> bool:
    """Reading the audit trail of every unit of the committee takes an explicit scope; without it a
    token reads its own unit's trail (whatever its unit is called)."""
    return caller.has(AUDIT_COMMITTEE_SCOPE)


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self,
        caller: Caller,
        *,
        case_id: str | None,
        person_id: str | None,
        since: dt.datetime | None,
        after: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> list[AuditRecordRow]:
        """Newest first; `after` is the (at, id) of the last row of the previous page."""
        query: Select[AuditRecordRow] = select(AuditRecordRow).where(AuditRecordRow.committee == caller.committee)
        if not committee_wide(caller):
            query = query.where(AuditRecordRow.unit == caller.unit)
        if since is not None:
            query = query.where(AuditRecordRow.at >= as_utc(since))
        if after is not None:
            at, last_id = after
            query = query.where(or_(AuditRecordRow.at < at, (AuditRecordRow.at == at) & (AuditRecordRow.id < last_id)))
        newest_first = (AuditRecordRow.at.desc(), AuditRecordRow.id.desc())
        if case_id is None and person_id is None:
            return list((await self.session.scalars(query.order_by(*newest_first).limit(limit))).all())
        # A case's or a person's trail is complete: its own records and the page records naming it.
        # A record is one or the other, so two queries, each with one kind of condition and so one
        # index to choose (an OR of both lets a planner without statistics prefer the committee's
        # index), merged here.
        own, pages = query, query
        for wanted, column, ids_column in (
            (case_id, AuditRecordRow.case_id, AuditRecordRow.case_ids),
            (person_id, AuditRecordRow.person_id, AuditRecordRow.person_ids),
        ):
            if wanted is not None:
                own = own.where(column == wanted)
                pages = pages.where(listing(self.session, ids_column, wanted))
        found = [
            row
            for part in (own, pages)
            for row in (await self.session.scalars(part.order_by(*newest_first).limit(limit))).all()
        ]
        return sorted(found, key=lambda r: (r.at, r.id), reverse=True)[:limit]
