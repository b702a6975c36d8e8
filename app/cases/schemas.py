"""The cases' JSON. Identity fields are `repr=False`: a stray log of a request shows none of them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from app.cases.models import (
    CaseCodedEntryRow,
    CaseNoteRow,
    CasePlanRow,
    CasePlanVersionRow,
    CaseRow,
    CaseSessionRow,
)
from app.cases.policy import (
    CaseStatus,
    CodedEntry,
    EarlyTerminationReason,
    Identity,
    JournalSync,
    RegisteredOn,
    age_band,
    journal_sync_for,
)
from app.cases.protection import PersonIdentity
from app.cases.redaction import Redaction
from app.catalog.domain import DocumentationRule, Role, SubjectRule
from app.core.inbound import RequestModel
from app.disposal.rules import DisposalAction, RetentionBasis, Verdict
from app.journal import limits
from app.journal.links import SyncState
from app.journal.port import ClosingReason, EntryKind

if TYPE_CHECKING:
    from app.cases.persons import PersonView

# The journal system's view of a case: delivery state and its reference.
JournalView = tuple[SyncState, str | None]

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
# Whatever reaches the journal system is bounded by its contract (`app.journal.limits`): a value
# it refused would be dead-lettered and hold up the rest of the case.
TEXT_MAX = limits.ENTRY_TEXT_MAX
SHORT_TEXT_MAX = 2_000


class Gender(StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"  # the person declined to say


UNKNOWN = "unknown"
GuardianRef = Literal["guardian_1", "guardian_2"]


class SocialSituation(StrEnum):
    """De-identified social situation categories (seeds 002/003), never free text."""

    stable_housing = "stable_housing"
    insecure_housing = "insecure_housing"
    homeless = "homeless"
    working = "working"
    studying = "studying"
    unemployed = "unemployed"
    sick_leave = "sick_leave"
    retired = "retired"
    financial_difficulties = "financial_difficulties"
    supportive_network = "supportive_network"
    socially_isolated = "socially_isolated"
    other = "other"


class SessionForm(StrEnum):
    conversation = "conversation"  # samtal
    meeting = "meeting"  # träff
    group_meeting = "group_meeting"


class _In(RequestModel):
    """Unknown fields and text no column can hold (NUL, unpaired surrogates) are refused."""


# --- in ------------------------------------------------------------------------------------


class IdentityIn(_In):
    """Who the person is. Stored only under the standard rule (SoL 14 kap. 3 §); under an exemption
    (14 kap. 4–5 §§) used only to remove these values from the request's free text, then dropped."""

    personnummer: str | None = Field(
        None, max_length=20, repr=False, description="Personnummer or samordningsnummer, any usual format."
    )
    name: str | None = Field(None, max_length=limits.PERSON_NAME_MAX, repr=False)
    address: str | None = Field(None, max_length=300, repr=False, description="Never stored for protected persons.")
    phone: str | None = Field(None, max_length=limits.PERSON_PHONE_MAX, repr=False)
    email: str | None = Field(None, max_length=limits.PERSON_EMAIL_MAX, repr=False)
    protected_identity: bool = Field(
        False, description="Skyddade personuppgifter (sekretessmarkering, skyddad folkbokföring)."
    )

    def to_domain(self) -> PersonIdentity:
        return PersonIdentity(
            personnummer=self.personnummer,
            name=self.name,
            address=self.address,
            phone=self.phone,
            email=self.email,
            protected_identity=self.protected_identity,
        )


KnownIdentityField: Any = Field(
    default_factory=list,
    max_length=5,
    description="Identity values the caller knows, given only so that they are removed from this request's "
    "free text in an exempted case; never stored. Ignored for identified cases. Personnummer, phone numbers, "
    "e-mail and street addresses are also found by pattern; names only here: list everyone the text may name.",
)


class ParticipantIn(_In):
    """De-identified data about the one who takes part: documented under every rule.

    An exempted case (SoL 14:4, 14:5) requires `gender` and an age (`age` or `birth_year`, or the
    subject's personnummer); the person may decline, and `unknown` is an accepted answer for either.
    """

    gender: Gender | None = Field(None, description="`unknown`: the person declined to say.")
    age: Annotated[int, Field(ge=0, le=130)] | Literal["unknown"] | None = Field(
        None,
        description="Age in completed years on the opening date, or `unknown` (declined to say: no age is stored).",
    )
    birth_year: int | None = Field(
        None,
        ge=1890,
        le=2100,
        description="Used only to compute the age on the opening date (the age reached that year); never stored.",
    )
    role: Role | None = Field(
        None,
        description="The role in which the person takes part. Not given, for a parent-targeted intervention: parent.",
    )


class ConditionFactsIn(_In):
    """The other facts the intervention's conditions (villkor) may name, for the summary check at opening.

    Used for the check only, never stored. Not given: unknown, which never blocks an opening.
    """

    children_ages: list[Annotated[int, Field(ge=0, le=130)]] | None = Field(
        None,
        max_length=30,
        description="For a parent: the ages of the children the parent comes about. For a parent-targeted "
        "case the child's personnummer gives the child's age instead.",
    )
    school_year: int | None = Field(None, ge=0, le=9, description="Årskurs; 0 = förskoleklass.")
    accompanying_children: bool | None = Field(None, description="Medföljande barn (protected housing, SoL 11:5).")
    residence_committee: str | None = Field(
        None, pattern=SLUG, max_length=64, description="The committee in whose district the person lives."
    )
    self_declared_target_group: bool | None = Field(
        None,
        description="Not given: turning to the provider for the intervention declares belonging to its target "
        "group. `false`: the person says they do not belong (refused).",
    )


class AssessmentIn(_In):
    wellbeing: int | None = Field(None, ge=1, le=5, description="Skattat mående, 1 (mycket dåligt) – 5 (mycket bra).")
    social_situation: list[SocialSituation] = Field(default_factory=list, max_length=12)


class NoteIn(_In):
    kind: EntryKind
    occurred_on: dt.date
    text: str = Field(min_length=1, max_length=TEXT_MAX)


class CaseOpenIn(_In):
    intervention_id: str = Field(pattern=SLUG, max_length=100)
    opened_on: dt.date | None = Field(None, description="Default: today (Swedish time).")
    subject: IdentityIn | None = Field(
        None, description="The person who takes part (for a parent-targeted intervention: the parent)."
    )
    child: IdentityIn | None = Field(
        None, description="Parent-targeted interventions: the child the case is registered on."
    )
    participant: ParticipantIn = Field(default_factory=ParticipantIn)
    start_assessment: AssessmentIn = Field(default_factory=AssessmentIn)
    informed_of_right_to_apply: bool = Field(
        False, description="Informationsskyldighet: told of the right to apply for needs-assessed interventions."
    )
    informed_of_documentation: bool = Field(False, description="Told that documentation is kept.")
    guardian_consent: bool | None = Field(
        None,
        description="SoL 21 kap. 2 §: the guardian (vårdnadshavare) has consented. Required for a participant "
        "under 15 (else 422 `conditions-not-met` naming `guardian_consent`); recorded on the case.",
    )
    guardian_consents: list[GuardianRef] = Field(
        default_factory=list,
        max_length=2,
        description="Where the child has two guardians: whose consent was given, e.g. "
        '`["guardian_1", "guardian_2"]`. Any consent listed counts as `guardian_consent: true`.',
    )
    facts: ConditionFactsIn = Field(
        default_factory=ConditionFactsIn, description="Further facts the conditions name (summary check only)."
    )
    notes: list[NoteIn] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _consent_agrees(self) -> CaseOpenIn:
        if len(set(self.guardian_consents)) != len(self.guardian_consents):
            raise ValueError("guardian_consents lists each guardian once")
        if self.guardian_consent is False and self.guardian_consents:
            raise ValueError("guardian_consent is false but guardian_consents lists a consent")
        return self

    @property
    def consent_given(self) -> bool | None:
        """The fact the summary check uses: given, refused/absent (False) or not stated (None)."""
        if self.guardian_consent is True or self.guardian_consents:
            return True
        return self.guardian_consent


class NoteAddIn(NoteIn):
    known_identity: list[IdentityIn] = KnownIdentityField


class PlanPersonalIn(_In):
    next_of_kin: str | None = Field(None, max_length=limits.PLAN_TEXT_MAX, repr=False, description="Närstående.")


class PlanIn(_In):
    """Insatsplan, seed 004 bilaga 3. Name, personnummer and contact come from the person, not from here."""

    drawn_up_on: dt.date | None = Field(None, description="When the plan was made; default today.")
    starts_on: dt.date
    follow_up_on: dt.date | None = None
    time_frame: str | None = Field(None, max_length=limits.PLAN_TEXT_MAX)
    description: str = Field(
        min_length=1, max_length=limits.PLAN_DESCRIPTION_MAX, description="Benämning/beskrivning av insats."
    )
    responsible_contact: str = Field(
        min_length=1, max_length=limits.PLAN_RESPONSIBLE_CONTACT_MAX, description="Ansvarig utförare."
    )
    reason_for_seeking: str | None = Field(None, max_length=limits.PLAN_TEXT_MAX)
    goals: str | None = Field(None, max_length=limits.PLAN_TEXT_MAX)
    form: str | None = Field(None, max_length=limits.PLAN_TEXT_MAX)
    frequency: str | None = Field(None, max_length=limits.PLAN_TEXT_MAX)
    follow_up: str | None = Field(None, max_length=limits.PLAN_TEXT_MAX)
    reason_for_closing: str | None = Field(None, max_length=limits.PLAN_TEXT_MAX)
    personal: PlanPersonalIn | None = Field(None, description="1. Personuppgifter: identified cases only.")
    known_identity: list[IdentityIn] = KnownIdentityField


class SessionIn(_In):
    held_on: dt.date
    form: SessionForm = SessionForm.conversation


class ParticipantViewIn(_In):
    satisfaction: int | None = Field(None, ge=1, le=5, description="How the participant perceived it, 1–5.")
    comment: str | None = Field(
        None,
        max_length=limits.PARTICIPANT_VIEW_MAX,
        description="Part of the closing journal entry, so bounded to leave room for the rest of it.",
    )


class CloseIn(_In):
    closed_on: dt.date
    reason: ClosingReason
    early_termination_reason: EarlyTerminationReason | None = Field(
        None,
        description="Orsak till avbrott i förtid, as a code: exactly when `reason` is `ended_early`.",
    )
    early_termination_note: str | None = Field(
        None,
        max_length=limits.EARLY_TERMINATION_NOTE_MAX,
        description="Free text about the early end, scrubbed like all text of an exempted case; required when "
        "`early_termination_reason` is `other`, allowed only with an early end.",
    )
    end_assessment: AssessmentIn = Field(default_factory=AssessmentIn)
    participant_view: ParticipantViewIn = Field(default_factory=ParticipantViewIn)
    known_identity: list[IdentityIn] = KnownIdentityField

    @model_validator(mode="after")
    def _early_reason_with_early_end(self) -> CloseIn:
        early = self.reason is ClosingReason.ended_early
        if early != (self.early_termination_reason is not None):
            raise ValueError("early_termination_reason is required when, and only when, reason is ended_early")
        noted = bool((self.early_termination_note or "").strip())
        if noted and not early:
            raise ValueError("early_termination_note is only for an early end (reason ended_early)")
        if self.early_termination_reason is EarlyTerminationReason.other and not noted:
            raise ValueError("early_termination_note is required when early_termination_reason is other")
        return self


class CodedEntryIn(_In):
    """A coded entry: no free text (a note carries any text, scrubbed by the case's rule)."""

    code: CodedEntry = Field(
        description="`concern_reported`: a report of concern for a child was made (anmälningsskyldighet); "
        "`referred_to_needs_assessed`: the person was helped towards a needs-assessed intervention."
    )
    occurred_on: dt.date


class UnitProcessIn(_In):
    process_steps: Literal[3, 5]


# --- out -----------------------------------------------------------------------------------


class RedactionDoc(BaseModel):
    path: str = Field(description="The field path or note index, e.g. `subject.name`, `notes[0].text`.")
    kind: str = Field(description="The kind of value removed: personnummer, name, address, phone, email ...")
    rule: str = Field(description="What removed it: `SoL 14:5`, `SoL 14:4` or `protected_identity`.")

    @classmethod
    def of(cls, r: Redaction) -> RedactionDoc:
        return cls(path=r.path, kind=r.kind, rule=r.rule)


class ParticipantDoc(BaseModel):
    gender: Gender | None
    age: int | None = Field(description="On the opening date; null when not known (also when declined).")
    age_band: str | None
    role: Role | None


class AssessmentDoc(BaseModel):
    wellbeing: int | None
    social_situation: list[SocialSituation]


class ParticipantViewDoc(BaseModel):
    satisfaction: int | None
    comment: str | None


class ClosingDoc(BaseModel):
    closed_on: dt.date
    reason: ClosingReason
    early_termination_reason: EarlyTerminationReason | None
    early_termination_note: str | None
    end_assessment: AssessmentDoc
    participant_view: ParticipantViewDoc


class CaseDoc(BaseModel):
    """An ärende (type "IFO Registrering IUB"). Identity is never here: identified cases name `person_id`."""

    id: str
    intervention_id: str
    intervention_name: str
    decision_id: str
    documentation_rule: DocumentationRule
    subject_rule: SubjectRule
    identity: Identity
    registered_on: RegisteredOn | None
    person_id: str | None
    guardian_person_id: str | None
    participant_code: str | None = Field(description="Links an anonymous case's entries; never derived from identity.")
    participant: ParticipantDoc
    start_assessment: AssessmentDoc
    informed_of_right_to_apply: bool
    informed_of_documentation: bool
    guardian_consent: bool | None = Field(description="SoL 21 kap. 2 §: the guardian's consent as recorded at opening.")
    guardian_consents: list[GuardianRef] = Field(description="Whose consent, where the child has two guardians.")
    status: CaseStatus
    process_steps: Literal[3, 5]
    max_sessions: int | None
    session_count: int
    opened_on: dt.date
    closing: ClosingDoc | None
    last_entry_on: dt.date
    retention_basis: RetentionBasis = Field(
        description="What sets the disposal dates: `sol_16_1` for an identified case, which belongs to the "
        "person's file (personakt; a parent-targeted case to the child's) at the committee; `records_plan` for "
        "an exempted case (SoL 14 kap. 4-5 §§: no identity, no personakt), under the committee's records plan "
        "(dokumenthanteringsplan). Also `sol_17_2` (a file kept only by private units) and `sol_16_2` (never "
        "disposed of)."
    )
    disposal_due_on: dt.date | None = Field(
        description="Gallringsdatum: from this day the file may be disposed of — five years after the last entry "
        "in the person's whole file, any case of theirs at the committee (SoL 16 kap. 1 §; two years for a "
        "private provider's file, 17 kap. 2 §), or the records plan's years for an exempted case. Null while a "
        "case of the file is open, and when nothing is ever disposed of (`disposal_action` `keep`)."
    )
    disposal_deadline_on: dt.date | None = Field(
        description="The disposal must be finished by this day: 31 December of the year after `disposal_due_on` "
        "(SoL 16 kap. 1 §)."
    )
    disposal_action: DisposalAction = Field(
        description="What happens when due: `archive_transfer` (avställning to the archive, never destroyed: the "
        "research exemption, SoL 16 kap. 4 §, SoF 13 kap. 1 § — every file in Göteborg), `destroy` (gallring), "
        "`keep` (never disposed of; exempted records without a records plan retention)."
    )
    journal_sync: JournalSync = Field(
        description="Delivery to the journal system: `pending`, `delivered`, `failed`; `not_applicable` for an "
        "exempted case, which never leaves the service."
    )
    journal_case_ref: str | None = Field(description="The journal system's reference, once the case has arrived.")
    redactions: list[RedactionDoc] = Field(description="What this request removed; never the values.")

    @classmethod
    def fields_of(
        cls, row: CaseRow, redactions: list[Redaction], journal: JournalView | None, disposal: Verdict
    ) -> dict[str, object]:
        closing = None
        if row.closed_on is not None and row.closing_reason is not None:
            closing = ClosingDoc(
                closed_on=row.closed_on,
                reason=ClosingReason(row.closing_reason),
                early_termination_reason=(
                    EarlyTerminationReason(row.early_termination_reason) if row.early_termination_reason else None
                ),
                early_termination_note=row.early_termination_note,
                end_assessment=AssessmentDoc(
                    wellbeing=row.end_wellbeing, social_situation=[SocialSituation(s) for s in row.end_social_situation]
                ),
                participant_view=ParticipantViewDoc(
                    satisfaction=row.participant_satisfaction, comment=row.participant_view
                ),
            )
        return {
            "id": row.id,
            "intervention_id": row.intervention_id,
            "intervention_name": row.intervention_name,
            "decision_id": row.decision_id,
            "documentation_rule": DocumentationRule(row.documentation_rule),
            "subject_rule": SubjectRule(row.subject_rule),
            "identity": Identity(row.identity),
            "registered_on": RegisteredOn(row.registered_on) if row.registered_on else None,
            "person_id": row.person_id,
            "guardian_person_id": row.guardian_person_id,
            "participant_code": row.participant_code,
            "participant": ParticipantDoc(
                gender=Gender(row.participant_gender) if row.participant_gender else None,
                age=row.participant_age,
                age_band=age_band(row.participant_age),
                role=Role(row.participant_role) if row.participant_role else None,
            ),
            "start_assessment": AssessmentDoc(
                wellbeing=row.start_wellbeing, social_situation=[SocialSituation(s) for s in row.start_social_situation]
            ),
            "informed_of_right_to_apply": row.informed_of_right_to_apply,
            "informed_of_documentation": row.informed_of_documentation,
            "guardian_consent": row.guardian_consent,
            "guardian_consents": list(row.guardian_consents or []),
            "status": CaseStatus(row.status),
            "process_steps": row.process_steps,
            "max_sessions": row.max_sessions,
            "session_count": row.session_count,
            "opened_on": row.opened_on,
            "closing": closing,
            "last_entry_on": row.last_entry_on,
            "retention_basis": disposal.basis,
            "disposal_due_on": disposal.due_on,
            "disposal_deadline_on": disposal.deadline_on,
            "disposal_action": disposal.action,
            "journal_sync": journal_sync_for(Identity(row.identity)) if journal is None else JournalSync(journal[0]),
            "journal_case_ref": None if journal is None else journal[1],
            "redactions": [RedactionDoc.of(r) for r in redactions],
        }

    @classmethod
    def of(cls, row: CaseRow, disposal: Verdict, journal: JournalView | None = None) -> CaseDoc:
        return cls.model_validate(cls.fields_of(row, [], journal, disposal))


class NoteDoc(BaseModel):
    id: str
    kind: EntryKind
    occurred_on: dt.date
    text: str

    @classmethod
    def of(cls, row: CaseNoteRow) -> NoteDoc:
        return cls(id=row.id, kind=EntryKind(row.kind), occurred_on=row.occurred_on, text=row.text)


class SessionDoc(BaseModel):
    id: str
    number: int
    held_on: dt.date
    form: SessionForm

    @classmethod
    def of(cls, row: CaseSessionRow) -> SessionDoc:
        return cls(id=row.id, number=row.number, held_on=row.held_on, form=SessionForm(row.form))


class PlanPersonalDoc(BaseModel):
    next_of_kin: str | None


class PlanDoc(BaseModel):
    drawn_up_on: dt.date
    starts_on: dt.date
    follow_up_on: dt.date | None
    time_frame: str | None
    description: str
    responsible_contact: str
    reason_for_seeking: str | None
    goals: str | None
    form: str | None
    frequency: str | None
    follow_up: str | None
    reason_for_closing: str | None
    personal: PlanPersonalDoc | None
    version: int

    @classmethod
    def of(cls, row: CasePlanRow) -> PlanDoc:
        personal = PlanPersonalDoc(next_of_kin=row.personal.get("next_of_kin")) if row.personal else None
        return cls(
            drawn_up_on=row.drawn_up_on,
            starts_on=row.starts_on,
            follow_up_on=row.follow_up_on,
            time_frame=row.time_frame,
            description=row.description,
            responsible_contact=row.responsible_contact,
            reason_for_seeking=row.reason_for_seeking,
            goals=row.goals,
            form=row.form,
            frequency=row.frequency,
            follow_up=row.follow_up,
            reason_for_closing=row.reason_for_closing,
            personal=personal,
            version=row.version,
        )


class PlanVersionDoc(PlanDoc):
    recorded_by: str = Field(description="Who set this version (the token's `sub`).")
    recorded_at: dt.datetime

    @classmethod
    def of_version(cls, row: CasePlanVersionRow) -> PlanVersionDoc:
        personal = PlanPersonalDoc(next_of_kin=row.personal.get("next_of_kin")) if row.personal else None
        return cls(
            drawn_up_on=row.drawn_up_on,
            starts_on=row.starts_on,
            follow_up_on=row.follow_up_on,
            time_frame=row.time_frame,
            description=row.description,
            responsible_contact=row.responsible_contact,
            reason_for_seeking=row.reason_for_seeking,
            goals=row.goals,
            form=row.form,
            frequency=row.frequency,
            follow_up=row.follow_up,
            reason_for_closing=row.reason_for_closing,
            personal=personal,
            version=row.version,
            recorded_by=row.recorded_by,
            recorded_at=row.recorded_at,
        )


class PlanVersionsDoc(BaseModel):
    items: list[PlanVersionDoc] = Field(description="The versions of the plan, oldest first.")
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last page.")


class CodedEntryDoc(BaseModel):
    id: str
    code: CodedEntry
    occurred_on: dt.date

    @classmethod
    def of(cls, row: CaseCodedEntryRow) -> CodedEntryDoc:
        return cls(id=row.id, code=CodedEntry(row.code), occurred_on=row.occurred_on)


class CaseDetailDoc(CaseDoc):
    notes: list[NoteDoc]
    plan: PlanDoc | None
    sessions: list[SessionDoc]
    coded_entries: list[CodedEntryDoc]


class SummaryConditionDoc(BaseModel):
    condition: str = Field(description="What was checked, as the eligibility check names it.")
    code: str
    met: bool | Literal["unknown"]


class SummaryCheckDoc(BaseModel):
    """The summary check (summarisk kontroll) the opening passed, as `POST /v1/eligibility/check` answers it."""

    status: Literal["eligible", "undetermined"] = Field(
        description="`undetermined`: a fact was not stated (it never blocks); ask it if the person wishes."
    )
    conditions: list[SummaryConditionDoc]


class CaseOpenedDoc(CaseDetailDoc):
    summary_check: SummaryCheckDoc


class CodedEntryResultDoc(CaseDoc):
    coded_entry: CodedEntryDoc


class NoteResultDoc(CaseDoc):
    note: NoteDoc


class PlanResultDoc(CaseDoc):
    plan: PlanDoc


class SessionResultDoc(CaseDoc):
    session: SessionDoc


class CasePageDoc(BaseModel):
    items: list[CaseDoc]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class UnitProcessDoc(BaseModel):
    unit: str
    process_steps: Literal[3, 5]


# --- persons ---------------------------------------------------------------------------------


class PersonPatchIn(_In):
    """A change of the person: `name` and `protected_identity` are the committee's register data (every
    case, as in the journal system); `address`, `phone` and `email` are the calling unit's own record."""

    name: str | None = Field(
        None,
        min_length=1,
        max_length=limits.PERSON_NAME_MAX,
        repr=False,
        description="A new name is recorded as a new version.",
    )
    address: str | None = Field(None, max_length=300, repr=False, description="Never stored for protected persons.")
    phone: str | None = Field(None, max_length=limits.PERSON_PHONE_MAX, repr=False)
    email: str | None = Field(None, max_length=limits.PERSON_EMAIL_MAX, repr=False)
    protected_identity: bool | None = Field(
        None,
        description="`true` (any unit with a case) deletes every stored address; `false` needs the scope "
        "`persons:protect`.",
    )

    @model_validator(mode="after")
    def _name_not_cleared(self) -> PersonPatchIn:
        if "name" in self.model_fields_set and not (self.name or "").strip():
            raise ValueError("name cannot be cleared")  # also not by blanks: the journal system needs a name
        if "protected_identity" in self.model_fields_set and self.protected_identity is None:
            raise ValueError("protected_identity is true or false")
        return self


class ContactDoc(BaseModel):
    """Contact details as another unit with a case recorded them."""

    address: str | None
    phone: str | None
    email: str | None
    recorded_at: dt.datetime | None


class NameVersionDoc(BaseModel):
    name: str
    source: Literal["registration", "change", "opening"] = Field(
        description="`registration`: the name the person was registered with; `change`: set by a change; "
        "`opening`: a different name a later case opening carried, recorded but not adopted."
    )
    recorded_at: dt.datetime
    current: bool = Field(description="The register's name now.")


class PersonDoc(BaseModel):
    id: str
    personnummer: str = Field(description="12 digits.")
    name: str = Field(description="The committee register's current name.")
    address: str | None = Field(description="As the calling unit recorded it. Never for a protected person.")
    phone: str | None = Field(description="As the calling unit recorded it.")
    email: str | None = Field(description="As the calling unit recorded it.")
    protected_identity: bool
    other_units_contacts: list[ContactDoc] = Field(
        description="What other units that also have a case with the person recorded, newest first. "
        "Always empty for a protected person."
    )
    names: list[NameVersionDoc] = Field(description="Every name version, oldest first.")
    redactions: list[RedactionDoc]

    @classmethod
    def of(cls, view: PersonView, redactions: list[Redaction] | None = None) -> PersonDoc:
        row, own = view.person, view.own
        names = [
            NameVersionDoc.model_validate(
                {"name": n.name, "source": n.source, "recorded_at": n.recorded_at, "current": False}
            )
            for n in view.names
        ]
        names.append(
            NameVersionDoc.model_validate(
                {
                    "name": row.name,
                    "source": row.name_source,
                    "recorded_at": row.name_recorded_at,
                    "current": True,
                }
            )
        )
        return cls(
            id=row.id,
            personnummer=row.personnummer,
            name=row.name,
            address=None if row.protected_identity or own is None else own.address,
            phone=None if own is None else own.phone,
            email=None if own is None else own.email,
            protected_identity=row.protected_identity,
            other_units_contacts=[
                ContactDoc(
                    address=c.address,
                    phone=c.phone,
                    email=c.email,
                    recorded_at=c.recorded_at,
                )
                for c in view.others
            ],
            names=sorted(names, key=lambda n: n.recorded_at),
            redactions=[RedactionDoc.of(r) for r in redactions or []],
        )


# --- registry and audit ------------------------------------------------------------------------


class OccurrenceDetail(StrEnum):
    """How much a registry occurrence answer tells: no more than the asker states a need for."""

    exists = "exists"  # whether the person has or had an identified case in the committee
    ongoing = "ongoing"  # ... and whether one is running now
    cases = "cases"  # ... and the cases: intervention, unit, dates, status


class OccurrenceBasis(StrEnum):
    """The legal basis on which the asker is given the information (recorded in the audit trail)."""

    consent = "consent"  # the person consented (OSL 12 kap. 2 §)
    duty_to_disclose = "duty_to_disclose"  # a duty to disclose in law or ordinance (OSL 10 kap. 28 §)
    necessary_for_own_activity = "necessary_for_own_activity"  # necessary to carry out the activity (OSL 10 kap. 2 §)
    no_harm = "no_harm"  # it can be disclosed without harm to the person (OSL 26 kap. 1 §)


class OccurrenceQueryIn(_In):
    personnummer: str = Field(max_length=20, repr=False, description="Personnummer or samordningsnummer.")
    detail: OccurrenceDetail = Field(
        description="`exists`: has or had a case; `ongoing`: also whether one runs now; `cases`: the cases "
        "(intervention, unit, dates, status). `exists` and `ongoing` never name an intervention."
    )
    basis: OccurrenceBasis = Field(
        description="The legal basis for the answer, recorded in the audit trail: `consent` (OSL 12 kap. 2 §), "
        "`duty_to_disclose` (OSL 10 kap. 28 §), `necessary_for_own_activity` (OSL 10 kap. 2 §), `no_harm` "
        "(OSL 26 kap. 1 §)."
    )


class OccurrenceCaseDoc(BaseModel):
    case_id: str
    intervention_id: str
    intervention_name: str
    unit: str
    role: Literal["registered", "guardian"] = Field(
        description="`registered`: the case is registered on the person; `guardian`: they took part as a parent."
    )
    opened_on: dt.date
    closed_on: dt.date | None
    status: CaseStatus


class OccurrenceDoc(BaseModel):
    detail: OccurrenceDetail
    found: bool = Field(description="The person has or had an identified IUB case in the committee.")
    ongoing: bool | None = Field(description="One of them is running now; null for `detail: exists`.")
    cases: list[OccurrenceCaseDoc] | None = Field(description="Only for `detail: cases`.")


class AuditRecordDoc(BaseModel):
    id: str
    at: dt.datetime
    actor: str
    committee: str
    unit: str
    action: str
    case_id: str | None
    person_id: str | None
    case_ids: list[str] = Field(
        description="A read of a page of cases (`case.listed`): every identified case on the page, in one record "
        "(`case_id` and `person_id` are then null); empty otherwise."
    )
    person_ids: list[str] = Field(
        description="A read of a page of cases: every person of the cases on the page (registered or guardian)."
    )
    why_code: str
    basis: str | None = Field(description="The legal basis a registry occurrence question stated.")


class AuditPageDoc(BaseModel):
    items: list[AuditRecordDoc]
    next_cursor: str | None
