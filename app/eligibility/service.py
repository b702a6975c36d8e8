"""Eligibility use cases: resolve the facts, find the interventions in the in-memory catalog, evaluate.

Touches no database and keeps nothing: the facts live only for the request. An identity
number is turned into an age here and dropped; errors name fields, never values.
"""

from __future__ import annotations

import datetime as dt

from app.catalog.domain import Committee, Intervention
from app.catalog.snapshot import CatalogSnapshot, OfferedIntervention
from app.core.errors import NOT_FOUND, VALIDATION, ProblemError, problem_type
from app.eligibility.rules import (
    CompiledIntervention,
    ContradictoryFacts,
    Facts,
    InvalidFact,
    Status,
    Verdict,
    compile_intervention,
    evaluate,
    resolve_age,
)
from app.eligibility.schemas import FactsDoc, SearchFactsDoc

CONTRADICTORY_FACTS = problem_type(
    "contradictory-facts",
    422,
    "The facts contradict each other",
    "Facts that must agree do not, e.g. `age` and the age a `personnummer` gives on the date of the check. "
    "`fields` names the facts concerned; their values are never echoed.",
)


def _json_field(name: str) -> str:
    # The same paths as the validation problems' `field` (pydantic's location in the request).
    return "body.on" if name == "on" else f"body.facts.{name}"


def resolve_facts(doc: FactsDoc | SearchFactsDoc, on: dt.date) -> Facts:
    """The domain facts for the request's facts on `on`: an age, never an identity number."""
    identity_numbers: dict[str, str] = {}
    if doc.personnummer is not None:
        identity_numbers["personnummer"] = doc.personnummer.get_secret_value()
    if doc.samordningsnummer is not None:
        identity_numbers["samordningsnummer"] = doc.samordningsnummer.get_secret_value()
    try:
        age = resolve_age(on=on, age=doc.age, birth_date=doc.birth_date, identity_numbers=identity_numbers)
    except InvalidFact as exc:
        field = _json_field(exc.field)
        raise ProblemError(
            VALIDATION,
            f"1 field(s) failed validation: {field}.",
            errors=[{"field": field, "code": "invalid_identity_number", "message": exc.message}],
        ) from None
    except ContradictoryFacts as exc:
        fields = [_json_field(f) for f in exc.fields]
        detail = "These facts contradict each other: " + ", ".join(fields) + "."
        raise ProblemError(CONTRADICTORY_FACTS, detail, fields=fields) from None
    return Facts(
        age=age,
        role=doc.role,
        children_ages=tuple(doc.children_ages) if doc.children_ages is not None else None,
        school_year=doc.school_year,
        accompanying_children=doc.accompanying_children,
        residence_committee=doc.residence_committee,
        guardian_consent=doc.guardian_consent,
        sessions_used=doc.sessions_used if isinstance(doc, FactsDoc) else None,
        self_declared_target_group=doc.self_declared_target_group if isinstance(doc, FactsDoc) else None,
    )


class RuleCache:
    """Compiled interventions, so that each intervention's conditions are compiled once.

    Keyed by the identity of the catalog's (immutable) objects; an entry keeps them alive so an
    id is never reused for another object. A new catalog snapshot brings new objects and so new
    entries; the cache is cleared when it grows past `max_size`.
    """

    def __init__(self, max_size: int = 8192) -> None:
        self._entries: dict[tuple[int, int], tuple[Intervention, Committee, CompiledIntervention]] = {}
        self._max_size = max_size

    def get(self, intervention: Intervention, committee: Committee) -> CompiledIntervention:
        key = (id(intervention), id(committee))
        hit = self._entries.get(key)
        if hit is not None and hit[0] is intervention and hit[1] is committee:
            return hit[2]
        compiled = compile_intervention(intervention, committee)
        if len(self._entries) >= self._max_size:
            self._entries.clear()
        self._entries[key] = (intervention, committee, compiled)
        return compiled


RULES = RuleCache()


def _committee(catalog: CatalogSnapshot, committee_id: str) -> Committee:
    found = catalog.committees.get(committee_id)
    if found is None:  # decisions name registered committees; keep going with the id as the name
        found = Committee(committee_id, committee_id)
    return found


class EligibilityService:
    def __init__(self, catalog: CatalogSnapshot, rules: RuleCache = RULES) -> None:
        self.catalog = catalog
        self.rules = rules

    def check(
        self, committee_id: str, intervention_id: str, on: dt.date, facts: Facts
    ) -> tuple[OfferedIntervention, Verdict]:
        """The verdict on one intervention the committee offers on `on`; 404 if it offers none by that id."""
        offered = self.catalog.find(committee_id, intervention_id, on)
        if offered is None:
            raise ProblemError(NOT_FOUND, "The committee offers no intervention with this id on that date.")
        compiled = self.rules.get(offered.intervention, _committee(self.catalog, committee_id))
        return offered, evaluate(compiled, facts)

    def verdict(self, offered: OfferedIntervention, facts: Facts) -> Verdict:
        """The verdict on an intervention already found (the case opening's gate: the same check)."""
        return evaluate(self.rules.get(offered.intervention, _committee(self.catalog, offered.committee)), facts)

    def search(
        self, committee_id: str, on: dt.date, facts: Facts, *, include_ineligible: bool = False
    ) -> list[tuple[OfferedIntervention, Verdict]]:
        """Every intervention offered on `on` that the facts qualify for (no condition failed), by id."""
        committee = _committee(self.catalog, committee_id)
        found = []
        for offered in sorted(self.catalog.in_force(committee_id, on).values(), key=lambda o: o.id):
            verdict = evaluate(self.rules.get(offered.intervention, committee), facts)
            if include_ineligible or verdict.status is not Status.ineligible:
                found.append((offered, verdict))
        return found
