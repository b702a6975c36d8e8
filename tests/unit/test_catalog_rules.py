"""The legal checks on a committee decision (app.catalog.rules)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.catalog.domain import (
    Area,
    Category,
    Conditions,
    Decision,
    DeliveryForm,
    DocumentationRule,
    Intervention,
    Kind,
    Role,
    SubjectRule,
)
from app.catalog.rules import (
    EXCLUDED_KINDS,
    Violation,
    check_decision,
    decision_warnings,
    is_excluded_kind,
    may_include_ages_15_17,
)


def make_intervention(
    id: str = "stodsamtal", conditions: Conditions | None = None, **overrides: object
) -> Intervention:
    """A valid adult intervention (18+, standard documentation) unless overridden."""
    fields: dict[str, object] = {
        "id": id,
        "name": "Stödsamtal",
        "description": "Samtal.",
        "area": Area.adults,
        "category": Category.individual_support,
        "delivery_form": DeliveryForm.individual,
        "kind": Kind.other,
        "target_group": "Vuxna.",
        "conditions": conditions if conditions is not None else Conditions(min_age=18),
        "delivered_in_home": False,
        "subject_rule": SubjectRule.recipient,
        "documentation_rule": DocumentationRule.standard,
        "special_reasons": None,
    }
    fields.update(overrides)
    return Intervention(**fields)  # type: ignore[arg-type]


def make_decision(*interventions: Intervention, **overrides: object) -> Decision:
    fields: dict[str, object] = {
        "id": "d1",
        "committee": "sn-sydvast",
        "decided_on": dt.date(2025, 6, 17),
        "reference": "§ 123",
        "effective_from": dt.date(2025, 7, 1),
        "effective_to": None,
        "interventions": interventions or (make_intervention(),),
        "withdrawn": (),
    }
    fields.update(overrides)
    return Decision(**fields)  # type: ignore[arg-type]


def check(*interventions: Intervention, **overrides: object) -> list[Violation]:
    return check_decision(make_decision(*interventions, **overrides))


def codes(violations: list[Violation]) -> list[str]:
    return [v.code for v in violations]


def only(violations: list[Violation]) -> Violation:
    assert len(violations) == 1, violations
    return violations[0]


def test_a_valid_decision_has_no_violations() -> None:
    assert check() == []


# --- SoL 11 kap. 5 § ---------------------------------------------------------------------------


def test_the_excluded_kinds_are_the_eight() -> None:
    assert {k.value for k in EXCLUDED_KINDS} == {
        "contact_person_or_family",
        "family_home_care",
        "lvm_home_care",
        "special_youth_home_care",
        "youth_18_20_residential_care",
        "special_housing_elderly_or_disabled",
        "other_24h_care_home",
        "economic_assistance",
    }


@pytest.mark.parametrize("kind", sorted(EXCLUDED_KINDS))
def test_sol_11_5_excluded_kind_is_refused(kind: Kind) -> None:
    assert is_excluded_kind(kind)
    violation = only(check(make_intervention(kind=kind)))
    assert (violation.rule, violation.code, violation.field) == ("SoL 11:5", "excluded_kind", "kind")
    assert violation.intervention_id == "stodsamtal"


def test_sol_11_5_economic_assistance_is_named_as_not_a_personal_need() -> None:
    violation = only(check(make_intervention(kind=Kind.economic_assistance)))
    assert "12 kap." in violation.message
    assert "Economic assistance" in violation.message


@pytest.mark.parametrize("kind", [Kind.other, Kind.home_help, Kind.protected_housing, Kind.residential_care])
def test_sol_11_5_allowed_kinds_are_not_excluded(kind: Kind) -> None:
    assert not is_excluded_kind(kind)


@pytest.mark.parametrize("min_age", [None, 18, 20])
def test_sol_11_5_p5_protected_housing_requires_age_21(min_age: int | None) -> None:
    shelter = make_intervention(
        kind=Kind.protected_housing,
        conditions=Conditions(min_age=min_age, no_accompanying_children=True, ages_15_17_considered=True),
    )
    violation = only(check(shelter))
    assert (violation.rule, violation.code, violation.field) == (
        "SoL 11:5 p. 5",
        "protected_housing_requires_age_21",
        "conditions.min_age",
    )


def test_sol_11_5_p5_protected_housing_requires_no_accompanying_children() -> None:
    shelter = make_intervention(kind=Kind.protected_housing, conditions=Conditions(min_age=21))
    violation = only(check(shelter))
    assert (violation.rule, violation.code, violation.field) == (
        "SoL 11:5 p. 5",
        "protected_housing_requires_no_accompanying_children",
        "conditions.no_accompanying_children",
    )


def test_sol_11_5_p5_protected_housing_from_21_without_children_passes() -> None:
    shelter = make_intervention(
        kind=Kind.protected_housing, conditions=Conditions(min_age=21, no_accompanying_children=True)
    )
    assert check(shelter) == []


@pytest.mark.parametrize("min_age", [None, 0, 20])
def test_sol_11_5_p5_residential_care_requires_age_21(min_age: int | None) -> None:
    hvb = make_intervention(
        kind=Kind.residential_care, conditions=Conditions(min_age=min_age, ages_15_17_considered=True)
    )
    violation = only(check(hvb))
    assert (violation.rule, violation.code, violation.field) == (
        "SoL 11:5 p. 5",
        "residential_care_requires_age_21",
        "conditions.min_age",
    )


def test_sol_11_5_p5_residential_care_from_21_passes() -> None:
    # HVB needs no condition on accompanying children: that reading is for shelter only.
    assert check(make_intervention(kind=Kind.residential_care, conditions=Conditions(min_age=21))) == []


# --- SoL 14 kap. 4-5 §§ ------------------------------------------------------------------------


@pytest.mark.parametrize("reasons", [None, "", "   \n"])
def test_sol_14_5_identity_exemption_requires_special_reasons(reasons: str | None) -> None:
    exempt = make_intervention(documentation_rule=DocumentationRule.identity_exempt, special_reasons=reasons)
    violation = only(check(exempt))
    assert (violation.rule, violation.code, violation.field) == (
        "SoL 14:5",
        "identity_exemption_requires_special_reasons",
        "special_reasons",
    )


def test_sol_14_5_identity_exemption_without_risk_analysis_is_a_warning_not_a_violation() -> None:
    exempt = make_intervention(
        id="anonymt", documentation_rule=DocumentationRule.identity_exempt, special_reasons="Låg tröskel."
    )
    plain = make_intervention(id="vanligt")
    decision = make_decision(exempt, plain)
    assert check_decision(decision) == []
    [warning] = decision_warnings(decision)
    assert (warning.intervention_id, warning.rule, warning.code, warning.field) == (
        "anonymt",
        "SoL 14:5",
        "identity_exemption_without_risk_analysis",
        "risk_analysis_reference",
    )
    assert decision_warnings(make_decision(exempt, plain, risk_analysis_reference="Dnr 2026/1")) == []
    assert decision_warnings(make_decision(exempt, risk_analysis_reference="  ")) != []
    counselling = make_intervention(
        category=Category.counselling, documentation_rule=DocumentationRule.counselling_exempt
    )
    assert decision_warnings(make_decision(counselling)) == []  # 14:4 needs no committee decision


def test_sol_14_5_identity_exemption_with_special_reasons_passes() -> None:
    exempt = make_intervention(
        documentation_rule=DocumentationRule.identity_exempt,
        special_reasons="Våld i nära relation: anonymitet behövs för att nå målgruppen.",
    )
    assert check(exempt) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"delivered_in_home": True},
        {"kind": Kind.home_help},
        {"kind": Kind.home_help, "delivered_in_home": True},
    ],
)
def test_sol_14_5_identity_exemption_refused_in_home(overrides: dict[str, Any]) -> None:
    exempt = make_intervention(
        documentation_rule=DocumentationRule.identity_exempt, special_reasons="Låg tröskel.", **overrides
    )
    violation = only(check(exempt))
    assert (violation.rule, violation.code, violation.field) == (
        "SoL 14:5",
        "identity_exemption_in_home",
        "documentation_rule",
    )


def test_sol_14_5_home_help_with_standard_documentation_passes() -> None:
    home_help = make_intervention(kind=Kind.home_help, delivered_in_home=True, conditions=Conditions(min_age=75))
    assert check(home_help) == []


@pytest.mark.parametrize("category", [Category.group_support, Category.individual_support])
def test_sol_14_4_counselling_exemption_only_for_counselling(category: Category) -> None:
    exempt = make_intervention(category=category, documentation_rule=DocumentationRule.counselling_exempt)
    violation = only(check(exempt))
    assert (violation.rule, violation.code, violation.field) == (
        "SoL 14:4",
        "counselling_exemption_requires_counselling",
        "documentation_rule",
    )


def test_sol_14_4_counselling_exemption_for_counselling_passes() -> None:
    exempt = make_intervention(
        category=Category.counselling,
        delivery_form=DeliveryForm.group,
        documentation_rule=DocumentationRule.counselling_exempt,
    )
    assert check(exempt) == []


# --- SoL 21 kap. 2 § ---------------------------------------------------------------------------


INCLUDES_15_17 = [
    pytest.param(Conditions(), id="no-age-condition"),
    pytest.param(Conditions(min_age=13, max_age=20), id="13-20"),
    pytest.param(Conditions(min_age=17), id="from-17"),
    pytest.param(Conditions(max_age=15), id="up-to-15"),
    pytest.param(Conditions(min_age=5, max_age=17), id="5-17"),
    pytest.param(Conditions(roles=(Role.relative,)), id="relative-any-age"),
    pytest.param(Conditions(roles=(Role.parent,), child_min_age=0, child_max_age=4), id="parent-of-toddler"),
    pytest.param(
        Conditions(min_age=18, roles=(Role.child,), child_min_age=12, child_max_age=17),
        id="child-role-12-17",
    ),
    pytest.param(Conditions(min_age=21, roles=(Role.child,)), id="child-role-open-child-age"),
]

EXCLUDES_15_17 = [
    pytest.param(Conditions(min_age=18), id="from-18"),
    pytest.param(Conditions(min_age=21), id="from-21"),
    pytest.param(Conditions(max_age=14), id="up-to-14"),
    pytest.param(Conditions(min_age=5, max_age=12), id="5-12"),
    # A parent of a 15-year-old is not themself 15-17 when the parent is an adult.
    pytest.param(Conditions(min_age=18, roles=(Role.parent,), child_min_age=12, child_max_age=17), id="adult-parent"),
    pytest.param(
        Conditions(min_age=18, roles=(Role.child, Role.parent), child_min_age=0, child_max_age=12),
        id="child-role-0-12",
    ),
]


@pytest.mark.parametrize("conditions", INCLUDES_15_17)
def test_sol_21_2_ages_15_17_must_be_considered(conditions: Conditions) -> None:
    violation = only(check(make_intervention(conditions=conditions)))
    assert (violation.rule, violation.code, violation.field) == (
        "SoL 21:2",
        "ages_15_17_not_considered",
        "conditions.ages_15_17_considered",
    )


@pytest.mark.parametrize("conditions", INCLUDES_15_17)
def test_sol_21_2_ages_15_17_considered_passes(conditions: Conditions) -> None:
    considered = dataclasses.replace(conditions, ages_15_17_considered=True)
    assert check(make_intervention(conditions=considered)) == []


@pytest.mark.parametrize("conditions", EXCLUDES_15_17)
def test_sol_21_2_ranges_without_15_17_need_no_consideration(conditions: Conditions) -> None:
    assert check(make_intervention(conditions=conditions)) == []


ages = st.none() | st.integers(min_value=0, max_value=130)


@given(min_age=ages, max_age=ages)
def test_sol_21_2_participant_range_matches_the_definition(min_age: int | None, max_age: int | None) -> None:
    iv = make_intervention(conditions=Conditions(min_age=min_age, max_age=max_age))
    admitted = [
        age for age in (15, 16, 17) if (min_age is None or min_age <= age) and (max_age is None or age <= max_age)
    ]
    assert may_include_ages_15_17(iv) == bool(admitted)


# --- seed 004 ----------------------------------------------------------------------------------


def test_seed_004_child_subject_requires_parent_role() -> None:
    violation = only(check(make_intervention(subject_rule=SubjectRule.child)))
    assert (violation.rule, violation.code, violation.field) == (
        "seed 004",
        "child_subject_requires_parent_role",
        "subject_rule",
    )


def test_seed_004_child_subject_for_parents_passes() -> None:
    parents = make_intervention(
        subject_rule=SubjectRule.child,
        conditions=Conditions(min_age=18, roles=(Role.parent,), child_min_age=0, child_max_age=17),
    )
    assert check(parents) == []


# --- structure ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"conditions": Conditions(min_age=30, max_age=20)}, "min_age_above_max_age", "conditions.min_age"),
        (
            {"conditions": Conditions(min_age=18, child_min_age=10, child_max_age=5)},
            "child_min_age_above_child_max_age",
            "conditions.child_min_age",
        ),
        ({"conditions": Conditions(min_age=131)}, "age_out_of_range", "conditions.min_age"),
        ({"conditions": Conditions(min_age=18, max_age=200)}, "age_out_of_range", "conditions.max_age"),
        (
            {"conditions": Conditions(min_age=18, child_max_age=-1)},
            "age_out_of_range",
            "conditions.child_max_age",
        ),
        (
            {"conditions": Conditions(min_age=18, max_sessions=0)},
            "max_sessions_below_one",
            "conditions.max_sessions",
        ),
        (
            {"conditions": Conditions(min_age=18, school_years=(1, 10))},
            "school_year_out_of_range",
            "conditions.school_years",
        ),
        ({"id": "Stödsamtal"}, "invalid_slug", "id"),
        ({"id": "stod--samtal"}, "invalid_slug", "id"),
        ({"id": "-stod"}, "invalid_slug", "id"),
        ({"name": "  "}, "empty_name", "name"),
    ],
)
def test_structure_of_an_intervention(overrides: dict[str, Any], code: str, field: str) -> None:
    violation = only(check(make_intervention(**overrides)))
    assert (violation.rule, violation.code, violation.field) == ("structure", code, field)


def test_structure_max_sessions_of_one_passes() -> None:
    assert check(make_intervention(conditions=Conditions(min_age=18, max_sessions=1))) == []


def test_structure_duplicate_slugs() -> None:
    violation = only(check(make_intervention(), make_intervention()))
    assert (violation.intervention_id, violation.code, violation.field) == (
        "stodsamtal",
        "duplicate_intervention",
        "interventions",
    )


def test_structure_offered_and_withdrawn() -> None:
    violation = only(check(make_intervention(), withdrawn=("stodsamtal",)))
    assert (violation.intervention_id, violation.code) == ("stodsamtal", "offered_and_withdrawn")


def test_structure_withdrawn_slugs() -> None:
    found = check(make_intervention(), withdrawn=("krisstod", "krisstod", "Krisstöd"))
    assert codes(found) == ["duplicate_withdrawn", "invalid_slug"]


def test_structure_a_decision_may_only_withdraw() -> None:
    assert check_decision(make_decision(interventions=(), withdrawn=("krisstod",))) == []


def test_structure_an_empty_decision() -> None:
    assert codes(check_decision(make_decision(interventions=()))) == ["empty_decision"]


def test_structure_effective_to_before_effective_from() -> None:
    violation = only(check(effective_to=dt.date(2025, 6, 30)))
    assert (violation.code, violation.field, violation.intervention_id) == (
        "effective_to_before_effective_from",
        "effective_to",
        None,
    )


def test_structure_a_one_day_decision_passes() -> None:
    assert check(effective_to=dt.date(2025, 7, 1)) == []


def test_structure_effective_before_decided() -> None:
    # A decision cannot take effect retroactively, before the day it was made.
    violation = only(check(decided_on=dt.date(2025, 7, 2)))
    assert (violation.rule, violation.code, violation.field) == (
        "structure",
        "effective_before_decided",
        "effective_from",
    )


def test_structure_effective_on_the_day_of_decision_passes() -> None:
    assert check(decided_on=dt.date(2025, 7, 1)) == []


def test_structure_unknown_committee() -> None:
    violation = only(check_decision(make_decision(), committee_exists=False))
    assert (violation.rule, violation.code, violation.field, violation.intervention_id) == (
        "structure",
        "unknown_committee",
        "committee",
        None,
    )


def test_structure_empty_reference() -> None:
    assert codes(check(reference=" ")) == ["empty_reference"]


# --- all together ------------------------------------------------------------------------------


def test_several_violations_are_all_reported_together() -> None:
    shelter = make_intervention(id="skyddat-boende", kind=Kind.protected_housing, conditions=Conditions(min_age=18))
    contact = make_intervention(id="kontaktperson", kind=Kind.contact_person_or_family)
    home = make_intervention(
        id="hemtjanst",
        kind=Kind.home_help,
        category=Category.individual_support,
        documentation_rule=DocumentationRule.identity_exempt,
        conditions=Conditions(),
    )
    decision = make_decision(shelter, contact, home, decided_on=dt.date(2025, 8, 1), effective_to=dt.date(2025, 1, 1))
    found = check_decision(decision, committee_exists=False)
    assert [(v.intervention_id, v.code) for v in found] == [
        (None, "unknown_committee"),
        (None, "effective_before_decided"),
        (None, "effective_to_before_effective_from"),
        ("skyddat-boende", "protected_housing_requires_age_21"),
        ("skyddat-boende", "protected_housing_requires_no_accompanying_children"),
        ("kontaktperson", "excluded_kind"),
        ("hemtjanst", "identity_exemption_requires_special_reasons"),
        ("hemtjanst", "identity_exemption_in_home"),
        ("hemtjanst", "ages_15_17_not_considered"),
    ]
    assert all(v.message and v.message[0].isupper() for v in found)


def test_violations_are_frozen_values() -> None:
    violation = only(check(make_intervention(kind=Kind.lvm_home_care)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        violation.code = "other"  # type: ignore[misc]
