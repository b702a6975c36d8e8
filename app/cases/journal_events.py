"""Journal-system events of a case, built from our rows as the port's records.

Only identified cases (SoL 14:3) ever get an event: an exempted case never leaves the
service. The payload codec is `app.journal.events` (one codec for writer and dispatcher). A
protected person's address is not stored, so it is never sent.

What is composed here fits the journal contract by construction (`app.journal.limits`): the
closing entry gives each free text a bounded share of the entry, a session's entry is one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import retention
from app.cases.models import CaseCodedEntryRow, CaseNoteRow, CasePlanRow, CaseRow, CaseSessionRow, PersonRow
from app.cases.policy import CODED_ENTRY_TEXTS, EARLY_TERMINATION_LABELS, CodedEntry, EarlyTerminationReason
from app.cases.protection import Contact
from app.catalog.domain import DocumentationRule
from app.disposal.policy import load_policies
from app.disposal.rules import CaseActivity, Verdict
from app.journal import events
from app.journal.limits import (
    EARLY_TERMINATION_REASON_MAX,
    ENTRY_TEXT_MAX,
    PARTICIPANT_VIEW_MAX,
    fit,
)
from app.journal.port import (
    CaseClosing,
    CaseDisposal,
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
    known: bool = True  # False: the register had no such person before this opening (no other case)
    cases: tuple[int, int] | None = None  # their open and closed cases before this opening, if read


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


def plan_record(plan: CasePlanRow) -> InterventionPlan:
    return InterventionPlan(
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


def plan_set(session: AsyncSession, case: CaseRow, plan: CasePlanRow) -> None:
    if _identified(case):
        events.plan_set(session, case.id, plan_record(plan), version=plan.version, committee=case.committee)


def session_recorded(session: AsyncSession, case: CaseRow, row: CaseSessionRow) -> None:
    cap = f" av {case.max_sessions}" if case.max_sessions else ""
    entry = JournalEntry(
        kind=EntryKind.execution,
        occurred_on=row.held_on,
        text=f"{SESSION_FORMS.get(row.form, 'Samtal')} {row.number}{cap} genomförd.",
    )
    if _identified(case):
        events.session_recorded(session, case.id, entry, session_id=row.id, number=row.number, committee=case.committee)


def coded_entry_added(session: AsyncSession, case: CaseRow, row: CaseCodedEntryRow) -> None:
    text = CODED_ENTRY_TEXTS[CodedEntry(row.code)]
    entry = JournalEntry(kind=EntryKind.event, occurred_on=row.occurred_on, text=text)
    if _identified(case):
        events.coded_entry_added(
            session, case.id, entry, coded_entry_id=row.id, code=row.code, committee=case.committee
        )


def _disposal(verdict: Verdict) -> CaseDisposal:
    return CaseDisposal(
        due_on=verdict.due_on, deadline_on=verdict.deadline_on, action=verdict.action, basis=verdict.basis
    )


async def file_reopened(
    session: AsyncSession, case: CaseRow, personnummer: str, cases: tuple[int, int] | None = None
) -> None:
    """A new case of the person: while it is open the file is not disposed of (SoL 16:1), so every
    closed case of the file loses its date, unless another open case had already taken it. One
    query when the person has no other case."""
    if not _identified(case):
        return
    assert case.person_id is not None
    if cases is not None and (cases[0] or not cases[1]):
        return  # the counts say it: another case is open already, or none is closed
    # Read before the new case is written (no flush of the request's rows for it), then counted in.
    with session.no_autoflush:
        files = await retention.person_files(session, case.committee, [case.person_id])
    file = files.get(case.person_id) or retention.PersonFile(personnummer)
    file.units.add(case.unit)
    file.activity.append(CaseActivity(last_entry_on=case.last_entry_on, open=True))
    file.open_cases += 1
    if file.open_cases == 1 and file.closed_cases:
        verdict = file.verdict(await load_policies(session, case.committee))
        for case_id in await retention.other_closed_cases(session, case):
            events.disposal_changed(session, case_id, _disposal(verdict), committee=case.committee)


async def case_closed(session: AsyncSession, case: CaseRow) -> None:
    """The closing with the file's disposal; when it was the file's last open case, the file's
    other closed cases get the (new) date too."""
    if not _identified(case):
        return
    assert case.closed_on is not None and case.closing_reason is not None and case.person_id is not None
    file = (await retention.person_files(session, case.committee, [case.person_id]))[case.person_id]
    verdict = file.verdict(await load_policies(session, case.committee))
    reason = ClosingReason(case.closing_reason)
    early = early_termination_text(case.early_termination_reason, case.early_termination_note)
    closing = CaseClosing(
        closed_on=case.closed_on,
        reason=reason,
        disposal_due_on=verdict.due_on,
        early_termination_reason=early,
        disposal_deadline_on=verdict.deadline_on,
        disposal_action=verdict.action,
        retention_basis=verdict.basis,
    )
    text = closing_entry_text(
        reason,
        early_termination=early,
        end_wellbeing=case.end_wellbeing,
        participant_satisfaction=case.participant_satisfaction,
        participant_view=case.participant_view,
    )
    entry = JournalEntry(kind=EntryKind.closing, occurred_on=case.closed_on, text=text)
    events.case_closed(session, case.id, closing, entry=entry, committee=case.committee)
    if file.open_cases == 0 and file.closed_cases > 1:  # the whole file is closed now: its date moved
        for case_id in await retention.other_closed_cases(session, case):
            events.disposal_changed(session, case_id, _disposal(verdict), committee=case.committee)


def closing_entry_text(
    reason: ClosingReason,
    *,
    early_termination: str | None,
    end_wellbeing: int | None,
    participant_satisfaction: int | None,
    participant_view: str | None,
) -> str:
    """The closing journalanteckning: at most `ENTRY_TEXT_MAX` characters whatever it is given.

    The fixed sentences take less than `CLOSING_ENTRY_RESERVE`; the early-termination text is
    bounded like the closing's own field and the participant's view by what remains, so text
    the API accepted is never cut. Only longer text (stored before these limits) is shortened,
    visibly (`TRUNCATION_MARK`).
    """
    lines = [CLOSING_REASONS[reason]]
    if early_termination:
        lines.append(f"Orsak till avbrott: {fit(early_termination, EARLY_TERMINATION_REASON_MAX)}")
    if end_wellbeing is not None:
        lines.append(f"Skattat mående vid avslut: {end_wellbeing} av 5.")
    if participant_satisfaction is not None:
        lines.append(f"Den enskildes skattning av insatsen: {participant_satisfaction} av 5.")
    if participant_view:
        lines.append(f"Den enskildes uppfattning: {fit(participant_view, PARTICIPANT_VIEW_MAX)}")
    return fit("\n".join(lines), ENTRY_TEXT_MAX)


def early_termination_text(code: str | None, note: str | None) -> str | None:
    """What the journal system gets as the reason for an early end: the code's Swedish label, then
    the note (bounded: the label takes at most `EARLY_TERMINATION_LABEL_RESERVE` of the field)."""
    if not code:
        return None
    label = EARLY_TERMINATION_LABELS[EarlyTerminationReason(code)]
    return fit(f"{label}. {note}" if note else label, EARLY_TERMINATION_REASON_MAX)


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


async def current_payload(session: AsyncSession, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """An event's payload rebuilt from the rows as they are now (an operator's retry after an edit).

    Only for the plan (`case.plan_set`): a snapshot of one row the API can change and the journal
    system replaces as a whole. None for other kinds and when the plan is gone: the rows of
    entries and closings never change after their event, and a corrected person is sent by the
    correction's own `person.updated` event (skip the dead one as superseded).
    """
    if kind == events.EventKind.plan_set:
        plan = await session.get(CasePlanRow, payload.get("case_id"))
        return None if plan is None else events.with_plan(payload, plan_record(plan), version=plan.version)
    return None
