"""Identified persons: one register per committee, shared by the units that have a case with them.

Only the standard rule (SoL 14:3) registers a person. Each social committee is its own
controller, so a person row belongs to one committee, and every read and write here is scoped
by the caller's committee. Within it:

- a unit sees and changes the register data (personnummer, name, protection) only while it
  has a case with the person, as case subject or as guardian; otherwise the person does not
  exist for it (404);
- contact details are recorded per unit (`protection.contacts_shown` decides what another unit
  with a case sees);
- the name is never overwritten silently: a change is recorded as a new version (who, when);
  a different name carried by a later opening is kept as a version, not adopted, and the
  journal system keeps the register's name;
- `protected_identity` is raised by any unit with a case, by an opening or a change, and
  cleared only by a change carrying the scope `persons:protect`, audited; an opening never
  clears it. A protected person's address is not stored at all (the journal system takes it
  from the population register itself).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import journal_events
from app.cases.audit import Action, AuditTrail
from app.cases.journal_events import RegisteredPerson
from app.cases.models import CaseRow, PersonContactRow, PersonNameRow, PersonRow
from app.cases.problems import invalid_fields
from app.cases.protection import (
    PROTECTED_IDENTITY,
    Contact,
    PersonIdentity,
    Scrubber,
    contacts_shown,
    journal_contact,
    storable_address,
)
from app.cases.redaction import Redaction
from app.cases.repository import CaseRepository, StoredPerson
from app.cases.schemas import PersonPatchIn
from app.catalog.domain import SubjectRule
from app.core.auth import Caller
from app.core.batch import RowKey
from app.core.db import new_id
from app.core.errors import FORBIDDEN, NOT_FOUND, ProblemError
from app.journal.port import PersonRecord
from app.kit.clock import now, today
from app.kit.personnummer import InvalidIdentityNumber, parse_identity_number

_INVALID_PNR = "not a valid personnummer or samordningsnummer"
PROTECT_SCOPE = "persons:protect"


@dataclass(frozen=True, slots=True)
class Registered:
    person: RegisteredPerson  # the one the case is registered on
    guardian: RegisteredPerson | None  # parent-targeted cases: the parent who takes part
    # A registration read unlocked (`register(guarded=True)`): the person's row (a new one, or
    # the key of the one read) and its version as read (None: new), which the opening's write is
    # guarded by.
    guard: tuple[PersonRow | RowKey, str | None] | None = None


@dataclass(frozen=True, slots=True)
class PersonView:
    """A person as one unit sees them: the register data, its own contact record, what other units
    with a case recorded (as `contacts_shown` allows) and the name versions."""

    person: PersonRow
    own: Contact | None
    others: list[Contact]
    names: list[PersonNameRow]


@dataclass(frozen=True, slots=True)
class _Valid:
    path: str
    digits: str
    identity: PersonIdentity


class PersonRegistry:
    def __init__(self, session: AsyncSession, caller: Caller, audit: AuditTrail) -> None:
        self.session = session
        self.caller = caller
        self.audit = audit
        self.repo = CaseRepository(session)

    # --- registering at case opening ---------------------------------------------------------

    async def register(
        self,
        subject: PersonIdentity | None,
        child: PersonIdentity | None,
        subject_rule: SubjectRule,
        on: dt.date,
        scrubber: Scrubber,
        *,
        guarded: bool = False,
    ) -> Registered:
        """Validate and register the persons of an identified case (SoL 14:3) in the committee.

        `guarded` (PostgreSQL; one person, with no contact details and no protection to raise):
        the person is read, not upserted, and the registration is written with the opening's
        other rows, only if the person is still as read (`Registered.guard`).

        Seed 004: a parent-targeted case is registered on the child's personnummer and the parent
        is the guardian who takes part; otherwise on the one who receives the intervention.
        One statement registers both persons; a second adds the contact details the opening gave
        to the unit's own record (only when it gave any).
        """
        errors: list[tuple[str, str, str]] = []
        if subject_rule is SubjectRule.child:
            people = [("child", child), ("subject", subject)]
        else:
            people = [("subject", subject)]
            if child is not None:
                errors.append(("child", "not_applicable", "only for interventions registered on the child"))
        valid: list[_Valid] = []
        for path, person in people:
            found, problems = _validate(path, person, on)
            errors += problems
            if found is not None:
                valid.append(found)
        if len(valid) == 2 and valid[0].digits == valid[1].digits:
            errors.append(("child.personnummer", "same_person", "the child and the guardian must be different people"))
        if errors:
            raise invalid_fields(*errors)

        at = now()
        caller = self.caller
        rows: list[dict[str, Any]] = [
            {
                "id": new_id(),
                "committee": caller.committee,
                "personnummer": item.digits,
                "name": (item.identity.name or "").strip(),
                "name_source": "registration",
                "name_recorded_by": caller.sub,
                "name_recorded_unit": caller.unit,
                "name_recorded_at": at,
                "protected_identity": item.identity.protected_identity,
                "created_at": at,
                "updated_at": at,
            }
            for item in valid
        ]
        guard = None
        if guarded:
            stored, guard = await self._read_for_guard(rows)
        else:
            stored = await self.repo.upsert_persons(rows)
        contacts: list[dict[str, Any]] = []
        newly_protected: list[str] = []
        registered: list[RegisteredPerson] = []
        for item, row in zip(valid, rows, strict=True):
            current = stored[item.digits]
            known = current.id != row["id"]
            if known and not _same_name(current.name, row["name"]):
                # Not adopted: an opening never renames the person (here or in the journal system).
                self.repo.add(
                    PersonNameRow(
                        id=new_id(),
                        person_id=current.id,
                        name=row["name"],
                        source="opening",
                        recorded_by=caller.sub,
                        recorded_unit=caller.unit,
                        recorded_at=at,
                    )
                )
            if known and item.identity.protected_identity:
                newly_protected.append(current.id)
            address, dropped = storable_address(item.path, item.identity)
            scrubber.redactions += dropped
            if current.protected_identity and address is not None:  # protected by another opening
                scrubber.redactions.append(
                    Redaction(path=f"{item.path}.address", kind="address", rule=PROTECTED_IDENTITY)
                )
                address = None
            phone, email = _clean(item.identity.phone), _clean(item.identity.email)
            if address is not None or phone is not None or email is not None:
                contacts.append(
                    {
                        "person_id": current.id,
                        "unit": caller.unit,
                        "address": address,
                        "phone": phone,
                        "email": email,
                        "recorded_by": caller.sub,
                        "updated_at": at,
                    }
                )
            record = PersonRecord(
                personnummer=item.digits,
                name=current.name,
                address=address,
                phone=phone,
                email=email,
                protected_identity=current.protected_identity,
            )
            registered.append(RegisteredPerson(current.id, record, known, current.cases))
        if newly_protected:
            await self.repo.clear_addresses(newly_protected)
        if contacts:
            await self.repo.record_contacts(contacts)
        return Registered(registered[0], registered[1] if len(registered) == 2 else None, guard)

    async def _read_for_guard(
        self, rows: list[dict[str, Any]]
    ) -> tuple[dict[str, StoredPerson], tuple[PersonRow | RowKey, str | None]]:
        """The one person as the register has them now, unlocked (what the upsert would answer),
        and the guard of the write: their row and its version, or a new row when they are new."""
        if len(rows) != 1:
            raise ValueError("a guarded registration is of one person")
        row = rows[0]
        found = await self.repo.person_versioned(row["committee"], row["personnummer"])
        if found is None:
            person = PersonRow(**row)
            self.repo.add(person)
            stored = StoredPerson(person.id, person.name, person.protected_identity, (0, 0))
            return {person.personnummer: stored}, (person, None)
        stored = StoredPerson(found.id, found.name, found.protected_identity, found.cases)
        return {row["personnummer"]: stored}, ((cast(Table, PersonRow.__table__), {"id": found.id}), found.version)

    # --- reading and changing a person --------------------------------------------------------------

    async def get(self, person_id: str) -> PersonView:
        person = await self._visible(person_id)
        self.audit.record(Action.person_read, person_ids=[person.id])
        return await self._view(person, await self.repo.contacts_of(person.id))

    async def patch(self, person_id: str, body: PersonPatchIn) -> tuple[PersonView, list[Redaction]]:
        """Change the register data (for every unit and case, as the journal system does) and the
        calling unit's own contact details."""
        person = await self._visible(person_id, for_update=True)
        given = body.model_fields_set
        at = now()
        redactions: list[Redaction] = []
        contacts = await self.repo.contacts_of(person.id)
        if "protected_identity" in given and body.protected_identity is not None:
            self._protect(person, body.protected_identity, contacts)
        if "name" in given and body.name is not None and body.name.strip() != person.name:
            # Never a silent overwrite: the replaced name stays as a version with who set it and when.
            self.repo.add(
                PersonNameRow(
                    id=new_id(),
                    person_id=person.id,
                    name=person.name,
                    source=person.name_source,
                    recorded_by=person.name_recorded_by,
                    recorded_unit=person.name_recorded_unit,
                    recorded_at=person.name_recorded_at,
                    superseded_at=at,
                )
            )
            person.name, person.name_source = body.name.strip(), "change"
            person.name_recorded_by, person.name_recorded_unit, person.name_recorded_at = (
                self.caller.sub,
                self.caller.unit,
                at,
            )
        if given & {"address", "phone", "email"}:
            own = next((c for c in contacts if c.unit == self.caller.unit), None)
            if own is None:
                own = PersonContactRow(person_id=person.id, unit=self.caller.unit)
                self.repo.add(own)
                contacts.append(own)
            for name in ("address", "phone", "email"):
                if name in given:
                    setattr(own, name, _clean(getattr(body, name)))
            own.recorded_by, own.updated_at = self.caller.sub, at
        # OSL 22:1 — a protected person's address is never stored.
        if person.protected_identity:
            if "address" in given and _clean(body.address) is not None:
                redactions.append(Redaction(path="address", kind="address", rule=PROTECTED_IDENTITY))
            for contact in contacts:
                contact.address = None
        person.updated_at = at
        everyone = [_contact(c) for c in contacts]
        sent = journal_contact(self.caller.unit, everyone, protected=person.protected_identity)
        journal_events.person_updated(self.session, person, sent)
        self.audit.record(Action.person_updated, person_ids=[person.id])
        return await self._view(person, contacts), redactions

    def _protect(self, person: PersonRow, protect: bool, contacts: list[PersonContactRow]) -> None:
        """Raised by any unit with a case; cleared only with `persons:protect`. Both are audited."""
        if protect == person.protected_identity:
            return
        if not protect and not self.caller.has(PROTECT_SCOPE):
            raise ProblemError(
                FORBIDDEN,
                f"Clearing protected_identity (skyddade personuppgifter) requires the scope `{PROTECT_SCOPE}`.",
                required_scope=PROTECT_SCOPE,
            )
        person.protected_identity = protect
        action = Action.person_protection_raised if protect else Action.person_protection_cleared
        self.audit.record(action, person_ids=[person.id])

    async def _view(self, person: PersonRow, contacts: list[PersonContactRow]) -> PersonView:
        own, others = contacts_shown(
            self.caller.unit, [_contact(c) for c in contacts], protected=person.protected_identity
        )
        return PersonView(person, own, others, await self.repo.names_of(person.id))

    async def _visible(self, person_id: str, *, for_update: bool = False) -> PersonRow:
        person = await self.repo.person_in_unit(person_id, self.caller, for_update=for_update)
        if person is None:
            raise ProblemError(NOT_FOUND, "No person with this id has a case in the calling unit.")
        return person

    # --- registry occurrence (förekomst) ----------------------------------------------------------

    async def occurrences(self, personnummer: str, basis: str | None = None) -> tuple[PersonRow | None, list[CaseRow]]:
        """Whether the person has or had identified cases in the caller's committee; exempted cases
        have no person, so they can never be found, and another committee's register is not asked.
        The asker's legal basis goes into the audit trail."""
        try:
            digits = parse_identity_number(personnummer, today=today()).digits
        except InvalidIdentityNumber:
            raise invalid_fields(("personnummer", "invalid_personnummer", _INVALID_PNR)) from None
        person = await self.repo.person_by_personnummer(self.caller.committee, digits)
        cases = [] if person is None else await self.repo.occurrences(person.id, self.caller.committee)
        self.audit.record(Action.registry_occurrence, person_ids=[None if person is None else person.id], basis=basis)
        return person, cases


def _contact(row: PersonContactRow) -> Contact:
    return Contact(row.unit, row.address, row.phone, row.email, row.updated_at)


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _clean(value: str | None) -> str | None:
    return (value or "").strip() or None


def _validate(
    path: str, person: PersonIdentity | None, on: dt.date
) -> tuple[_Valid | None, list[tuple[str, str, str]]]:
    if person is None or not (person.personnummer or "").strip():
        return None, [(f"{path}.personnummer", "missing", "required for a case under the standard rule (SoL 14:3)")]
    errors: list[tuple[str, str, str]] = []
    if not (person.name or "").strip():
        errors.append((f"{path}.name", "missing", "required for a case under the standard rule (SoL 14:3)"))
    try:
        digits = parse_identity_number(person.personnummer or "", today=on).digits
    except InvalidIdentityNumber:
        return None, [*errors, (f"{path}.personnummer", "invalid_personnummer", _INVALID_PNR)]
    return (None if errors else _Valid(path, digits, person)), errors
