"""What is kept and what is removed before anything is written. Pure.

- SoL 14:5 (`identity_exempt`) and SoL 14:4 (`counselling_exempt`): structured identity
  fields are dropped (the tables of exempted records have no identity columns at all), and
  free text is scrubbed of the request's own identity values plus anything shaped like a
  personnummer, phone number, e-mail address or street address (`redaction.scrub_text`).
- SoL 14:3 (`standard`): the person is registered; free text is kept as written (the record
  is identified by law) and never logged.
- Protected personal data (skyddade personuppgifter, OSL 22:1): the address is not stored;
  phone and e-mail are shown only to the unit that recorded them.
- Contact details are recorded per unit: another unit sees them only while it has a case with
  the person too (the caller establishes the case; these rules decide what it then sees).

Redaction records name the path, the kind and the rule — never the value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from app.cases.redaction import KnownIdentity, Redaction, rule_for, scrub_text
from app.catalog.domain import DocumentationRule

PROTECTED_IDENTITY: Final = "protected_identity"

# Structured identity fields and the kind of value each holds.
IDENTITY_FIELDS: Final = (
    ("personnummer", "personnummer"),
    ("name", "name"),
    ("address", "address"),
    ("phone", "phone"),
    ("email", "email"),
)


@dataclass(frozen=True, slots=True, repr=False)
class PersonIdentity:
    """Identity values as a request carried them. `repr` shows none of them."""

    personnummer: str | None = None
    name: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    protected_identity: bool = False

    def __repr__(self) -> str:
        return "PersonIdentity(****)"

    def given(self) -> list[tuple[str, str]]:
        """(field, kind) of each identity value present."""
        return [(name, kind) for name, kind in IDENTITY_FIELDS if (getattr(self, name) or "").strip()]


def known_identity(people: list[PersonIdentity]) -> KnownIdentity:
    """Everything the request told us about who is concerned, for scrubbing its free text."""
    return KnownIdentity.of(
        personnummer=[p.personnummer for p in people],
        names=[p.name for p in people],
        phones=[p.phone for p in people],
        emails=[p.email for p in people],
        addresses=[p.address for p in people],
    )


# SoL 14:5 / 14:4 — structured identity values are never persisted for an exempted case.
def dropped_identity(path: str, person: PersonIdentity | None, rule: DocumentationRule) -> list[Redaction]:
    paragraph = rule_for(rule.value)
    if person is None or paragraph is None:
        return []
    return [Redaction(path=f"{path}.{name}", kind=kind, rule=paragraph) for name, kind in person.given()]


# OSL 22:1, folkbokföringslagen 16-17 b §§ — a protected person's address is not stored at all.
def storable_address(path: str, person: PersonIdentity) -> tuple[str | None, list[Redaction]]:
    address = (person.address or "").strip() or None
    if person.protected_identity and address is not None:
        return None, [Redaction(path=f"{path}.address", kind="address", rule=PROTECTED_IDENTITY)]
    return address, []


@dataclass(frozen=True, slots=True, repr=False)
class Contact:
    """Contact details of a person as one unit recorded them. `repr` shows none of the values."""

    unit: str
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    recorded_at: dt.datetime | None = None

    def __repr__(self) -> str:
        return f"Contact(unit={self.unit!r}, ****)"

    @property
    def empty(self) -> bool:
        return self.address is None and self.phone is None and self.email is None


def _newest_first(contacts: Sequence[Contact]) -> list[Contact]:
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(contacts, key=lambda c: c.recorded_at or oldest, reverse=True)


# OSL 22:1 — a protected person's address is never stored, and their phone and e-mail are shown
# to no unit but the one that recorded them. Otherwise a unit with a case sees what the other
# units with a case recorded (seed 004: a change of contact data shows in every case).
def contacts_shown(unit: str, contacts: Sequence[Contact], *, protected: bool) -> tuple[Contact | None, list[Contact]]:
    """(the unit's own record, the other units' records newest first) as shown to `unit`, which
    has a case with the person (without one it sees nothing at all)."""
    own = next((c for c in contacts if c.unit == unit), None)
    if own is not None and protected:
        own = Contact(own.unit, None, own.phone, own.email, own.recorded_at)
    if protected:
        return own, []
    return own, [c for c in _newest_first(contacts) if c.unit != unit and not c.empty]


# OSL 22:1 — the journal system keeps one set of contact details per person and never gets a
# protected person's address.
def journal_contact(unit: str, contacts: Sequence[Contact], *, protected: bool) -> Contact:
    """The contact details the journal system is sent after `unit` changed its record: field by
    field the changing unit's value, else the most recently recorded value of another unit, so
    one unit clearing its value does not erase what another still knows."""
    ordered = [c for c in contacts if c.unit == unit] + [c for c in _newest_first(contacts) if c.unit != unit]

    def first(name: str) -> str | None:
        return next((value for c in ordered if (value := getattr(c, name)) is not None), None)

    return Contact(unit, None if protected else first("address"), first("phone"), first("email"))


@dataclass
class Scrubber:
    """Scrubs a request's free text under the case's documentation rule, collecting redactions."""

    rule: DocumentationRule
    known: KnownIdentity = field(default_factory=KnownIdentity)
    redactions: list[Redaction] = field(default_factory=list)

    @property
    def exempt(self) -> bool:
        return not self.rule.keeps_identity

    def text(self, value: str | None, path: str) -> str | None:
        """The text as it may be stored; unchanged under the standard rule (SoL 14:3)."""
        paragraph = rule_for(self.rule.value)
        if value is None or paragraph is None:
            return value
        scrubbed, found = scrub_text(value, self.known, path=path, rule=paragraph)
        self.redactions.extend(found)
        return scrubbed

    def drop(self, path: str, kind: str) -> None:
        """Record that a structured value was not stored because the case is exempted."""
        paragraph = rule_for(self.rule.value)
        if paragraph is not None:
            self.redactions.append(Redaction(path=path, kind=kind, rule=paragraph))
