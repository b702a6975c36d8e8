"""The simulator's in-memory journal system: wire models, state and the write rules.

No HTTP and no faults here (those are in `simulator.py`). Operations return
`(status, payload)` or raise `SimProblem`; they never await, so each one is atomic under
asyncio. Payloads are plain JSON-able dicts shaped as `contracts/journal-system.openapi.yaml`.

Memory stays flat however long it runs: it keeps the `max_records` most recently used persons
and cases (and each case's last `MAX_ENTRIES` entries). A record it let go of is not forgotten as
a reference: its refs are sequential, so a ref it handed out is known to exist, and a write to
it is taken on a stub (a development stand-in; the real system keeps everything).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.kit.personnummer import is_valid_identity_number_digits

PROBLEM_BASE = "https://journal.example.se/problems/"
CASE_TYPE = "IFO Registrering IUB"

JSON = dict[str, Any]
OptionalText = str | None


class SimProblem(Exception):
    """An RFC 9457 problem the simulator answers with."""

    def __init__(self, status: int, slug: str, title: str, detail: str | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors: list[JSON] = []

    def document(self) -> JSON:
        doc: JSON = {"type": PROBLEM_BASE + self.slug, "title": self.title, "status": self.status}
        if self.detail:
            doc["detail"] = self.detail
        if self.errors:
            doc["errors"] = self.errors
        return doc


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonUpsertIn(_In):
    personnummer: str = Field(pattern=r"^(18|19|20)\d{10}$")
    name: str = Field(min_length=1, max_length=200)
    address: OptionalText = Field(default=None, max_length=4000)
    phone: OptionalText = Field(default=None, max_length=40)
    email: OptionalText = Field(default=None, max_length=254)
    protected_identity: bool = False

    @field_validator("personnummer")
    @classmethod
    def _check_digit(cls, v: str) -> str:
        if not is_valid_identity_number_digits(v):
            raise ValueError("not a valid personnummer")  # the value itself is never echoed
        return v


class PersonPatchIn(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: OptionalText = Field(default=None, max_length=4000)
    phone: OptionalText = Field(default=None, max_length=40)
    email: OptionalText = Field(default=None, max_length=254)
    protected_identity: bool | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> PersonPatchIn:
        if not self.model_fields_set:
            raise ValueError("the patch is empty")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be removed")
        if "protected_identity" in self.model_fields_set and self.protected_identity is None:
            raise ValueError("protected_identity cannot be null")
        return self


class InterventionIn(_In):
    id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)


class CaseRegistrationIn(_In):
    case_type: Literal["IFO Registrering IUB"]
    person_ref: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    guardian_ref: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    unit: str = Field(min_length=1, max_length=100)
    intervention: InterventionIn
    registered_until: Literal["until_further_notice"]
    process_steps: Literal[3, 5]
    opened_on: dt.date
    documentation_basis: Literal["standard"]


class JournalEntryIn(_In):
    kind: Literal["planning", "execution", "event", "follow_up", "closing"]
    occurred_on: dt.date
    text: str = Field(min_length=1, max_length=20000)


class PlanPersonalIn(_In):
    next_of_kin: OptionalText = Field(default=None, max_length=4000)


class PlanIn(_In):
    starts_on: dt.date
    follow_up_on: dt.date | None = None
    time_frame: OptionalText = Field(default=None, max_length=4000)
    description: str = Field(min_length=1, max_length=4000)
    responsible_contact: str = Field(min_length=1, max_length=400)
    reason_for_seeking: OptionalText = Field(default=None, max_length=4000)
    goals: OptionalText = Field(default=None, max_length=4000)
    form: OptionalText = Field(default=None, max_length=4000)
    frequency: OptionalText = Field(default=None, max_length=4000)
    follow_up: OptionalText = Field(default=None, max_length=4000)
    reason_for_closing: OptionalText = Field(default=None, max_length=4000)
    personal: PlanPersonalIn = Field(default_factory=PlanPersonalIn)


DisposalActionIn = Literal["destroy", "archive_transfer", "keep"]
RetentionBasisIn = Literal["sol_16_1", "sol_16_2", "sol_17_2", "records_plan"]


class DisposalIn(_In):
    disposal_due_on: dt.date | None
    disposal_deadline_on: dt.date | None = None
    disposal_action: DisposalActionIn | None = None
    retention_basis: RetentionBasisIn | None = None

    @model_validator(mode="after")
    def _deadline(self) -> DisposalIn:
        due, deadline = self.disposal_due_on, self.disposal_deadline_on
        if due is not None and deadline is not None and deadline <= due:
            raise ValueError("disposal_deadline_on must follow disposal_due_on")
        return self


class ClosingIn(DisposalIn):
    closed_on: dt.date
    reason: Literal["completed", "ended_early", "transferred_to_needs_assessed", "other"]
    early_termination_reason: OptionalText = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _early_reason(self) -> ClosingIn:
        if (self.reason == "ended_early") != bool(self.early_termination_reason):
            raise ValueError("early_termination_reason is required exactly when reason is ended_early")
        if self.disposal_due_on is not None and self.disposal_due_on < self.closed_on:
            raise ValueError("disposal_due_on cannot precede closed_on")
        return self


class DisposedIn(_In):
    disposed_on: dt.date
    action: Literal["destroy", "archive_transfer"]
    rule: str = Field(min_length=1, max_length=40)
    archive_package: OptionalText = Field(default=None, max_length=200)


class DisposalChangeIn(DisposalIn):
    disposal_action: DisposalActionIn
    retention_basis: RetentionBasisIn


@dataclass(slots=True)
class _Person:
    ref: str
    personnummer: str
    name: str
    address: str | None
    phone: str | None
    email: str | None
    protected_identity: bool

    def view(self) -> JSON:
        out: JSON = {"person_ref": self.ref, "name": self.name}
        if not self.protected_identity:  # skyddade personuppgifter: never hand out the address
            out["address"] = self.address
        out.update(phone=self.phone, email=self.email, protected_identity=self.protected_identity)
        return out


@dataclass(slots=True)
class _Case:
    registration: JSON  # the registration as received, JSON-shaped
    ref: str
    entries: list[JSON] = field(default_factory=list)
    plan: JSON | None = None
    closing: JSON | None = None
    disposed: JSON | None = None  # the client's copy was disposed of
    history: list[str] = field(default_factory=list)  # what arrived, in order

    def view(self) -> JSON:
        return {
            "case_ref": self.ref,
            **self.registration,
            "status": "closed" if self.closing else "open",
            "closing": self.closing,
            "disposed": self.disposed,
        }


MAX_RECORDS = 10_000
MAX_ENTRIES = 200


class SimStore:
    """Persons and cases, in memory, the most recently used kept. Refs are sequential so runs are
    reproducible."""

    def __init__(self, max_records: int = MAX_RECORDS) -> None:
        self.max_records = max_records
        self.persons: OrderedDict[str, _Person] = OrderedDict()
        self.by_personnummer: dict[str, str] = {}
        self.cases: OrderedDict[str, _Case] = OrderedDict()
        self._persons = 0
        self._cases = 0
        self._entries = 0

    def _keep_person(self, person: _Person) -> None:
        self.persons[person.ref] = person
        self.persons.move_to_end(person.ref)
        if person.personnummer:  # a stub (see `_person`) cannot be found by personnummer
            self.by_personnummer[person.personnummer] = person.ref
        while len(self.persons) > self.max_records:
            _, gone = self.persons.popitem(last=False)
            if self.by_personnummer.get(gone.personnummer) == gone.ref:
                del self.by_personnummer[gone.personnummer]

    def _keep_case(self, case: _Case) -> None:
        self.cases[case.ref] = case
        self.cases.move_to_end(case.ref)
        while len(self.cases) > self.max_records:
            self.cases.popitem(last=False)

    # Persons -------------------------------------------------------------------

    def upsert_person(self, body: PersonUpsertIn) -> tuple[int, JSON]:
        ref = self.by_personnummer.get(body.personnummer)
        if ref is None:
            self._persons += 1
            person = _Person(f"P{self._persons:07d}", **body.model_dump())
            self._keep_person(person)
            return 201, person.view()
        person = self._person(ref)
        # A known person: add what is given, clear nothing, never lower protection.
        person.name = body.name
        person.address = body.address or person.address
        person.phone = body.phone or person.phone
        person.email = body.email or person.email
        person.protected_identity = person.protected_identity or body.protected_identity
        return 200, person.view()

    def patch_person(self, ref: str, body: PersonPatchIn) -> tuple[int, JSON]:
        person = self._person(ref)
        for name in body.model_fields_set:
            setattr(person, name, getattr(body, name))
        return 200, person.view()

    def get_person(self, ref: str) -> tuple[int, JSON]:
        return 200, self._person(ref).view()

    # Cases ---------------------------------------------------------------------

    def register_case(self, body: CaseRegistrationIn) -> tuple[int, JSON]:
        self._person(body.person_ref)
        if body.guardian_ref is not None:
            self._person(body.guardian_ref)
        self._cases += 1
        case = _Case(body.model_dump(mode="json"), f"C{self._cases:07d}")
        case.history.append("registered")
        self._keep_case(case)
        return 201, case.view()

    def add_entry(self, case_ref: str, body: JournalEntryIn) -> tuple[int, JSON]:
        case = self._open_case(case_ref)
        self._entries += 1
        entry = {"entry_ref": f"E{self._entries:07d}", "case_ref": case_ref, **body.model_dump(mode="json")}
        case.entries.append(entry)
        case.history.append(f"entry:{entry['entry_ref']}")
        if len(case.entries) > MAX_ENTRIES:
            del case.entries[: len(case.entries) - MAX_ENTRIES]
        if len(case.history) > MAX_ENTRIES:
            del case.history[: len(case.history) - MAX_ENTRIES]
        return 201, entry

    def put_plan(self, case_ref: str, body: PlanIn) -> tuple[int, JSON]:
        case = self._open_case(case_ref)
        version = case.plan["version"] + 1 if case.plan else 1
        case.plan = {**body.model_dump(mode="json"), "case_ref": case_ref, "version": version}
        case.history.append(f"plan:{version}")
        return 200, case.plan

    def close_case(self, case_ref: str, body: ClosingIn) -> tuple[int, JSON]:
        case = self._open_case(case_ref)
        case.closing = body.model_dump(mode="json")
        case.history.append("closing")
        return 200, case.view()

    def set_disposal(self, case_ref: str, body: DisposalChangeIn) -> tuple[int, JSON]:
        case = self._case(case_ref)
        if case.closing is None:
            raise SimProblem(409, "case-open", "The ärende is open", f"Ärende {case_ref} is not closed.")
        case.closing = {**case.closing, **body.model_dump(mode="json")}
        case.history.append("disposal")
        return 200, case.view()

    def record_disposed(self, case_ref: str, body: DisposedIn) -> tuple[int, JSON]:
        case = self._case(case_ref)
        case.disposed = body.model_dump(mode="json")
        case.history.append("disposed")
        return 200, case.view()

    def get_case(self, ref: str) -> tuple[int, JSON]:
        return 200, self._case(ref).view()

    # Inspection ------------------------------------------------------------------

    def snapshot(self) -> JSON:
        """Everything, for tests: persons (with personnummer; test numbers only) and cases."""
        persons = [
            {**p.view(), "personnummer": p.personnummer, "address_withheld": p.protected_identity}
            for p in self.persons.values()
        ]
        cases = [{**c.view(), "entries": c.entries, "plan": c.plan, "history": c.history} for c in self.cases.values()]
        return {"persons": persons, "cases": cases}

    # Lookups ---------------------------------------------------------------------

    @staticmethod
    def _handed_out(ref: str, prefix: str, count: int) -> bool:
        return ref.startswith(prefix) and ref[1:].isdigit() and 1 <= int(ref[1:]) <= count

    def _person(self, ref: str) -> _Person:
        person = self.persons.get(ref)
        if person is None:
            if not self._handed_out(ref, "P", self._persons):
                raise SimProblem(404, "not-found", "Not found", "No such person.")
            person = _Person(ref, "", "(not kept by the simulator)", None, None, None, False)  # let go of: a stub
        self._keep_person(person)
        return person

    def _case(self, ref: str) -> _Case:
        case = self.cases.get(ref)
        if case is None:
            if not self._handed_out(ref, "C", self._cases):
                raise SimProblem(404, "not-found", "Not found", "No such ärende.")
            case = _Case({}, ref)  # let go of: a stub takes what comes
        self._keep_case(case)
        return case

    def _open_case(self, ref: str) -> _Case:
        case = self._case(ref)
        if case.closing is not None:
            detail = f"Ärende {ref} was closed on {case.closing['closed_on']}."
            raise SimProblem(409, "case-closed", "The ärende is closed", detail)
        return case
