"""One table of facts and verdicts for the one gate (SoL 11 kap. 5 §, the summary check).

The same rows are checked by the pure rules (`tests/unit/test_eligibility_rules.py`), through
`POST /v1/eligibility/check` and through `POST /v1/cases` (`tests/integration/test_gate.py`):
every row must give the same verdict everywhere. `eligible` and `undetermined` open a case;
`ineligible` and `not_yet` are refused with the same failed condition codes.

Facts are in the eligibility check's words. `subject` and `child` are personnummer that agree
with the row's `age` and `children_ages` on `ON`: an identified case registers them, and the
case endpoint computes the ages from them. Personnummer literals are Skatteverket's official
test numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

ON = dt.date(2026, 9, 1)

AGE_20 = "200601012396"  # born 2006-01-01: 20 on ON
AGE_21 = "200504012394"  # born 2005-04-01: 21 on ON
AGE_36 = "199003012391"  # born 1990-03-01: 36 on ON
AGE_41 = "198507012394"  # born 1985-07-01: 41 on ON
AGE_74 = "195201161857"  # born 1952-01-16: 74 on ON
AGE_82 = "194401012390"  # born 1944-01-01: 82 on ON
CHILD_11 = "201503012385"  # born 2015-03-01: 11 on ON


@dataclass(frozen=True)
class Row:
    id: str  # named after the rule it shows
    intervention: str
    facts: dict[str, Any]
    verdict: str  # eligible | undetermined | not_yet | ineligible
    failed: frozenset[str] = field(default_factory=frozenset)  # codes of the failed conditions
    subject: str | None = None  # the participant's personnummer (agrees with facts["age"])
    child: str | None = None  # the child's personnummer (parent-targeted; agrees with children_ages)


def row(
    id: str,
    intervention: str,
    verdict: str,
    failed: tuple[str, ...] = (),
    *,
    subject: str | None = None,
    child: str | None = None,
    **facts: Any,
) -> Row:
    return Row(id, intervention, facts, verdict, frozenset(failed), subject, child)


ROWS: list[Row] = [
    # --- a first visit: no sessions used, the target group taken as declared ---------------------
    row("first_visit_is_eligible", "kort-intervention", "eligible", age=30),
    row("first_visit_without_a_cap_is_eligible", "spel-om-pengar", "eligible", age=21),
    row("crisis_support_for_anyone_is_eligible", "krisstod", "eligible", age=52),
    row("target_group_is_taken_as_declared", "stodsamtal-skadligt-bruk", "eligible", age=30),
    row(
        "target_group_declined_is_ineligible",
        "samtal-om-vald",
        "ineligible",
        ("target_group_not_declared",),
        age=40,
        self_declared_target_group=False,
    ),
    row("an_unstated_role_stays_unknown", "anhorigstod", "undetermined", age=55),
    row("an_unstated_age_stays_unknown", "rad-och-stod-mottagning", "undetermined"),
    # --- SoL 11 kap. 5 § p. 5: protected housing and HVB only from 21, without children ---------
    row(
        "sol_11_5_p5_protected_housing_refused_under_21",
        "skyddat-boende-vuxna",
        "ineligible",
        ("age_below_minimum",),
        subject=AGE_20,
        age=20,
        accompanying_children=False,
    ),
    row(
        "sol_11_5_p5_protected_housing_from_21",
        "skyddat-boende-vuxna",
        "eligible",
        subject=AGE_21,
        age=21,
        accompanying_children=False,
    ),
    row(
        "sol_11_5_p5_protected_housing_refused_with_accompanying_children",
        "skyddat-boende-vuxna",
        "ineligible",
        ("has_accompanying_children",),
        subject=AGE_36,
        age=36,
        accompanying_children=True,
    ),
    row(
        "sol_11_5_p5_protected_housing_children_unstated_stays_unknown",
        "skyddat-boende-vuxna",
        "undetermined",
        subject=AGE_36,
        age=36,
    ),
    # --- the committee's age conditions ------------------------------------------------------------
    row("adults_over_20_refuse_a_16_year_old", "kort-intervention", "ineligible", ("age_below_minimum",), age=16),
    row("youth_13_20_refuse_24", "medling-vid-brott", "ineligible", ("age_above_maximum",), age=24),
    row("youth_13_20_admit_16", "medling-vid-brott", "eligible", age=16),
    row("violence_from_18_refuses_17", "motiverande-samtal-valdsutovare", "ineligible", ("age_below_minimum",), age=17),
    row("violence_from_18_admits_18", "motiverande-samtal-valdsutovare", "eligible", age=18),
    row(
        "relapse_prevention_from_13_refuses_12",
        "aterfallsprevention",
        "ineligible",
        ("age_below_minimum",),
        age=12,
        guardian_consent=True,
    ),
    row(
        "home_help_from_75_refuses_74",
        "hemtjanst-service",
        "ineligible",
        ("age_below_minimum",),
        subject=AGE_74,
        age=74,
    ),
    row("home_help_from_75_admits_82", "hemtjanst-service", "eligible", subject=AGE_82, age=82),
    # --- SoL 21 kap. 2 §: children ------------------------------------------------------------------
    row(
        "sol_21_2_under_15_without_consent_is_not_yet",
        "repulse",
        "not_yet",
        ("sol_21_2_guardian_consent_missing",),
        age=9,
    ),
    row(
        "sol_21_2_under_15_with_consent_refused_is_not_yet",
        "repulse",
        "not_yet",
        ("sol_21_2_guardian_consent_missing",),
        age=9,
        guardian_consent=False,
    ),
    row("sol_21_2_under_15_with_consent_is_eligible", "repulse", "eligible", age=9, guardian_consent=True),
    row("sol_21_2_15_17_considered_needs_no_consent", "repulse", "eligible", age=16),
    row(
        "sol_21_2_relapse_prevention_at_14_needs_consent",
        "aterfallsprevention",
        "not_yet",
        ("sol_21_2_guardian_consent_missing",),
        age=14,
    ),
    row(
        "sol_21_2_relapse_prevention_at_13_with_consent",
        "aterfallsprevention",
        "eligible",
        age=13,
        guardian_consent=True,
    ),
    row(
        "sol_21_2_missing_consent_is_not_hidden_by_an_unknown_school_year",
        "skolsocial-samverkan",
        "not_yet",
        ("sol_21_2_guardian_consent_missing",),
        age=10,
    ),
    row(
        "school_year_outside_the_condition_is_ineligible",
        "skolsocial-samverkan",
        "ineligible",
        ("school_year_not_allowed",),
        age=6,
        school_year=0,
        guardian_consent=True,
    ),
    row(
        "child_in_field_counselling_12_17_refuses_10",
        "rad-och-stod-falt",
        "ineligible",
        ("child_age_out_of_range",),
        role="child",
        age=10,
        guardian_consent=True,
    ),
    row(
        "child_in_field_counselling_admits_13",
        "rad-och-stod-falt",
        "eligible",
        role="child",
        age=13,
        guardian_consent=True,
    ),
    # --- roles ---------------------------------------------------------------------------------------
    row("relatives_support_admits_a_relative", "anhorigstod", "eligible", role="relative", age=55),
    row(
        "relatives_support_refuses_another_role",
        "anhorigstod",
        "ineligible",
        ("role_not_allowed",),
        role="adult",
        age=55,
    ),
    # --- seed 004: parent-targeted cases are about a child ---------------------------------------------
    row(
        "seed_004_family_treatment_for_a_child",
        "familjebehandling",
        "eligible",
        subject=AGE_41,
        child=CHILD_11,
        age=41,
        children_ages=(11,),
    ),
    row(
        "seed_004_family_treatment_refuses_an_adult_as_the_child",
        "familjebehandling",
        "ineligible",
        ("child_age_out_of_range",),
        subject=AGE_41,
        child=AGE_20,
        age=41,
        children_ages=(20,),
    ),
    row("parents_of_children_0_4_admit_a_parent_of_2", "barnsakert", "eligible", age=31, children_ages=(2,)),
    row(
        "parents_of_children_0_4_refuse_a_parent_of_6",
        "barnsakert",
        "ineligible",
        ("child_age_out_of_range",),
        age=31,
        children_ages=(6,),
    ),
    row("parent_group_admits_a_parent_of_9", "komet", "eligible", age=36, children_ages=(9,)),
    row("parenting_support_admits_a_parent_of_10", "foraldraskapsstod", "eligible", age=38, children_ages=(10,)),
    row("cooperation_talks_admit_parents", "frivilliga-samarbetssamtal", "eligible", age=42, children_ages=(7, 11)),
    row(
        "risky_behaviour_support_refuses_a_parent_of_an_adult",
        "stodsamtal-riskfyllt-beteende",
        "ineligible",
        ("child_age_out_of_range",),
        role="parent",
        age=58,
        children_ages=(30,),
    ),
    row(
        "risky_behaviour_support_admits_a_parent_of_a_child",
        "stodsamtal-riskfyllt-beteende",
        "eligible",
        role="parent",
        age=44,
        children_ages=(14,),
    ),
    row("motivational_talks_admit_33", "motiverande-samtal", "eligible", age=33),
    row("counselling_reception_admits_47", "rad-och-stod-mottagning", "eligible", age=47),
]

ROW_IDS = [r.id for r in ROWS]


def check_facts(r: Row) -> dict[str, Any]:
    """The row as the eligibility check's `facts` (the personnummer too, when the row has one)."""
    facts = {k: list(v) if isinstance(v, tuple) else v for k, v in r.facts.items()}
    if r.subject is not None:
        facts["personnummer"] = r.subject
    return facts


def case_opening(r: Row) -> dict[str, Any]:
    """The row as a `POST /v1/cases` body: the same facts in the opening's words."""
    facts = r.facts
    participant: dict[str, Any] = {"gender": "unknown"}
    if "role" in facts:
        participant["role"] = facts["role"]
    if r.subject is None:  # with a personnummer the service computes the age itself
        participant["age"] = facts.get("age", "unknown")
    body: dict[str, Any] = {"intervention_id": r.intervention, "opened_on": ON.isoformat(), "participant": participant}
    if r.subject is not None:
        body["subject"] = {"personnummer": r.subject, "name": "Sigrid Provsson"}
    if r.child is not None:
        body["child"] = {"personnummer": r.child, "name": "Pelle Provsson"}
    opening_facts = {
        name: facts[name]
        for name in ("school_year", "accompanying_children", "residence_committee", "self_declared_target_group")
        if name in facts
    }
    if "children_ages" in facts and r.child is None:
        opening_facts["children_ages"] = list(facts["children_ages"])
    if opening_facts:
        body["facts"] = opening_facts
    if "guardian_consent" in facts:
        body["guardian_consent"] = facts["guardian_consent"]
    return body
