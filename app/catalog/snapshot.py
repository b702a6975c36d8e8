"""The time-aware catalog held in memory: which interventions were in force on a date.

A later decision supersedes an earlier one, intervention by intervention, from its
`effective_from`; history is never rewritten, so any past date can be asked about. A
decision with an `effective_to` stops being in force after that day. Pure: built from
decisions, queried without I/O, so the hot read path (eligibility, case opening) never
touches the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.catalog.domain import Committee, Decision, Intervention


@dataclass(frozen=True, slots=True)
class OfferedIntervention:
    """An intervention as offered by one committee, with the decision that offers it."""

    committee: str
    decision_id: str
    effective_from: dt.date
    effective_to: dt.date | None
    intervention: Intervention

    @property
    def id(self) -> str:
        return self.intervention.id


def _precedence(decision: Decision) -> tuple[dt.date, dt.date, str]:
    # Later effective_from wins; on the same day the later decision, then a stable tiebreak.
    return (decision.effective_from, decision.decided_on, decision.reference)


class CatalogSnapshot:
    """An immutable view of all committees and decisions, indexed for lookups by date."""

    def __init__(self, committees: list[Committee], decisions: list[Decision]) -> None:
        self.committees: dict[str, Committee] = {c.id: c for c in committees}
        self.decisions: dict[str, Decision] = {d.id: d for d in decisions}
        self._by_committee: dict[str, list[Decision]] = {}
        for decision in sorted(decisions, key=_precedence):
            self._by_committee.setdefault(decision.committee, []).append(decision)
        self._cache: dict[tuple[str, dt.date], dict[str, OfferedIntervention]] = {}

    def in_force(self, committee: str, day: dt.date) -> dict[str, OfferedIntervention]:
        """Every intervention the committee offered on `day`, by slug."""
        key = (committee, day)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        offered: dict[str, OfferedIntervention] = {}
        for decision in self._by_committee.get(committee, ()):
            if not decision.in_force_on(day):
                continue
            for intervention in decision.interventions:
                offered[intervention.id] = OfferedIntervention(
                    committee=committee,
                    decision_id=decision.id,
                    effective_from=decision.effective_from,
                    effective_to=decision.effective_to,
                    intervention=intervention,
                )
            for slug in decision.withdrawn:
                offered.pop(slug, None)
        if len(self._cache) > 4096:  # bounded: dates are few in practice
            self._cache.clear()
        self._cache[key] = offered
        return offered

    def find(self, committee: str, intervention_id: str, day: dt.date) -> OfferedIntervention | None:
        return self.in_force(committee, day).get(intervention_id)

    def decisions_of(self, committee: str | None = None) -> list[Decision]:
        found = [d for d in self.decisions.values() if committee is None or d.committee == committee]
        return sorted(found, key=_precedence)
