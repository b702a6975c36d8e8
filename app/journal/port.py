"""The port to the municipality's journal system (verksamhetssystem, e.g. Treserva).

Domain terms only: no HTTP here. `http_adapter.HttpJournalSystem` implements it against
`contracts/journal-system.openapi.yaml`; the outbox dispatcher is the only caller.

Every method takes `key`, the idempotency key: the outbox event id (a UUID string). Calling a
method again with the same key and the same arguments must not write twice; it returns the
first call's result. An implementation may send several requests for one call and derives
each request's key from `key` with `derive_key`, so one event id may drive one call of each
method (e.g. `upsert_person` then `register_case` for the same event).

Errors: `JournalTransientError` means "try again later with the same key" (the write may or
may not have happened); `JournalPermanentError` means "this will never succeed as sent"
(dead-letter it). Anything else raised is a bug.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol, TypeAlias

from app.catalog.domain import DocumentationRule
from app.disposal.rules import DisposalAction, RetentionBasis

# Opaque references the journal system hands out; stored by us, never parsed.
PersonRef: TypeAlias = str
CaseRef: TypeAlias = str
EntryRef: TypeAlias = str

CASE_TYPE = "IFO Registrering IUB"  # ärendetyp in Treserva (seed 004)
ProcessSteps: TypeAlias = Literal[3, 5]  # the unit's choice of three or all five process steps

_PERSONNUMMER = re.compile(r"^(18|19|20)\d{10}$")
# Fixed namespace so derived keys are stable across processes and releases.
_KEY_NAMESPACE = uuid.UUID("5b0f6f0e-3a4c-4d8e-9a57-1f2a6c9e0b21")


def derive_key(key: str, *parts: str) -> str:
    """A deterministic sub-key of `key` (uuid5), so a retried call reuses the same keys."""
    return str(uuid.uuid5(_KEY_NAMESPACE, "/".join((key, *parts))))


class EntryKind(StrEnum):
    """What a journalanteckning documents (seed 004: planering, genomförande, avslut, uppföljning)."""

    planning = "planning"
    execution = "execution"
    event = "event"  # händelse av betydelse
    follow_up = "follow_up"
    closing = "closing"


class ClosingReason(StrEnum):
    """Orsak till avslut."""

    completed = "completed"
    ended_early = "ended_early"  # avbrott i förtid
    transferred_to_needs_assessed = "transferred_to_needs_assessed"  # ansökan, behovsprövad insats
    other = "other"


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """A person as the journal system keeps them: contact data applies to all their ärenden.

    `protected_identity` (skyddade personuppgifter): the journal system never returns the
    address; we still send it so the case record is complete.
    """

    personnummer: str  # 12 digits, no separator
    name: str
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    protected_identity: bool = False

    def __post_init__(self) -> None:
        if not _PERSONNUMMER.match(self.personnummer):
            # Never echo the value: it is an identity.
            raise ValueError("personnummer must be 12 digits (YYYYMMDDNNNC)")


@dataclass(frozen=True, slots=True)
class PersonContactUpdate:
    """The person's contact data as it is now (a full snapshot, not a diff).

    None clears the value in the journal system. A snapshot keeps retries and reordered
    deliveries harmless: the last one applied wins with complete data.
    """

    name: str
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    protected_identity: bool = False


@dataclass(frozen=True, slots=True)
class CaseRegistration:
    """Registering an ärende of type "IFO Registrering IUB", the insats "tills vidare".

    For parent-targeted interventions the case is registered on the child (`person`) and the
    parent who takes part is `guardian`; otherwise `guardian` is None. Only cases under the
    standard documentation duty (SoL 14 kap. 3 §) go to the journal system.
    """

    person: PersonRecord
    unit: str  # enhet/verksamhet that owns the case; the case is visible to it only
    intervention_id: str
    intervention_name: str
    process_steps: ProcessSteps
    opened_on: dt.date
    guardian: PersonRecord | None = None
    documentation_basis: DocumentationRule = DocumentationRule.standard

    def __post_init__(self) -> None:
        if self.process_steps not in (3, 5):
            raise ValueError("process_steps must be 3 or 5")
        if self.documentation_basis != DocumentationRule.standard:  # == also admits "standard"
            raise ValueError("only cases under the standard documentation rule go to the journal system")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A journalanteckning: facts and significant events, dated."""

    kind: EntryKind
    occurred_on: dt.date
    text: str


@dataclass(frozen=True, slots=True)
class PlanPersonal:
    """Bilaga 3, rubrik 1 Personuppgifter.

    Name, personnummer, address, phone and e-mail are not repeated here: the journal system
    renders them from the person the case is registered on, so a contact change reaches the
    plan too and a protected address is never copied into a document.
    """

    next_of_kin: str | None = None  # närstående (om aktuellt)


@dataclass(frozen=True, slots=True)
class InterventionPlan:
    """The insatsplan as one document, headings as in seed 004, bilaga 3."""

    starts_on: dt.date  # 2. Datum för start
    description: str  # 3. Benämning/beskrivning av insats
    responsible_contact: str  # 3. Ansvarig utförare / kontaktperson
    follow_up_on: dt.date | None = None  # 2. Uppföljning (datum)
    time_frame: str | None = None  # 2. Tidsram för insatsen
    reason_for_seeking: str | None = None  # 4. Varför den enskilde söker stödet
    goals: str | None = None  # 5. Mål och syfte med insatsen
    form: str | None = None  # 6. Utformning och omfattning
    frequency: str | None = None  # 6. Hur ofta stödet ges
    follow_up: str | None = None  # 7. Uppföljning av insatsen
    reason_for_closing: str | None = None  # 8. Orsak till avslut
    personal: PlanPersonal = field(default_factory=PlanPersonal)


@dataclass(frozen=True, slots=True)
class CaseDisposal:
    """Gallring of the ärende, ours to compute (`app.disposal.rules`); the journal system records it.

    The dates are those of the person's whole file at the committee: `due_on` (gallringsdatum)
    five years after the file's last entry (SoL 16 kap. 1 §), None while another ärende of the
    file is open or when nothing is ever disposed of; `deadline_on` 31 December of the following
    year. `action` says what happens then: `archive_transfer` (the research exemption, SoL 16 kap.
    4 §: kept, transferred to the archive, never destroyed), `destroy`, or `keep`.
    """

    due_on: dt.date | None
    deadline_on: dt.date | None
    action: DisposalAction
    basis: RetentionBasis


@dataclass(frozen=True, slots=True)
class CaseDisposed:
    """Our copy of the case is gone (gallring carried out): destroyed, or transferred to the
    archive in the package named (SoL 16 kap. 1-4 §§). The journal system disposes of its copy."""

    disposed_on: dt.date
    action: str  # destroy | archive_transfer
    rule: str  # the disposal rule's code, e.g. sol_16_1_destroy
    archive_package: str | None = None  # the archive package's name, for a transfer


@dataclass(frozen=True, slots=True)
class CaseClosing:
    """Avslut, with the ärende's disposal as it stands at closing (`CaseDisposal`).

    The disposal fields after `disposal_due_on` are None only in events written before they were
    sent."""

    closed_on: dt.date
    reason: ClosingReason
    disposal_due_on: dt.date | None
    early_termination_reason: str | None = None  # orsak till avbrott i förtid
    disposal_deadline_on: dt.date | None = None
    disposal_action: DisposalAction | None = None
    retention_basis: RetentionBasis | None = None

    def __post_init__(self) -> None:
        if (self.reason == ClosingReason.ended_early) != bool(self.early_termination_reason):
            raise ValueError("early_termination_reason is given exactly when reason is ended_early")
        if self.disposal_due_on is not None and self.disposal_due_on < self.closed_on:
            raise ValueError("disposal_due_on cannot precede closed_on")


class JournalError(Exception):
    """A call to the journal system failed. Messages never carry identity values."""

    def __init__(self, detail: str, *, status: int | None = None, problem_type: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status  # HTTP status, None when no response came
        self.problem_type = problem_type  # RFC 9457 `type`, when the system sent one


class JournalTransientError(JournalError):
    """Try again later with the same key: timeouts, lost connections, 408/425/429/5xx.

    `retry_after` (seconds) is the system's own wish (Retry-After); the dispatcher should wait
    at least that long. None: use the dispatcher's backoff.
    """

    def __init__(
        self,
        detail: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        problem_type: str | None = None,
    ) -> None:
        super().__init__(detail, status=status, problem_type=problem_type)
        self.retry_after = retry_after


class JournalPermanentError(JournalError):
    """The request will never succeed as sent (4xx such as 404, 409 or 422): dead-letter it."""


class JournalSystem(Protocol):
    """The journal system as the outbox dispatcher sees it. All methods are idempotent per `key`."""

    async def upsert_person(self, key: str, person: PersonRecord) -> PersonRef:
        """Create the person, or find them by personnummer; same personnummer, same ref.

        For a known person, given contact values are added; nothing is cleared (use
        `update_person`) and `protected_identity` is only ever raised here.
        """
        ...

    async def update_person(self, key: str, person_ref: PersonRef, update: PersonContactUpdate) -> None:
        """Replace the person's contact data; it applies to all their ärenden."""
        ...

    async def register_case(self, key: str, registration: CaseRegistration, person_ref: PersonRef) -> CaseRef:
        """Register the ärende on `person_ref` (upsert `registration.person` first).

        The guardian, if any, is upserted by this call.
        """
        ...

    async def add_journal_entry(self, key: str, case_ref: CaseRef, entry: JournalEntry) -> EntryRef:
        """Add a journalanteckning to an open case."""
        ...

    async def put_plan(self, key: str, case_ref: CaseRef, plan: InterventionPlan) -> None:
        """Store the insatsplan, replacing any earlier version; the case must be open."""
        ...

    async def close_case(self, key: str, case_ref: CaseRef, closing: CaseClosing) -> None:
        """Close the case (avslut). Send all entries and the plan first: a closed case takes none."""
        ...

    async def set_disposal(self, key: str, case_ref: CaseRef, disposal: CaseDisposal) -> None:
        """Record a change of a closed case's disposal (another ärende of the person's file opened
        or closed)."""
        ...

    async def record_disposed(self, key: str, case_ref: CaseRef, disposed: CaseDisposed) -> None:
        """Tell the journal system that our copy of the case was disposed of (destroyed or transferred)."""
        ...
