"""What is kept and what is removed before anything is written. Pure.

- SoL 14:5 (`identity_exempt`) and SoL 14:4 (`counselling_exempt`): structured identity
  fields are dropped (the tables of exempted records have no identity columns at all), and
  free text is scrubbed of the request's own identity values plus anything shaped like a
  personnummer, phone number, e-mail address or street address (`redaction.scrub_text`).
- SoL 14:3 (`standard`): the person is registered; free text is kept as written (the record
  is identified by law) and never logged.
- Protected personal data (skyddade personuppgifter, OSL 22:1): the address is not stored.

Redaction records name the path, the kind and the rule — never the value.
"""

from __future__ import annotations

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
