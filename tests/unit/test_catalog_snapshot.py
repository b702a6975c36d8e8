"""The time-aware catalog (app.catalog.snapshot)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.catalog.domain import (
    Area,
    Category,
    Committee,
    Conditions,
    Decision,
    DeliveryForm,
    DocumentationRule,
    Intervention,
    Kind,
    SubjectRule,
)
from app.catalog.loader import demo_catalog_path, load_catalog_text
from app.catalog.snapshot import CatalogSnapshot

D = dt.date
COMMITTEES = [Committee("sn-a", "Socialnämnden A"), Committee("sn-b", "Socialnämnden B")]


def iv(slug: str, max_sessions: int | None = None) -> Intervention:
    return Intervention(
        id=slug,
        name=slug.title(),
        description="",
        area=Area.adults,
        category=Category.individual_support,
        delivery_form=DeliveryForm.individual,
        kind=Kind.other,
        target_group="",
        conditions=Conditions(min_age=18, max_sessions=max_sessions),
        delivered_in_home=False,
        subject_rule=SubjectRule.recipient,
        documentation_rule=DocumentationRule.standard,
    )


def decision(
    id: str,
    *interventions: Intervention,
    committee: str = "sn-a",
    decided_on: dt.date = D(2025, 6, 17),
    reference: str = "§ 1",
    effective_from: dt.date = D(2025, 7, 1),
    effective_to: dt.date | None = None,
    withdrawn: tuple[str, ...] = (),
) -> Decision:
    return Decision(
        id=id,
        committee=committee,
        decided_on=decided_on,
        reference=reference,
        effective_from=effective_from,
        effective_to=effective_to,
        interventions=interventions,
        withdrawn=withdrawn,
    )


FIRST = decision("first", iv("krisstod", 3), iv("samtal", 5))
LATER = decision(
    "later",
    iv("krisstod", 5),
    decided_on=D(2025, 12, 10),
    reference="§ 200",
    effective_from=D(2026, 1, 1),
)


def sessions(snapshot: CatalogSnapshot, slug: str, day: dt.date, committee: str = "sn-a") -> int | None:
    found = snapshot.find(committee, slug, day)
    assert found is not None, (slug, day)
    return found.intervention.conditions.max_sessions


def test_nothing_is_in_force_before_the_first_decision() -> None:
    snapshot = CatalogSnapshot(COMMITTEES, [FIRST])
    assert snapshot.in_force("sn-a", D(2025, 6, 30)) == {}
    assert set(snapshot.in_force("sn-a", D(2025, 7, 1))) == {"krisstod", "samtal"}


def test_a_later_decision_supersedes_per_intervention_from_its_effective_from() -> None:
    snapshot = CatalogSnapshot(COMMITTEES, [LATER, FIRST])  # order of input does not matter
    on = snapshot.in_force("sn-a", D(2026, 1, 1))
    assert on["krisstod"].decision_id == "later"
    assert on["krisstod"].effective_from == D(2026, 1, 1)
    assert sessions(snapshot, "krisstod", D(2026, 1, 1)) == 5
    # The intervention the later decision does not mention stays with the earlier one.
    assert on["samtal"].decision_id == "first"


def test_history_is_unchanged_for_earlier_dates() -> None:
    snapshot = CatalogSnapshot(COMMITTEES, [FIRST, LATER])
    assert sessions(snapshot, "krisstod", D(2025, 12, 31)) == 3
    assert snapshot.in_force("sn-a", D(2025, 12, 31))["krisstod"].decision_id == "first"
    # Asked after a later date has been looked at, the answer is the same.
    assert sessions(snapshot, "krisstod", D(2026, 3, 1)) == 5
    assert sessions(snapshot, "krisstod", D(2025, 8, 1)) == 3


def test_effective_to_ends_a_decision() -> None:
    trial = decision("trial", iv("pilot"), effective_to=D(2025, 12, 31))
    snapshot = CatalogSnapshot(COMMITTEES, [FIRST, trial])
    assert snapshot.find("sn-a", "pilot", D(2025, 12, 31)) is not None
    assert snapshot.find("sn-a", "pilot", D(2026, 1, 1)) is None
    assert snapshot.in_force("sn-a", D(2025, 12, 31))["pilot"].effective_to == D(2025, 12, 31)
    assert set(snapshot.in_force("sn-a", D(2026, 1, 1))) == {"krisstod", "samtal"}


def test_an_ended_change_no_longer_supersedes() -> None:
    # A time-limited change is temporary: the earlier decision, still in force, applies again.
    temporary = decision(
        "temporary",
        iv("krisstod", 10),
        decided_on=D(2025, 12, 1),
        effective_from=D(2026, 1, 1),
        effective_to=D(2026, 6, 30),
    )
    snapshot = CatalogSnapshot(COMMITTEES, [FIRST, temporary])
    assert sessions(snapshot, "krisstod", D(2026, 6, 30)) == 10
    assert sessions(snapshot, "krisstod", D(2026, 7, 1)) == 3


def test_withdrawn_slugs_disappear_from_the_decision_date() -> None:
    withdrawal = decision("withdrawal", decided_on=D(2026, 2, 1), effective_from=D(2026, 3, 1), withdrawn=("samtal",))
    snapshot = CatalogSnapshot(COMMITTEES, [FIRST, withdrawal])
    assert snapshot.find("sn-a", "samtal", D(2026, 2, 28)) is not None
    assert snapshot.find("sn-a", "samtal", D(2026, 3, 1)) is None
    assert set(snapshot.in_force("sn-a", D(2026, 3, 1))) == {"krisstod"}


def test_a_withdrawn_slug_can_be_offered_again_by_a_later_decision() -> None:
    withdrawal = decision("withdrawal", decided_on=D(2026, 2, 1), effective_from=D(2026, 3, 1), withdrawn=("samtal",))
    again = decision("again", iv("samtal", 8), decided_on=D(2026, 8, 1), effective_from=D(2026, 9, 1))
    snapshot = CatalogSnapshot(COMMITTEES, [FIRST, withdrawal, again])
    assert snapshot.find("sn-a", "samtal", D(2026, 8, 31)) is None
    assert sessions(snapshot, "samtal", D(2026, 9, 1)) == 8


def test_committees_are_separate() -> None:
    other = decision("other", iv("anhorigstod"), committee="sn-b", reference="§ 1")
    withdrawal = decision("withdrawal", committee="sn-b", effective_from=D(2026, 1, 1), withdrawn=("krisstod",))
    snapshot = CatalogSnapshot(COMMITTEES, [FIRST, other, withdrawal])
    assert set(snapshot.in_force("sn-a", D(2026, 2, 1))) == {"krisstod", "samtal"}
    assert set(snapshot.in_force("sn-b", D(2026, 2, 1))) == {"anhorigstod"}
    assert snapshot.find("sn-b", "krisstod", D(2025, 8, 1)) is None
    assert snapshot.in_force("sn-unknown", D(2025, 8, 1)) == {}
    assert [d.id for d in snapshot.decisions_of("sn-b")] == ["other", "withdrawal"]
    assert len(snapshot.decisions_of()) == 3


def test_on_the_same_day_the_later_decided_decision_wins() -> None:
    early = decision("early", iv("krisstod", 1), decided_on=D(2025, 6, 1))
    late = decision("late", iv("krisstod", 2), decided_on=D(2025, 6, 20))
    for order in ([early, late], [late, early]):
        assert sessions(CatalogSnapshot(COMMITTEES, order), "krisstod", D(2025, 7, 1)) == 2


def test_at_the_same_meeting_the_later_paragraph_wins() -> None:
    # "§ 123" follows "§ 99" at the same meeting (a plain string sort would put it first).
    p99 = decision("p99", iv("krisstod", 1), reference="§ 99")
    p123 = decision("p123", iv("krisstod", 2), reference="§ 123")
    for order in ([p99, p123], [p123, p99]):
        snapshot = CatalogSnapshot(COMMITTEES, order)
        assert sessions(snapshot, "krisstod", D(2025, 7, 1)) == 2
        assert [d.id for d in snapshot.decisions_of("sn-a")] == ["p99", "p123"]


def test_changing_a_returned_dict_does_not_change_the_snapshot() -> None:
    snapshot = CatalogSnapshot(COMMITTEES, [FIRST])
    first = snapshot.in_force("sn-a", D(2025, 8, 1))
    first.clear()
    assert set(snapshot.in_force("sn-a", D(2025, 8, 1))) == {"krisstod", "samtal"}
    assert snapshot.find("sn-a", "krisstod", D(2025, 8, 1)) is not None


def test_duplicate_decision_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate decision ids"):
        CatalogSnapshot(COMMITTEES, [FIRST, FIRST])


def test_the_demo_catalog_as_a_snapshot() -> None:
    committees, decisions = load_catalog_text(demo_catalog_path().read_text(encoding="utf-8"))
    snapshot = CatalogSnapshot(committees, decisions)
    for committee in committees:
        assert snapshot.in_force(committee.id, D(2025, 6, 30)) == {}
        offered = snapshot.in_force(committee.id, D(2025, 7, 1))
        assert len(offered) == 22
        assert {o.committee for o in offered.values()} == {committee.id}
        assert len(snapshot.in_force(committee.id, D(2030, 1, 1))) == 22
