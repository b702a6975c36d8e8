"""The audit trail (SoLPUL 10 §, SoLPUF 15 §): who read or wrote an identified case or person, and why.

Append-only: this module adds rows and reads them; no code path updates or deletes one.
Rows name case and person ids, never a personnummer. Anonymous cases (SoL 14:4, 14:5)
hold no identity, so reading them is not an access to personal data and is not audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

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
        why = self.purpose or DEFAULT_PURPOSE.get(action, Purpose.carrying_out)
        at = now()
        self.session.add_all(
            AuditRecordRow(
                id=new_id(),
                at=at,
                actor=self.caller.sub,
                committee=self.caller.committee,
                unit=self.caller.unit,
                action=action.value,
                case_id=case_id,
                person_id=person_id,
                why_code=why.value,
                basis=basis,
            )
            for person_id in people
        )


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
        if case_id is not None:
            query = query.where(AuditRecordRow.case_id == case_id)
        if person_id is not None:
            query = query.where(AuditRecordRow.person_id == person_id)
        if since is not None:
            query = query.where(AuditRecordRow.at >= as_utc(since))
        if after is not None:
            at, last_id = after
            query = query.where(or_(AuditRecordRow.at < at, (AuditRecordRow.at == at) & (AuditRecordRow.id < last_id)))
        query = query.order_by(AuditRecordRow.at.desc(), AuditRecordRow.id.desc()).limit(limit)
        return list((await self.session.scalars(query)).all())
