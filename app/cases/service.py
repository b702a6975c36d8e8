"""Case use cases: open, notes, plan, sessions, close, read. Never commits (one request, one transaction).

Identity protection happens here, before the first row is built: what an exempted case may
hold is decided by `protection` and `policy`, and the rows of case data have no identity
columns. Identified cases (SoL 14:3) get journal-system events and audit rows in the same
transaction; anonymous cases get neither.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import journal_events
from app.cases.audit import Action, AuditTrail
from app.cases.models import (
    CaseCodedEntryRow,
    CaseNoteRow,
    CasePlanRow,
    CasePlanVersionRow,
    CaseRow,
    CaseSessionRow,
    PersonRow,
    UnitProcessRow,
)
from app.cases.opening import conditions_not_met, exempt_requirements, opening_facts
from app.cases.persons import PersonRegistry
from app.cases.policy import (
    CaseClosed,
    CaseStatus,
    Identity,
    IllegalTransition,
    SessionCapReached,
    Step,
    cap_window_start,
    check_session_cap,
    identity_for,
    new_participant_code,
    next_status,
    registered_on,
    step_of_note,
)
from app.cases.problems import (
    CASE_ALREADY_OPEN,
    CASE_CLOSED,
    ILLEGAL_TRANSITION,
    INTERVENTION_NOT_OFFERED,
    SESSION_CAP_REACHED,
    invalid_fields,
)
from app.cases.processes import UnitProcesses
from app.cases.protection import Scrubber, dropped_identity, known_identity
from app.cases.redaction import Redaction
from app.cases.repository import AFTER_AN_ENTRY, CaseRepository, after_an_entry_params
from app.cases.retention import last_entry_on
from app.cases.schemas import CaseOpenIn, CloseIn, CodedEntryIn, IdentityIn, NoteAddIn, NoteIn, PlanIn, SessionIn
from app.catalog.domain import DocumentationRule
from app.catalog.snapshot import CatalogSnapshot
from app.core.auth import Caller
from app.core.batch import RowKey, write_pending
from app.core.db import new_id, statements_alone
from app.core.errors import CONFLICT, NOT_FOUND, ProblemError
from app.eligibility.rules import Verdict
from app.eligibility.service import EligibilityService
from app.journal.links import SyncState, state_of
from app.journal.port import EntryKind
from app.kit.clock import now, today

# The session cap counts the person's sessions of the intervention in cases opened this far back.
DEFAULT_CAP_WINDOW_MONTHS = 12
# A write guarded by the version of the case it read is tried this often while the case keeps
# changing under it (each failed try means another write to the case succeeded).
GUARDED_ATTEMPTS = 20


@dataclass
class Written:
    """A case after a write, with what the request removed and the entry it added."""

    case: CaseRow
    redactions: list[Redaction] = field(default_factory=list)
    notes: list[CaseNoteRow] = field(default_factory=list)
    plan: CasePlanRow | None = None
    session: CaseSessionRow | None = None
    coded_entry: CaseCodedEntryRow | None = None
    verdict: Verdict | None = None  # the summary check an opening passed
    # The case's delivery state and journal reference, when the write already knows them.
    journal: tuple[SyncState, str | None] | None = None
    journal_known: bool = False
    personnummer: str | None = None  # the number of the person whose file the case is in, when at hand


def _not_found() -> ProblemError:
    # Another unit's case is answered exactly like a case that does not exist.
    return ProblemError(NOT_FOUND, "No case with this id is visible to the calling unit.")


def _one_statement(body: CaseOpenIn) -> bool:
    """Whether an opening's writes fit one statement: no child, and a subject (if any) with no
    contact details and no protection to raise (those take statements of their own)."""
    subject = body.subject
    if body.child is not None:
        return False
    if subject is None:
        return True
    given = (subject.address, subject.phone, subject.email)
    return not subject.protected_identity and not any((value or "").strip() for value in given)


def _kept_changing() -> ProblemError:
    return ProblemError(
        CONFLICT,
        "What the request writes kept changing while it was written; nothing was written. Retry.",
        headers={"Retry-After": "1"},
    )


def _taking_entries(case: CaseRow) -> CaseRow:
    """The case, if it still takes entries (it is not closed)."""
    if case.status == CaseStatus.closed:
        raise ProblemError(CASE_CLOSED, "The case is closed; it takes no further entries.")
    return case


def _dated(field_name: str, day: dt.date, *, not_before: dt.date, what: str) -> list[tuple[str, str, str]]:
    if day > today():
        return [(field_name, "date_in_future", "the date cannot be in the future")]
    if day < not_before:
        return [(field_name, "date_before_" + what, f"the date cannot precede the {what.replace('_', ' ')}")]
    return []


class CaseService:
    def __init__(
        self,
        session: AsyncSession,
        caller: Caller,
        audit: AuditTrail,
        *,
        cap_window_months: int = DEFAULT_CAP_WINDOW_MONTHS,
        processes: UnitProcesses | None = None,
    ) -> None:
        self.session = session
        self.caller = caller
        self.cases = CaseRepository(session)
        self.persons = PersonRegistry(session, caller, audit)
        self.audit = audit
        self.cap_window_months = cap_window_months
        self.processes = processes or UnitProcesses()

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
        # One audit row for the page, naming every identified case on it (and their persons).
        self.audit.record_page(
            Action.case_listed,
            [(c.id, [c.person_id, c.guardian_person_id]) for c in rows[:limit] if c.person_id is not None],
        )
        return rows[:limit], len(rows) > limit

    # --- unit process ----------------------------------------------------------------------------

    async def process_steps(self) -> int:
        """The unit's choice, from memory (read from the database once)."""
        return await self.processes.steps(self.session, self.caller.committee, self.caller.unit)

    async def set_process_steps(self, steps: int) -> int:
        """Applies to cases opened from now on: an open case keeps the process it was opened with."""
        row = await self.cases.unit_process(self.caller)
        if row is None:
            self.cases.add(UnitProcessRow(committee=self.caller.committee, unit=self.caller.unit, process_steps=steps))
        else:
            row.process_steps = steps
        self.processes.changed(self.session, self.caller.committee, self.caller.unit, steps)
        return steps

    # --- open ------------------------------------------------------------------------------------

    async def open(self, body: CaseOpenIn, catalog: CatalogSnapshot, *, alone: bool = False) -> Written:
        """`alone`: the opening is all the request writes (no idempotency record commits with it).
        On PostgreSQL, when its writes fit one statement (at most the subject registered, with no
        contact details and no protection to raise), that statement is its own transaction: the
        person is read unlocked, and the case with everything else is written only if the person
        is still as read (else it is all done again), so the request costs two round trips, not a
        BEGIN, the upsert, the write and a COMMIT."""
        if alone and _one_statement(body) and await statements_alone(self.session):
            for _attempt in range(GUARDED_ATTEMPTS):
                written = await self._open(body, catalog, guarded=True)
                if written is not None:
                    return written
            raise _kept_changing()
        written = await self._open(body, catalog, guarded=False)
        assert written is not None  # an unguarded write always happens
        return written

    async def _open(self, body: CaseOpenIn, catalog: CatalogSnapshot, *, guarded: bool) -> Written | None:
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
        subject = body.subject.to_domain() if body.subject else None
        child = body.child.to_domain() if body.child else None
        # The one who takes part is the subject (for a parent-targeted case, the guardian).
        opening = opening_facts(body, subject, child, opened_on)
        if not rule.keeps_identity and (missing := exempt_requirements(body, opening.age)):
            raise invalid_fields(*missing)
        # SoL 11:5 (seed 001 "Villkor"): the provider's summary check, the same one the eligibility
        # endpoint answers, decides before anything is written.
        verdict = EligibilityService(catalog).verdict(offered, opening.facts)
        if verdict.refuses_opening:
            raise conditions_not_met(verdict, opening)

        identity = identity_for(rule)
        consents = list(dict.fromkeys(body.guardian_consents))
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
            participant_gender=None if body.participant.gender is None else body.participant.gender.value,
            participant_age=opening.age,
            participant_role=body.participant.role,
            start_wellbeing=body.start_assessment.wellbeing,
            start_social_situation=[s.value for s in body.start_assessment.social_situation],
            end_social_situation=[],
            informed_of_right_to_apply=body.informed_of_right_to_apply,
            informed_of_documentation=body.informed_of_documentation,
            guardian_consent=body.consent_given,
            guardian_consents=consents or None,
            status=CaseStatus.registered.value,
            opened_on=opened_on,
            session_count=0,
            last_entry_on=opened_on,
            created_by=self.caller.sub,
        )
        scrubber = Scrubber(rule, known_identity([p for p in (subject, child) if p is not None]))
        if body.participant.birth_year is not None:
            scrubber.drop("participant.birth_year", "birth_year")  # age only, never a birth year
        registered = None
        if rule.keeps_identity:
            registered = await self.persons.register(subject, child, subject_rule, opened_on, scrubber, guarded=guarded)
            case.person_id = registered.person.id
            case.guardian_person_id = None if registered.guardian is None else registered.guardian.id
        else:
            case.participant_code = new_participant_code()
            scrubber.redactions += dropped_identity("subject", subject, rule)
            scrubber.redactions += dropped_identity("child", child, rule)
        self.cases.add(case)
        notes = [self._note(case, given, f"notes[{i}].text", scrubber) for i, given in enumerate(body.notes)]
        for row in sorted(notes, key=lambda n: n.occurred_on):
            self._move(case, step_of_note(EntryKind(row.kind)))
        self._touch(case, [n.occurred_on for n in notes])
        if registered is not None:
            journal_events.case_registered(self.session, case, registered.person, registered.guardian)
            if registered.person.known:  # a person new to the register has no other case to reopen
                person = registered.person
                await journal_events.file_reopened(self.session, case, person.record.personnummer, person.cases)
            for row in notes:
                journal_events.note_added(self.session, case, row)
        self._audit(Action.case_opened, case)
        # Case, notes, events and audit rows (and a guarded registration): one round trip.
        if not await self._insert_running(case, None if registered is None else registered.guard):
            return None
        # Nothing of a new case has been delivered: an identified one waits in the outbox.
        journal: tuple[SyncState, str | None] | None = ("pending", None) if registered is not None else None
        number = None if registered is None else registered.person.record.personnummer
        return Written(
            case,
            scrubber.redactions,
            notes=notes,
            verdict=verdict,
            journal=journal,
            journal_known=True,
            personnummer=number,
        )

    async def _insert_running(self, case: CaseRow, guard: tuple[PersonRow | RowKey, str | None] | None) -> bool:
        """Write the new case and what came with it; a second running case of the person is refused
        by the database. Answers whether it was written (only a guarded write may not be).

        The partial unique index decides (race-safe, and no extra query on the way in); only when it
        refuses is the running case looked up, to name it in the 409.
        """
        person_id, intervention_id = case.person_id, case.intervention_id
        try:
            result = await write_pending(self.session, guard=guard)
        except IntegrityError:
            if person_id is None:
                raise
            await self.session.rollback()  # nothing of this request is kept: the transaction failed
            running = await self.cases.running_case_id(self.caller, intervention_id, person_id)
            if running is None:
                raise
            raise ProblemError(
                CASE_ALREADY_OPEN,
                "The person already has a running case of this intervention in the unit; nothing was written.",
                case_id=running,
            ) from None
        return guard is None or (result is not None and bool(result.one().guard_held))

    # --- entries ---------------------------------------------------------------------------------

    async def add_note(self, case_id: str, body: NoteAddIn, *, alone: bool = False) -> Written:
        """`alone`: the note is all the request writes (no idempotency record commits with it).
        On PostgreSQL it is then one statement that is its own transaction: the case is read
        without a lock, and the note, the case's new state, the event and the audit row are
        written only if the case is still as read (else it is read again), so the request costs
        two round trips, not a BEGIN, a locking read, the write and a COMMIT."""
        if alone and await statements_alone(self.session):
            for _attempt in range(GUARDED_ATTEMPTS):
                found = await self.cases.get_versioned(case_id, self.caller)
                if found is None:
                    raise _not_found()
                written = await self._add_note(_taking_entries(found[0]), body, found[1])
                if written is not None:
                    return written
            raise _kept_changing()
        written = await self._add_note(await self._open_case(case_id), body, None)
        assert written is not None  # an unguarded write always happens
        return written

    async def _add_note(self, case: CaseRow, body: NoteAddIn, version: str | None) -> Written | None:
        """The note on `case`, locked, or read unlocked as `version` (None when the case changed
        since: nothing was written)."""
        errors = _dated("occurred_on", body.occurred_on, not_before=case.opened_on, what="opening_date")
        if errors:
            raise invalid_fields(*errors)
        scrubber = self._scrubber(case, body.known_identity)
        note = self._note(case, body, "text", scrubber)
        self._move(case, step_of_note(EntryKind(note.kind)))
        self._touch(case, [note.occurred_on])
        journal_events.note_added(self.session, case, note)
        self._audit(Action.case_note_added, case)
        # The note, the case's new state, the event and the audit row, and the case's delivery
        # state, in one round trip.
        identified = case.identity == Identity.identified
        then = AFTER_AN_ENTRY if identified else None
        guard = None if version is None else (case, version)
        result = await write_pending(self.session, then, after_an_entry_params(case), guard=guard)
        row = None if result is None else result.one()
        if guard is not None and not (row is not None and row.guard_held):
            return None
        journal = state_of(row) if identified and row is not None else None
        number = row.personnummer if identified and row is not None else None
        return Written(
            case, scrubber.redactions, notes=[note], journal=journal, journal_known=True, personnummer=number
        )

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
        # Seed 004 bilaga 3: the plan keeps its history; every version is kept with who and when.
        self.cases.add(
            CasePlanVersionRow(
                case_id=case.id, version=plan.version, recorded_by=self.caller.sub, recorded_at=now(), **values
            )
        )
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
        earlier = 0
        if case.max_sessions is not None and case.person_id is not None:
            # The cap is the person's, not the case's: a new case does not start it again.
            since = cap_window_start(body.held_on, self.cap_window_months)
            earlier = await self.cases.earlier_sessions(self.caller, case, since)
        try:
            number = check_session_cap(case.session_count, case.max_sessions, earlier)
        except SessionCapReached:
            raise ProblemError(
                SESSION_CAP_REACHED,
                f"The committee's decision allows {case.max_sessions} sessions for this intervention. Further "
                "support needs a needs-assessed intervention (behovsprövad insats): the person can apply to "
                "the social services.",
                max_sessions=case.max_sessions,
                sessions_in_earlier_cases=earlier,
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
        # Seeds 002, 003: why an intervention ended early is always documented, as a code.
        early = body.early_termination_reason
        case.early_termination_reason = None if early is None else early.value
        note = scrubber.text(body.early_termination_note, "early_termination_note")
        case.early_termination_note = note if note and note.strip() else None
        case.end_wellbeing = body.end_assessment.wellbeing
        case.end_social_situation = [s.value for s in body.end_assessment.social_situation]
        case.participant_satisfaction = body.participant_view.satisfaction
        case.participant_view = scrubber.text(body.participant_view.comment, "participant_view.comment")
        self._touch(case, [body.closed_on])
        await journal_events.case_closed(self.session, case)
        self._audit(Action.case_closed, case)
        return Written(case, scrubber.redactions)

    async def add_coded_entry(self, case_id: str, body: CodedEntryIn) -> Written:
        """Seed 004: a concern reported for a child, or the person helped towards the needs-assessed route."""
        case = await self._open_case(case_id)
        errors = _dated("occurred_on", body.occurred_on, not_before=case.opened_on, what="opening_date")
        if errors:
            raise invalid_fields(*errors)
        row = CaseCodedEntryRow(
            id=new_id(),
            case_id=case.id,
            code=body.code.value,
            occurred_on=body.occurred_on,
            recorded_by=self.caller.sub,
        )
        self.cases.add(row)
        self._touch(case, [body.occurred_on])
        journal_events.coded_entry_added(self.session, case, row)
        self._audit(Action.case_coded_entry_added, case)
        return Written(case, coded_entry=row)

    async def plan_versions(self, case_id: str) -> list[CasePlanVersionRow]:
        case = await self.cases.get(case_id, self.caller)
        if case is None:
            raise _not_found()
        self._audit(Action.case_read, case)
        return await self.cases.plan_versions(case.id)

    # --- helpers ---------------------------------------------------------------------------------

    async def _open_case(self, case_id: str) -> CaseRow:
        case = await self.cases.get(case_id, self.caller, for_update=True)
        if case is None:
            raise _not_found()
        return _taking_entries(case)

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

    def _audit(self, action: Action, case: CaseRow) -> None:
        if case.person_id is not None:  # identified cases only: anonymous ones hold no personal data
            self.audit.record(action, case_id=case.id, person_ids=[case.person_id, case.guardian_person_id])
