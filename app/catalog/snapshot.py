"""The time-aware catalog held in memory: which interventions were in force on a date.

A later decision supersedes an earlier one, intervention by intervention, from its
`effective_from`; history is never rewritten, so any past date can be asked about. A
decision with an `effective_to` stops being in force after that day; from then on it no
longer supersedes anything, so an earlier decision still in force applies again to the
interventions the ended decision had changed or withdrawn (a time-limited change is a
temporary change, not a repeal). Pure: built from
decisions, queried without I/O, so the hot read path (eligibility, case opening) never
touches the database.
"""

from __future__ import annotations

import datetime as dt
import re
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


_DIGITS = re.compile(r"(\d+)")


def _reference_key(reference: str) -> tuple[tuple[int, str], ...]:
    # Natural order: "§ 99" comes before "§ 123" (a plain string sort puts it after).
    parts = _DIGITS.split(reference)
    return tuple((int(part), "") if i % 2 else (-1, part) for i, part in enumerate(parts))


def _precedence(decision: Decision) -> tuple[dt.date, dt.date, tuple[tuple[int, str], ...], str]:
    # Later effective_from wins; on the same day the later decision, then the later paragraph
    # of the same meeting, then the id as a stable tiebreak.
    return (decision.effective_from, decision.decided_on, _reference_key(decision.reference), decision.id)


class CatalogSnapshot:
    """An immutable view of all committees and decisions, indexed for lookups by date."""

    def __init__(self, committees: list[Committee], decisions: list[Decision]) -> None:
        self.committees: dict[str, Committee] = {c.id: c for c in committees}
        self.decisions: dict[str, Decision] = {d.id: d for d in decisions}
        if len(self.decisions) != len(decisions):
            raise ValueError("duplicate decision ids")
        self._by_committee: dict[str, list[Decision]] = {}
        for decision in sorted(decisions, key=_precedence):
            self._by_committee.setdefault(decision.committee, []).append(decision)
        self._cache: dict[tuple[str, dt.date], dict[str, OfferedIntervention]] = {}

    def in_force(self, committee: str, day: dt.date) -> dict[str, OfferedIntervention]:
        """Every intervention the committee offered on `day`, by slug.

        A fresh dict each call: changing it does not change the snapshot or its cache.
        """
        return dict(self._offered(committee, day))

    def find(self, committee: str, intervention_id: str, day: dt.date) -> OfferedIntervention | None:
        return self._offered(committee, day).get(intervention_id)

    def _offered(self, committee: str, day: dt.date) -> dict[str, OfferedIntervention]:
        # The cached dict itself: never hand it out.
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

    def decisions_of(self, committee: str | None = None) -> list[Decision]:
        found = [d for d in self.decisions.values() if committee is None or d.committee == committee]
        return sorted(found, key=_precedence)
