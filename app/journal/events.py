"""Outbox event kinds and their payloads: the port's records as JSON, and back.

Services build an event from the port's dataclasses (`case_registered(...)` etc.) inside their
transaction; the dispatcher turns the payload back into the same dataclasses and calls the
port. One codec, so what is written is exactly what is delivered.

Payloads (all keys besides the record are optional unless noted):

- `case.registered`: `case_id`, `registration`; `person_id` and `guardian_person_id` (our
  person ids) let the dispatcher store the journal system's person refs (`JournalLink`
  "person"), which `person.updated` needs.
- `case.note_added`, `case.session_recorded`, `case.coded_entry_added`: `case_id`, `entry` (each
  becomes a journalanteckning); `note_id` / `session_id` and `number` / `coded_entry_id` and
  `code` say which of ours it was.
- `case.plan_set`: `case_id`, `plan`.
- `case.closed`: `case_id`, `closing` (with the disposal dates and action); `entry`, if present,
  is the closing journalanteckning and is added before the case is closed (a closed case takes
  no entries).
- `case.disposal_changed`: `case_id`, `disposal`: a closed case's disposal changed because
  another case of the person's file opened or closed (the dates are the file's).
- `person.updated`: `person_id`, `update` (no personnummer: the journal system knows the
  person by its own ref, kept in `JournalLink`).

Every builder fits its record to the contract's limits (`app.journal.limits`) before writing:
for what the API accepted that changes nothing (the API's limits are the contract's); it bounds
what the service composes. `refit` runs a stored payload through the same codec again, for an
operator's retry of an event written before the limits applied.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.domain import DocumentationRule
from app.disposal.rules import DisposalAction, RetentionBasis
from app.journal.limits import (
    EARLY_TERMINATION_REASON_MAX,
    ENTRY_TEXT_MAX,
    INTERVENTION_NAME_MAX,
    PLAN_DESCRIPTION_MAX,
    PLAN_RESPONSIBLE_CONTACT_MAX,
    PLAN_TEXT_MAX,
    fit,
    fit_optional,
)
from app.journal.outbox import enqueue
from app.journal.port import (
    CaseClosing,
    CaseDisposal,
    CaseDisposed,
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
    note_added = "case.note_added"  # a journal note
    session_recorded = "case.session_recorded"  # a samtal/träff, documented as an entry
    coded_entry_added = "case.coded_entry_added"  # a coded entry (seed 004), documented as an entry
    plan_set = "case.plan_set"
    case_closed = "case.closed"
    disposal_changed = "case.disposal_changed"  # the closed case's file's disposal changed
    person_updated = "person.updated"
    # Our copy of a case was disposed of; aggregate `disposal` (the case's own events and journal
    # link went with it), the journal system's case ref in the payload.
    case_disposed = "case.disposed"


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(kind: type) -> tuple[str, ...] | None:
    """The fields of a dataclass, read once per class (None: not a dataclass)."""
    if kind not in _FIELD_NAMES:
        _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else None
    return _FIELD_NAMES[kind]


def _json(value: Any) -> Any:
    names = _field_names(type(value))
    if names is not None:
        return {name: _json(getattr(value, name)) for name in names}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return str(value)
    return value


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _person(data: dict[str, Any]) -> PersonRecord:
    return PersonRecord(**data)


# --- fitting records to the contract ------------------------------------------------------


def fit_registration(registration: CaseRegistration) -> CaseRegistration:
    name = fit(registration.intervention_name, INTERVENTION_NAME_MAX)
    if name == registration.intervention_name:
        return registration
    return dataclasses.replace(registration, intervention_name=name)


def fit_entry(entry: JournalEntry) -> JournalEntry:
    text = fit(entry.text, ENTRY_TEXT_MAX)
    return entry if text == entry.text else dataclasses.replace(entry, text=text)


_PLAN_TEXTS = ("time_frame", "reason_for_seeking", "goals", "form", "frequency", "follow_up", "reason_for_closing")


def fit_plan(plan: InterventionPlan) -> InterventionPlan:
    changes: dict[str, Any] = {name: fit_optional(getattr(plan, name), PLAN_TEXT_MAX) for name in _PLAN_TEXTS}
    changes["description"] = fit(plan.description, PLAN_DESCRIPTION_MAX)
    changes["responsible_contact"] = fit(plan.responsible_contact, PLAN_RESPONSIBLE_CONTACT_MAX)
    changes["personal"] = PlanPersonal(next_of_kin=fit_optional(plan.personal.next_of_kin, PLAN_TEXT_MAX))
    return dataclasses.replace(plan, **changes)


def fit_closing(closing: CaseClosing) -> CaseClosing:
    reason = fit_optional(closing.early_termination_reason, EARLY_TERMINATION_REASON_MAX)
    if reason == closing.early_termination_reason:
        return closing
    return dataclasses.replace(closing, early_termination_reason=reason)


# --- building events (services, inside their transaction) ---------------------------------
# `committee` is the committee whose record the event carries: `outbox:admin` sees and retries
# only its own committee's events. Services always give it; an event without one is seen only
# with `outbox:admin:all`.


ENTRY_KINDS = frozenset({EventKind.note_added, EventKind.session_recorded, EventKind.coded_entry_added})


def case_registered(
    session: AsyncSession,
    case_id: str,
    registration: CaseRegistration,
    *,
    person_id: str | None = None,
    guardian_person_id: str | None = None,
    committee: str | None = None,
) -> str:
    payload: dict[str, Any] = {"case_id": case_id, "registration": _json(fit_registration(registration))}
    if person_id is not None:
        payload["person_id"] = person_id
    if guardian_person_id is not None:
        payload["guardian_person_id"] = guardian_person_id
    return enqueue(
        session,
        aggregate_type="case",
        aggregate_id=case_id,
        kind=EventKind.case_registered,
        payload=payload,
        committee=committee,
    )


def note_added(
    session: AsyncSession,
    case_id: str,
    entry: JournalEntry,
    *,
    note_id: str | None = None,
    committee: str | None = None,
) -> str:
    payload: dict[str, Any] = {"case_id": case_id, "entry": _json(fit_entry(entry))}
    if note_id is not None:
        payload["note_id"] = note_id
    return enqueue(
        session,
        aggregate_type="case",
        aggregate_id=case_id,
        kind=EventKind.note_added,
        payload=payload,
        committee=committee,
    )


def session_recorded(
    session: AsyncSession,
    case_id: str,
    entry: JournalEntry,
    *,
    session_id: str,
    number: int,
    committee: str | None = None,
) -> str:
    payload = {"case_id": case_id, "session_id": session_id, "number": number, "entry": _json(fit_entry(entry))}
    return enqueue(
        session,
        aggregate_type="case",
        aggregate_id=case_id,
        kind=EventKind.session_recorded,
        payload=payload,
        committee=committee,
    )


def coded_entry_added(
    session: AsyncSession,
    case_id: str,
    entry: JournalEntry,
    *,
    coded_entry_id: str,
    code: str,
    committee: str | None = None,
) -> str:
    payload = {"case_id": case_id, "coded_entry_id": coded_entry_id, "code": code, "entry": _json(entry)}
    return enqueue(
        session,
        aggregate_type="case",
        aggregate_id=case_id,
        kind=EventKind.coded_entry_added,
        payload=payload,
        committee=committee,
    )


def plan_set(
    session: AsyncSession,
    case_id: str,
    plan: InterventionPlan,
    *,
    version: int | None = None,
    committee: str | None = None,
) -> str:
    payload: dict[str, Any] = {"case_id": case_id, "plan": _json(fit_plan(plan))}
    if version is not None:
        payload["version"] = version
    return enqueue(
        session,
        aggregate_type="case",
        aggregate_id=case_id,
        kind=EventKind.plan_set,
        payload=payload,
        committee=committee,
    )


def case_closed(
    session: AsyncSession,
    case_id: str,
    closing: CaseClosing,
    *,
    entry: JournalEntry | None = None,
    committee: str | None = None,
) -> str:
    payload: dict[str, Any] = {"case_id": case_id, "closing": _json(fit_closing(closing))}
    if entry is not None:
        payload["entry"] = _json(fit_entry(entry))
    return enqueue(
        session,
        aggregate_type="case",
        aggregate_id=case_id,
        kind=EventKind.case_closed,
        payload=payload,
        committee=committee,
    )


def disposal_changed(session: AsyncSession, case_id: str, disposal: CaseDisposal, *, committee: str) -> str:
    return enqueue(
        session,
        aggregate_type="case",
        aggregate_id=case_id,
        kind=EventKind.disposal_changed,
        payload={"case_id": case_id, "disposal": _json(disposal)},
        committee=committee,
    )


def person_updated(
    session: AsyncSession, person_id: str, update: PersonContactUpdate, *, committee: str | None = None
) -> str:
    return enqueue(
        session,
        aggregate_type="person",
        aggregate_id=person_id,
        kind=EventKind.person_updated,
        payload={"person_id": person_id, "update": _json(update)},
        committee=committee,
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


def case_disposed(
    session: AsyncSession, case_id: str, case_ref: str, disposed: CaseDisposed, *, committee: str | None = None
) -> str:
    return enqueue(
        session,
        aggregate_type="disposal",
        aggregate_id=case_id,
        kind=EventKind.case_disposed,
        payload={"case_ref": case_ref, "disposed": _json(disposed)},
        committee=committee,
    )


def read_disposed(payload: dict[str, Any]) -> tuple[str, CaseDisposed]:
    """The journal system's case ref and what became of our copy (`case.disposed`)."""
    data = payload["disposed"]
    return payload["case_ref"], CaseDisposed(
        disposed_on=dt.date.fromisoformat(data["disposed_on"]),
        action=data["action"],
        rule=data["rule"],
        archive_package=data.get("archive_package"),
    )


def read_closing(payload: dict[str, Any]) -> CaseClosing:
    data = payload["closing"]
    return CaseClosing(
        closed_on=dt.date.fromisoformat(data["closed_on"]),
        reason=ClosingReason(data["reason"]),
        disposal_due_on=_date(data["disposal_due_on"]),
        early_termination_reason=data.get("early_termination_reason"),
        disposal_deadline_on=_date(data.get("disposal_deadline_on")),
        disposal_action=None if data.get("disposal_action") is None else DisposalAction(data["disposal_action"]),
        retention_basis=None if data.get("retention_basis") is None else RetentionBasis(data["retention_basis"]),
    )


def read_disposal(payload: dict[str, Any]) -> CaseDisposal:
    data = payload["disposal"]
    return CaseDisposal(
        due_on=_date(data["due_on"]),
        deadline_on=_date(data["deadline_on"]),
        action=DisposalAction(data["action"]),
        basis=RetentionBasis(data["basis"]),
    )


def read_person_update(payload: dict[str, Any]) -> PersonContactUpdate:
    return PersonContactUpdate(**payload["update"])


def read_closing_entry(payload: dict[str, Any]) -> JournalEntry | None:
    """The closing journalanteckning sent with `case.closed`, if any."""
    return read_entry(payload) if payload.get("entry") else None


def read_person_ids(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """Our ids of the registration's person and guardian (`case.registered`), when given."""
    return payload.get("person_id"), payload.get("guardian_person_id")


# --- re-encoding (an operator's retry) ------------------------------------------------------


def with_plan(payload: dict[str, Any], plan: InterventionPlan, *, version: int | None = None) -> dict[str, Any]:
    """A `case.plan_set` payload carrying `plan` instead (e.g. the plan as it is now)."""
    out = {**payload, "plan": _json(fit_plan(plan))}
    if version is not None:
        out["version"] = version
    return out


def with_update(payload: dict[str, Any], update: PersonContactUpdate) -> dict[str, Any]:
    """A `person.updated` payload carrying `update` instead (the contact data as it is now)."""
    return {**payload, "update": _json(update)}


def refit(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as today's codec writes it: every record read back and fitted to the contract.

    A record that already fits comes back as the same record, so the journal system gets the
    same request and a part of the event it already applied replays under its Idempotency-Key;
    only a part it refused as too long (and so never applied) changes.
    """
    out = dict(payload)
    if "registration" in payload:
        out["registration"] = _json(fit_registration(read_registration(payload)))
    if payload.get("entry"):
        out["entry"] = _json(fit_entry(read_entry(payload)))
    if "plan" in payload:
        out["plan"] = _json(fit_plan(read_plan(payload)))
    if "closing" in payload:
        out["closing"] = _json(fit_closing(read_closing(payload)))
    return out
