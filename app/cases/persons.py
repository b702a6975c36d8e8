"""Identified persons: one record each, shared by all their cases; the registry occurrence question.

Only the standard rule (SoL 14:3) registers a person. A protected person's address
(skyddade personuppgifter) is not stored at all: the journal system takes it from the
population register itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import journal_events
from app.cases.audit import Action, AuditTrail
from app.cases.models import CaseRow, PersonRow
from app.cases.problems import invalid_fields
from app.cases.protection import PROTECTED_IDENTITY, PersonIdentity, Scrubber, storable_address
from app.cases.redaction import Redaction
from app.cases.repository import CaseRepository
from app.cases.schemas import PersonPatchIn
from app.catalog.domain import SubjectRule
from app.core.auth import Caller
from app.core.db import new_id
from app.core.errors import NOT_FOUND, ProblemError
from app.kit.clock import today
from app.kit.personnummer import InvalidIdentityNumber, parse_identity_number

_INVALID_PNR = "not a valid personnummer or samordningsnummer"


@dataclass(frozen=True, slots=True)
class Registered:
    person: PersonRow  # the one the case is registered on
    guardian: PersonRow | None  # parent-targeted cases: the parent who takes part


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
    ) -> Registered:
        """Validate and upsert the persons of an identified case (SoL 14:3).

        Seed 004: a parent-targeted case is registered on the child's personnummer and the parent
        is the guardian who takes part; otherwise on the one who receives the intervention.
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

        for item in valid:
            address, dropped = storable_address(item.path, item.identity)
            scrubber.redactions += dropped
            await self.repo.insert_person_if_new(
                {
                    "id": new_id(),
                    "personnummer": item.digits,
                    "name": (item.identity.name or "").strip(),
                    "address": address,
                    "phone": _clean(item.identity.phone),
                    "email": _clean(item.identity.email),
                    "protected_identity": item.identity.protected_identity,
                }
            )
        rows = await self.repo.persons_by_personnummer([v.digits for v in valid])
        for item in valid:
            scrubber.redactions += _add_contact(rows[item.digits], item.identity, item.path)
        return Registered(rows[valid[0].digits], rows[valid[1].digits] if len(valid) == 2 else None)

    # --- reading and changing a person --------------------------------------------------------------

    async def get(self, person_id: str) -> PersonRow:
        person = await self._visible(person_id)
        self.audit.record(Action.person_read, person_ids=[person.id])
        return person

    async def patch(self, person_id: str, body: PersonPatchIn) -> tuple[PersonRow, list[Redaction]]:
        """Change contact data once, for every case of the person (as the journal system does)."""
        person = await self._visible(person_id)
        given = body.model_fields_set
        redactions: list[Redaction] = []
        if "name" in given and body.name is not None:
            person.name = body.name.strip()
        if "phone" in given:
            person.phone = _clean(body.phone)
        if "email" in given:
            person.email = _clean(body.email)
        if "protected_identity" in given and body.protected_identity is not None:
            person.protected_identity = body.protected_identity
        if "address" in given:
            person.address = _clean(body.address)
        # OSL 22:1 — a protected person's address is never stored; setting the flag deletes it.
        if person.protected_identity:
            if "address" in given and _clean(body.address) is not None:
                redactions.append(Redaction(path="address", kind="address", rule=PROTECTED_IDENTITY))
            person.address = None
        journal_events.person_updated(self.session, person)
        self.audit.record(Action.person_updated, person_ids=[person.id])
        return person, redactions

    async def _visible(self, person_id: str) -> PersonRow:
        person = await self.repo.person_in_unit(person_id, self.caller)
        if person is None:
            raise ProblemError(NOT_FOUND, "No person with this id has a case in the calling unit.")
        return person

    # --- registry occurrence (förekomst) ----------------------------------------------------------

    async def occurrences(self, personnummer: str) -> tuple[PersonRow | None, list[CaseRow]]:
        """Whether the person has or had identified cases in the committee; exempted cases have no
        person, so they can never be found."""
        try:
            digits = parse_identity_number(personnummer, today=today()).digits
        except InvalidIdentityNumber:
            raise invalid_fields(("personnummer", "invalid_personnummer", _INVALID_PNR)) from None
        person = await self.repo.person_by_personnummer(digits)
        cases = [] if person is None else await self.repo.occurrences(person.id, self.caller.committee)
        self.audit.record(Action.registry_occurrence, person_ids=[None if person is None else person.id])
        return person, cases


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


def _add_contact(row: PersonRow, given: PersonIdentity, path: str) -> list[Redaction]:
    """An opening adds what it was given to a known person; nothing is cleared and the protected flag
    is only ever raised (as the journal system's upsert does)."""
    if given.protected_identity:
        row.protected_identity = True
    if given.name and given.name.strip():
        row.name = given.name.strip()
    if _clean(given.phone):
        row.phone = _clean(given.phone)
    if _clean(given.email):
        row.email = _clean(given.email)
    address = _clean(given.address)
    if row.protected_identity:
        row.address = None
        if address is not None and not given.protected_identity:  # else storable_address listed it
            return [Redaction(path=f"{path}.address", kind="address", rule=PROTECTED_IDENTITY)]
    elif address is not None:
        row.address = address
    return []
