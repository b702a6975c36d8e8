"""Case use cases: open, notes, plan, sessions, close, read. Never commits (one request, one transaction).

Identity protection happens here, before the first row is built: what an exempted case may
hold is decided by `protection` and `policy`, and the rows of case data have no identity
columns. Identified cases (SoL 14:3) get journal-system events and audit rows in the same
transaction; anonymous cases get neither.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import journal_events
from app.cases.audit import Action, AuditTrail
from app.cases.models import CaseNoteRow, CasePlanRow, CaseRow, CaseSessionRow, UnitProcessRow
from app.cases.persons import PersonRegistry
from app.cases.policy import (
    CaseClosed,
    CaseStatus,
    IllegalTransition,
    SessionCapReached,
    Step,
    age_from_birth_year,
    check_session_cap,
    identity_for,
    new_participant_code,
    next_status,
    registered_on,
    step_of_note,
)
from app.cases.problems import (
    CASE_CLOSED,
    ILLEGAL_TRANSITION,
    INTERVENTION_NOT_OFFERED,
    SESSION_CAP_REACHED,
    invalid_fields,
)
from app.cases.protection import PersonIdentity, Scrubber, dropped_identity, known_identity
from app.cases.redaction import Redaction
from app.cases.repository import CaseRepository
from app.cases.retention import disposal_due_on, last_entry_on
from app.cases.schemas import CaseOpenIn, CloseIn, IdentityIn, NoteAddIn, NoteIn, ParticipantIn, PlanIn, SessionIn
from app.catalog.domain import DocumentationRule
from app.catalog.snapshot import CatalogSnapshot
from app.core.auth import Caller
from app.core.db import new_id
from app.core.errors import NOT_FOUND, ProblemError
from app.journal.port import EntryKind
from app.kit.clock import today
from app.kit.personnummer import InvalidIdentityNumber, parse_identity_number

DEFAULT_PROCESS_STEPS = 3


@dataclass
class Written:
    """A case after a write, with what the request removed and the entry it added."""

    case: CaseRow
    redactions: list[Redaction] = field(default_factory=list)
    notes: list[CaseNoteRow] = field(default_factory=list)
    plan: CasePlanRow | None = None
    session: CaseSessionRow | None = None


def _not_found() -> ProblemError:
    # Another unit's case is answered exactly like a case that does not exist.
    return ProblemError(NOT_FOUND, "No case with this id is visible to the calling unit.")


def _dated(field_name: str, day: dt.date, *, not_before: dt.date, what: str) -> list[tuple[str, str, str]]:
    if day > today():
        return [(field_name, "date_in_future", "the date cannot be in the future")]
    if day < not_before:
        return [(field_name, "date_before_" + what, f"the date cannot precede the {what.replace('_', ' ')}")]
    return []


class CaseService:
    def __init__(self, session: AsyncSession, caller: Caller, audit: AuditTrail) -> None:
        self.session = session
        self.caller = caller
        self.cases = CaseRepository(session)
        self.persons = PersonRegistry(session, caller, audit)
        self.audit = audit

    # --- reads -----------------------------------------------------------------------------------

    async def get(self, case_id: str) -> CaseRow:
        case = await self.cases.get(case_id, self.caller, with_entries=True)
        if case is None:
            raise _not_found()
        self._audit(Action.case_read, case)
        return case

    async def page(
        self,
        *,
        status: str | None,
        intervention_id: str | None,
        participant_code: str | None,
        after: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> tuple[list[CaseRow], bool]:
        rows = await self.cases.page(
            self.caller,
            status=status,
            intervention_id=intervention_id,
            participant_code=participant_code,
            after=after,
            limit=limit + 1,
        )
        for case in rows[:limit]:
            self._audit(Action.case_read, case)
        return rows[:limit], len(rows) > limit

    # --- unit process ----------------------------------------------------------------------------

    async def process_steps(self) -> int:
        row = await self.cases.unit_process(self.caller)
        return DEFAULT_PROCESS_STEPS if row is None else row.process_steps

    async def set_process_steps(self, steps: int) -> int:
        """Applies to cases opened from now on: an open case keeps the process it was opened with."""
        row = await self.cases.unit_process(self.caller)
        if row is None:
            self.cases.add(UnitProcessRow(committee=self.caller.committee, unit=self.caller.unit, process_steps=steps))
        else:
            row.process_steps = steps
        return steps

    # --- open ------------------------------------------------------------------------------------

    async def open(self, body: CaseOpenIn, catalog: CatalogSnapshot) -> Written:
        opened_on = body.opened_on or today()
        errors = _dated("opened_on", opened_on, not_before=dt.date.min, what="opening")
        for i, note in enumerate(body.notes):
            errors += _dated(f"notes[{i}].occurred_on", note.occurred_on, not_before=opened_on, what="opening_date")
        if errors:
            raise invalid_fields(*errors)
        offered = catalog.find(self.caller.committee, body.intervention_id, opened_on)
        if offered is None:
            raise ProblemError(INTERVENTION_NOT_OFFERED, "The committee offers no such intervention on that date.")
        intervention = offered.intervention
        rule, subject_rule = intervention.documentation_rule, intervention.subject_rule
        identity = identity_for(rule)
        case = CaseRow(
            id=new_id(),
            committee=self.caller.committee,
            unit=self.caller.unit,
            intervention_id=intervention.id,
            intervention_name=intervention.name,
            decision_id=offered.decision_id,
            documentation_rule=rule.value,
            subject_rule=subject_rule.value,
            max_sessions=intervention.conditions.max_sessions,
            process_steps=await self.process_steps(),
            identity=identity.value,
            registered_on=(r.value if (r := registered_on(rule, subject_rule)) else None),
            participant_gender=body.participant.gender,
            participant_role=body.participant.role,
            start_wellbeing=body.start_assessment.wellbeing,
            start_social_situation=[s.value for s in body.start_assessment.social_situation],
            end_social_situation=[],
            informed_of_right_to_apply=body.informed_of_right_to_apply,
            informed_of_documentation=body.informed_of_documentation,
            status=CaseStatus.registered.value,
            opened_on=opened_on,
            session_count=0,
            last_entry_on=opened_on,
            created_by=self.caller.sub,
        )
        subject = body.subject.to_domain() if body.subject else None
        child = body.child.to_domain() if body.child else None
        scrubber = Scrubber(rule, known_identity([p for p in (subject, child) if p is not None]))
        registered = None
        if rule.keeps_identity:
            registered = await self.persons.register(subject, child, subject_rule, opened_on, scrubber)
            case.person_id = registered.person.id
            case.guardian_person_id = None if registered.guardian is None else registered.guardian.id
        else:
            case.participant_code = new_participant_code()
            scrubber.redactions += dropped_identity("subject", subject, rule)
            scrubber.redactions += dropped_identity("child", child, rule)
        # The one who takes part is the subject (for a parent-targeted case, the guardian).
        case.participant_age = _participant_age(body.participant, opened_on, subject, scrubber)
        self.cases.add(case)
        notes = [self._note(case, given, f"notes[{i}].text", scrubber) for i, given in enumerate(body.notes)]
        for row in sorted(notes, key=lambda n: n.occurred_on):
            self._move(case, step_of_note(EntryKind(row.kind)))
        self._touch(case, [n.occurred_on for n in notes])
        await self.session.flush()  # the case row exists before anything refers to it
        if registered is not None:
            journal_events.case_registered(self.session, case, registered.person, registered.guardian)
            for row in notes:
                journal_events.note_added(self.session, case, row)
        self._audit(Action.case_opened, case)
        return Written(case, scrubber.redactions, notes=notes)

    # --- entries ---------------------------------------------------------------------------------

    async def add_note(self, case_id: str, body: NoteAddIn) -> Written:
        case = await self._open_case(case_id)
        errors = _dated("occurred_on", body.occurred_on, not_before=case.opened_on, what="opening_date")
        if errors:
            raise invalid_fields(*errors)
        scrubber = self._scrubber(case, body.known_identity)
        note = self._note(case, body, "text", scrubber)
        self._move(case, step_of_note(EntryKind(note.kind)))
        self._touch(case, [note.occurred_on])
        journal_events.note_added(self.session, case, note)
        self._audit(Action.case_note_added, case)
        return Written(case, scrubber.redactions, notes=[note])

    async def set_plan(self, case_id: str, body: PlanIn) -> Written:
        case = await self._open_case(case_id)
        drawn_up_on = body.drawn_up_on or today()
        errors = _dated("drawn_up_on", drawn_up_on, not_before=case.opened_on, what="opening_date")
        if errors:
            raise invalid_fields(*errors)
        scrubber = self._scrubber(case, body.known_identity)
        personal = None
        if body.personal is not None and body.personal.next_of_kin:
            if scrubber.exempt:  # 1. Personuppgifter: identified cases only (SoL 14:4, 14:5)
                scrubber.drop("personal.next_of_kin", "next_of_kin")
            else:
                personal = {"next_of_kin": body.personal.next_of_kin}
        values = {
            "drawn_up_on": drawn_up_on,
            "starts_on": body.starts_on,
            "follow_up_on": body.follow_up_on,
            "personal": personal,
            **{
                name: scrubber.text(getattr(body, name), name)
                for name in (
                    "time_frame",
                    "description",
                    "responsible_contact",
                    "reason_for_seeking",
                    "goals",
                    "form",
                    "frequency",
                    "follow_up",
                    "reason_for_closing",
                )
            },
        }
        plan = await self.cases.plan_of(case.id)
        if plan is None:
            plan = CasePlanRow(case_id=case.id, version=1, **values)
            self.cases.add(plan)
        else:
            for name, value in values.items():
                setattr(plan, name, value)
            plan.version += 1
        self._move(case, Step.plan)
        self._touch(case, [drawn_up_on])
        journal_events.plan_set(self.session, case, plan)
        self._audit(Action.case_plan_set, case)
        return Written(case, scrubber.redactions, plan=plan)

    async def record_session(self, case_id: str, body: SessionIn) -> Written:
        case = await self._open_case(case_id)
        errors = _dated("held_on", body.held_on, not_before=case.opened_on, what="opening_date")
        if errors:
            raise invalid_fields(*errors)
        try:
            number = check_session_cap(case.session_count, case.max_sessions)
        except SessionCapReached:
            raise ProblemError(
                SESSION_CAP_REACHED,
                f"The committee's decision allows {case.max_sessions} sessions for this intervention. Further "
                "support needs a needs-assessed intervention (behovsprövad insats): the person can apply to "
                "the social services.",
                max_sessions=case.max_sessions,
            ) from None
        row = CaseSessionRow(
            id=new_id(),
            case_id=case.id,
            number=number,
            held_on=body.held_on,
            form=body.form.value,
            recorded_by=self.caller.sub,
        )
        self.cases.add(row)
        case.session_count = number
        self._move(case, Step.carry_out)
        self._touch(case, [body.held_on])
        journal_events.session_recorded(self.session, case, row)
        self._audit(Action.case_session_recorded, case)
        return Written(case, session=row)

    async def close(self, case_id: str, body: CloseIn) -> Written:
        case = await self._open_case(case_id)
        errors = _dated("closed_on", body.closed_on, not_before=case.last_entry_on, what="last_entry")
        if errors:
            raise invalid_fields(*errors)
        scrubber = self._scrubber(case, body.known_identity)
        self._move(case, Step.close)
        case.closed_on = body.closed_on
        case.closing_reason = body.reason.value
        case.early_termination_reason = scrubber.text(body.early_termination_reason, "early_termination_reason")
        case.end_wellbeing = body.end_assessment.wellbeing
        case.end_social_situation = [s.value for s in body.end_assessment.social_situation]
        case.participant_satisfaction = body.participant_view.satisfaction
        case.participant_view = scrubber.text(body.participant_view.comment, "participant_view.comment")
        self._touch(case, [body.closed_on])
        journal_events.case_closed(self.session, case)
        self._audit(Action.case_closed, case)
        return Written(case, scrubber.redactions)

    # --- helpers ---------------------------------------------------------------------------------

    async def _open_case(self, case_id: str) -> CaseRow:
        case = await self.cases.get(case_id, self.caller, for_update=True)
        if case is None:
            raise _not_found()
        if case.status == CaseStatus.closed:
            raise ProblemError(CASE_CLOSED, "The case is closed; it takes no further entries.")
        return case

    def _scrubber(self, case: CaseRow, known: list[IdentityIn]) -> Scrubber:
        rule = DocumentationRule(case.documentation_rule)
        return Scrubber(rule, known_identity([k.to_domain() for k in known]))

    def _note(self, case: CaseRow, note: NoteIn, path: str, scrubber: Scrubber) -> CaseNoteRow:
        row = CaseNoteRow(
            id=new_id(),
            case_id=case.id,
            kind=note.kind.value,
            occurred_on=note.occurred_on,
            text=scrubber.text(note.text, path) or "",
            recorded_by=self.caller.sub,
        )
        self.cases.add(row)
        return row

    def _move(self, case: CaseRow, step: Step) -> None:
        try:
            case.status = next_status(CaseStatus(case.status), step, case.process_steps).value
        except CaseClosed:
            raise ProblemError(CASE_CLOSED, "The case is closed; it takes no further entries.") from None
        except IllegalTransition as exc:
            raise ProblemError(
                ILLEGAL_TRANSITION,
                f"Not allowed in a {case.process_steps}-step process: {exc}.",
                status_now=case.status,
            ) from None

    def _touch(self, case: CaseRow, dates: list[dt.date]) -> None:
        # SoL 16:1 — the retention runs from the last entry, so every entry moves it.
        case.last_entry_on = last_entry_on([case.last_entry_on, *dates])
        case.disposal_due_on = disposal_due_on(case.last_entry_on, DocumentationRule(case.documentation_rule))

    def _audit(self, action: Action, case: CaseRow) -> None:
        if case.person_id is not None:  # identified cases only: anonymous ones hold no personal data
            self.audit.record(action, case_id=case.id, person_ids=[case.person_id, case.guardian_person_id])


def _participant_age(
    participant: ParticipantIn, on: dt.date, subject: PersonIdentity | None, scrubber: Scrubber
) -> int | None:
    """Age, never a birth date: as given, else from the birth year, else from the personnummer."""
    if participant.birth_year is not None:
        scrubber.drop("participant.birth_year", "birth_year")
    if participant.age is not None:
        return participant.age
    if participant.birth_year is not None:
        try:
            return age_from_birth_year(participant.birth_year, on)
        except ValueError:
            raise invalid_fields(
                ("participant.birth_year", "birth_year_after_opening", "the birth year is after the opening date")
            ) from None
    if subject is not None and subject.personnummer:
        try:
            return parse_identity_number(subject.personnummer, today=on).age_on(on)
        except InvalidIdentityNumber:
            return None
    return None
