"""Outbox event kinds and their payloads: the port's records as JSON, and back.

Services build an event from the port's dataclasses (`case_registered(...)` etc.) inside their
transaction; the dispatcher turns the payload back into the same dataclasses and calls the
port. One codec, so what is written is exactly what is delivered.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.domain import DocumentationRule
from app.journal.outbox import enqueue
from app.journal.port import (
    CaseClosing,
    CaseRegistration,
    ClosingReason,
    EntryKind,
    InterventionPlan,
    JournalEntry,
    PersonContactUpdate,
    PersonRecord,
    PlanPersonal,
)


class EventKind(StrEnum):
    case_registered = "case.registered"
    journal_entry_added = "case.journal_entry_added"
    plan_set = "case.plan_set"
    case_closed = "case.closed"
    person_updated = "person.updated"


def _json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return str(value)
    return value


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _person(data: dict[str, Any]) -> PersonRecord:
    return PersonRecord(**data)


# --- building events (services, inside their transaction) ---------------------------------


def case_registered(session: AsyncSession, case_id: str, registration: CaseRegistration) -> str:
    return enqueue(
        session,
        aggregate_type="case",
        aggregate_id=case_id,
        kind=EventKind.case_registered,
        payload={"case_id": case_id, "registration": _json(registration)},
    )


def journal_entry_added(session: AsyncSession, case_id: str, entry: JournalEntry) -> str:
    return enqueue(
        session,
        aggregate_type="case",
        aggregate_id=case_id,
        kind=EventKind.journal_entry_added,
        payload={"case_id": case_id, "entry": _json(entry)},
    )


def plan_set(session: AsyncSession, case_id: str, plan: InterventionPlan) -> str:
    return enqueue(
        session,
        aggregate_type="case",
        aggregate_id=case_id,
        kind=EventKind.plan_set,
        payload={"case_id": case_id, "plan": _json(plan)},
    )


def case_closed(session: AsyncSession, case_id: str, closing: CaseClosing) -> str:
    return enqueue(
        session,
        aggregate_type="case",
        aggregate_id=case_id,
        kind=EventKind.case_closed,
        payload={"case_id": case_id, "closing": _json(closing)},
    )


def person_updated(session: AsyncSession, person_id: str, update: PersonContactUpdate) -> str:
    return enqueue(
        session,
        aggregate_type="person",
        aggregate_id=person_id,
        kind=EventKind.person_updated,
        payload={"person_id": person_id, "update": _json(update)},
    )


# --- reading events (the dispatcher) --------------------------------------------------------


def read_registration(payload: dict[str, Any]) -> CaseRegistration:
    data = dict(payload["registration"])
    guardian = data.get("guardian")
    return CaseRegistration(
        person=_person(data["person"]),
        unit=data["unit"],
        intervention_id=data["intervention_id"],
        intervention_name=data["intervention_name"],
        process_steps=data["process_steps"],
        opened_on=dt.date.fromisoformat(data["opened_on"]),
        guardian=None if guardian is None else _person(guardian),
        documentation_basis=DocumentationRule(data.get("documentation_basis", "standard")),
    )


def read_entry(payload: dict[str, Any]) -> JournalEntry:
    data = payload["entry"]
    occurred_on = dt.date.fromisoformat(data["occurred_on"])
    return JournalEntry(kind=EntryKind(data["kind"]), occurred_on=occurred_on, text=data["text"])


def read_plan(payload: dict[str, Any]) -> InterventionPlan:
    data = dict(payload["plan"])
    data["starts_on"] = dt.date.fromisoformat(data["starts_on"])
    data["follow_up_on"] = _date(data.get("follow_up_on"))
    data["personal"] = PlanPersonal(**(data.get("personal") or {}))
    return InterventionPlan(**data)


def read_closing(payload: dict[str, Any]) -> CaseClosing:
    data = payload["closing"]
    return CaseClosing(
        closed_on=dt.date.fromisoformat(data["closed_on"]),
        reason=ClosingReason(data["reason"]),
        disposal_due_on=dt.date.fromisoformat(data["disposal_due_on"]),
        early_termination_reason=data.get("early_termination_reason"),
    )


def read_person_update(payload: dict[str, Any]) -> PersonContactUpdate:
    return PersonContactUpdate(**payload["update"])
