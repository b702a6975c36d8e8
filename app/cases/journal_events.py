"""Journal-system events of a case, built from our rows as the port's records.

Only identified cases (SoL 14:3) ever get an event: an exempted case never leaves the
service. The payload codec is `app.journal.events` (one codec for writer and dispatcher). A
protected person's address is not stored, so it is never sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import CaseNoteRow, CasePlanRow, CaseRow, CaseSessionRow, PersonRow
from app.cases.protection import Contact
from app.catalog.domain import DocumentationRule
from app.journal import events
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
    ProcessSteps,
)

SESSION_FORMS = {"conversation": "Samtal", "meeting": "Träff", "group_meeting": "Gruppträff"}
CLOSING_REASONS = {
    ClosingReason.completed: "Insatsen är genomförd.",
    ClosingReason.ended_early: "Insatsen avbröts i förtid.",
    ClosingReason.transferred_to_needs_assessed: "Övergår till behovsprövad insats.",
    ClosingReason.other: "Annan orsak.",
}


@dataclass(frozen=True, slots=True)
class RegisteredPerson:
    """A person an opening registered: our id, and the record the journal system is sent.

    The record carries the register's current name (an opening never renames the person, in the
    journal system either), its protection, and the contact details this opening gave (the
    journal system's upsert adds them and clears nothing; never a protected person's address).
    """

    id: str
    record: PersonRecord


def _identified(case: CaseRow) -> bool:
    return DocumentationRule(case.documentation_rule).keeps_identity


def case_registered(
    session: AsyncSession, case: CaseRow, person: RegisteredPerson, guardian: RegisteredPerson | None
) -> None:
    registration = CaseRegistration(
        person=person.record,
        unit=case.unit,
        intervention_id=case.intervention_id,
        intervention_name=case.intervention_name,
        process_steps=cast(ProcessSteps, case.process_steps),
        opened_on=case.opened_on,
        guardian=None if guardian is None else guardian.record,
    )
    if _identified(case):
        events.case_registered(
            session,
            case.id,
            registration,
            person_id=person.id,
            guardian_person_id=None if guardian is None else guardian.id,
            committee=case.committee,
        )


def note_added(session: AsyncSession, case: CaseRow, note: CaseNoteRow) -> None:
    entry = JournalEntry(kind=EntryKind(note.kind), occurred_on=note.occurred_on, text=note.text)
    if _identified(case):
        events.note_added(session, case.id, entry, note_id=note.id, committee=case.committee)


def plan_set(session: AsyncSession, case: CaseRow, plan: CasePlanRow) -> None:
    record = InterventionPlan(
        starts_on=plan.starts_on,
        description=plan.description,
        responsible_contact=plan.responsible_contact,
        follow_up_on=plan.follow_up_on,
        time_frame=plan.time_frame,
        reason_for_seeking=plan.reason_for_seeking,
        goals=plan.goals,
        form=plan.form,
        frequency=plan.frequency,
        follow_up=plan.follow_up,
        reason_for_closing=plan.reason_for_closing,
        personal=PlanPersonal(next_of_kin=(plan.personal or {}).get("next_of_kin")),
    )
    if _identified(case):
        events.plan_set(session, case.id, record, version=plan.version, committee=case.committee)


def session_recorded(session: AsyncSession, case: CaseRow, row: CaseSessionRow) -> None:
    cap = f" av {case.max_sessions}" if case.max_sessions else ""
    entry = JournalEntry(
        kind=EntryKind.execution,
        occurred_on=row.held_on,
        text=f"{SESSION_FORMS.get(row.form, 'Samtal')} {row.number}{cap} genomförd.",
    )
    if _identified(case):
        events.session_recorded(session, case.id, entry, session_id=row.id, number=row.number, committee=case.committee)


def case_closed(session: AsyncSession, case: CaseRow) -> None:
    if not _identified(case):
        return
    assert case.closed_on is not None and case.closing_reason is not None and case.disposal_due_on is not None
    reason = ClosingReason(case.closing_reason)
    closing = CaseClosing(
        closed_on=case.closed_on,
        reason=reason,
        disposal_due_on=case.disposal_due_on,
        early_termination_reason=case.early_termination_reason,
    )
    lines = [CLOSING_REASONS[reason]]
    if case.early_termination_reason:
        lines.append(f"Orsak till avbrott: {case.early_termination_reason}")
    if case.end_wellbeing is not None:
        lines.append(f"Skattat mående vid avslut: {case.end_wellbeing} av 5.")
    if case.participant_satisfaction is not None:
        lines.append(f"Den enskildes skattning av insatsen: {case.participant_satisfaction} av 5.")
    if case.participant_view:
        lines.append(f"Den enskildes uppfattning: {case.participant_view}")
    entry = JournalEntry(kind=EntryKind.closing, occurred_on=case.closed_on, text="\n".join(lines))
    events.case_closed(session, case.id, closing, entry=entry, committee=case.committee)


def person_updated(session: AsyncSession, person: PersonRow, contact: Contact) -> None:
    """The person as the journal system keeps them after a change (`protection.journal_contact`)."""
    update = PersonContactUpdate(
        name=person.name,
        address=None if person.protected_identity else contact.address,
        phone=contact.phone,
        email=contact.email,
        protected_identity=person.protected_identity,
    )
    events.person_updated(session, person.id, update, committee=person.committee)
