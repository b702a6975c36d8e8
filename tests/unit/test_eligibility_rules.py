"""The summary check (app.eligibility.rules): each legal rule, and every demo intervention.

Literal identity numbers are Skatteverket's official test personnummer and the test
samordningsnummer; all others are generated at run time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.catalog.domain import (
    Area,
    Category,
    Committee,
    Conditions,
    DeliveryForm,
    DocumentationRule,
    Intervention,
    Kind,
    Role,
    SubjectRule,
)
from app.catalog.loader import demo_catalog_path, load_catalog_text
from app.catalog.snapshot import CatalogSnapshot
from app.eligibility.rules import (
    ContradictoryFacts,
    Facts,
    InvalidFact,
    Status,
    Verdict,
    check_intervention,
    compile_intervention,
    evaluate,
    resolve_age,
)
from app.kit.personnummer import age_on
from tests.gate_table import ON as TABLE_ON
from tests.gate_table import ROW_IDS, ROWS, Row

ON = dt.date(2025, 9, 1)
COMMITTEE = Committee("sn-sydvast", "Socialnämnden Sydväst")
ADULT_PNR = "198101012386"  # born 1981-01-01: 44 on ON
CHILD_PNR = "201501012395"  # born 2015-01-01: 10 on ON
SAMORDNINGSNUMMER = "191401682396"  # born 1914-01-08: 111 on ON


def written_forms(twelve: str, short_sep: str = "-") -> list[str]:
    """The usual ways to write a number: 12 or 10 digits, with or without a separator."""
    return [twelve, f"{twelve[:8]}-{twelve[8:]}", f"{twelve[2:8]}{short_sep}{twelve[8:]}", twelve[2:]]


@pytest.fixture(scope="module")
def demo() -> dict[str, Intervention]:
    committees, decisions = load_catalog_text(demo_catalog_path().read_text(encoding="utf-8"))
    snapshot = CatalogSnapshot(committees, decisions)
    return {slug: o.intervention for slug, o in snapshot.in_force(COMMITTEE.id, ON).items()}


def intervention(conditions: Conditions, **overrides: Any) -> Intervention:
    values: dict[str, Any] = {
        "id": "samtalsgrupp",
        "name": "Samtalsgrupp",
        "description": "",
        "area": Area.children_youth_parents,
        "category": Category.group_support,
        "delivery_form": DeliveryForm.group,
        "kind": Kind.other,
        "target_group": "Barn och unga.",
        "conditions": conditions,
        "delivered_in_home": False,
        "subject_rule": SubjectRule.recipient,
        "documentation_rule": DocumentationRule.standard,
    }
    values.update(overrides)
    return Intervention(**values)


def check(iv: Intervention, **facts: Any) -> Verdict:
    return check_intervention(iv, COMMITTEE, Facts(**facts))


def by_condition(verdict: Verdict) -> dict[str, tuple[str, bool | None]]:
    return {r.condition: (r.code, r.met) for r in verdict.conditions}


def codes(items: Any) -> list[str]:
    return [item.code for item in items]


# --- SoL 21 kap. 2 §: children -------------------------------------------------------------------


def test_sol_21_2_under_15_needs_guardian_consent() -> None:
    iv = intervention(Conditions(min_age=5, max_age=17, ages_15_17_considered=True))
    for consent in (None, False):
        verdict = check(iv, age=10, guardian_consent=consent)
        assert verdict.status is Status.not_yet  # "not yet", not a plain no
        assert not verdict.eligible
        assert by_condition(verdict)["guardian_consent"] == ("sol_21_2_guardian_consent_missing", False)
        assert codes(verdict.required_actions) == ["obtain_guardian_consent"]
        assert "guardian_consent_required" in codes(verdict.notices)
    given_consent = check(iv, age=10, guardian_consent=True)
    assert given_consent.status is Status.eligible and given_consent.eligible
    assert given_consent.required_actions == ()
    assert "guardian_consent_required" in codes(given_consent.notices)
    assert check(iv, age=14, guardian_consent=False).status is Status.not_yet
    assert check(iv, age=15, guardian_consent=False).status is Status.eligible


def test_sol_21_2_ages_15_17_only_where_considered() -> None:
    not_considered = intervention(Conditions(max_age=17, ages_15_17_considered=False))
    for age in (15, 16, 17):
        verdict = check(not_considered, age=age, guardian_consent=True)
        assert verdict.status is Status.ineligible
        code, met = by_condition(verdict)["guardian_consent"]
        assert (code, met) == ("sol_21_2_ages_15_17_not_considered", False)
        assert [r.paragraph for r in verdict.conditions if r.condition == "guardian_consent"] == ["SoL 21:2"]
    considered = dataclasses.replace(not_considered, conditions=Conditions(max_age=17, ages_15_17_considered=True))
    for age in (15, 16, 17):
        verdict = check(considered, age=age)  # no consent needed from 15
        assert verdict.status is Status.eligible
        assert by_condition(verdict)["guardian_consent"] == ("sol_21_2_ages_15_17_considered", True)
        assert "guardian_consent_required" not in codes(verdict.notices)
    # Under 15 the consent rule applies either way.
    assert check(not_considered, age=14, guardian_consent=True).status is Status.eligible


def test_sol_21_2_unknown_age_makes_consent_unknown_where_children_are_admitted() -> None:
    iv = intervention(Conditions(ages_15_17_considered=True))
    verdict = check(iv)
    assert verdict.status is Status.undetermined
    assert by_condition(verdict)["guardian_consent"] == ("sol_21_2_age_unknown", None)
    assert "guardian_consent_required" in codes(verdict.notices)
    # With consent given and 15-17 considered, every age is covered.
    assert check(iv, guardian_consent=True).status is Status.eligible


def test_sol_21_2_from_15_only_the_committees_consideration_counts() -> None:
    teens_considered = intervention(Conditions(min_age=15, max_age=20, ages_15_17_considered=True))
    assert "guardian_consent" not in by_condition(check(teens_considered))
    teens_not_considered = intervention(Conditions(min_age=15, max_age=20))
    unknown = next(r for r in check(teens_not_considered).conditions if r.condition == "guardian_consent")
    assert unknown.met is None and "under 15" not in unknown.message_en
    assert "guardian_consent_required" not in codes(check(teens_not_considered).notices)
    assert check(teens_not_considered, age=16).status is Status.ineligible
    assert check(teens_not_considered, age=18).status is Status.eligible


def test_sol_21_2_does_not_apply_where_only_adults_take_part(demo: dict[str, Intervention]) -> None:
    verdict = check(demo["kort-intervention"], age=30, sessions_used=0)
    assert "guardian_consent" not in by_condition(verdict)
    assert verdict.status is Status.eligible
    adult = check(demo["rad-och-stod-mottagning"], age=40)
    assert by_condition(adult)["guardian_consent"] == ("sol_21_2_adult", True)


# --- SoL 11 kap. 5 §: protected housing, and a summary check only ------------------------------------


def test_sol_11_5_protected_housing_needs_21_and_no_children(demo: dict[str, Intervention]) -> None:
    iv = demo["skyddat-boende-vuxna"]
    assert iv.kind is Kind.protected_housing
    assert check(iv, age=21, accompanying_children=False).status is Status.eligible
    young = check(iv, age=20, accompanying_children=False)
    assert young.status is Status.ineligible
    assert by_condition(young)["age"] == ("age_below_minimum", False)
    with_children = check(iv, age=35, accompanying_children=True)
    assert with_children.status is Status.ineligible
    assert by_condition(with_children)["accompanying_children"] == ("has_accompanying_children", False)
    for verdict in (young, with_children):
        failed = [r for r in verdict.conditions if r.met is False]
        assert all(r.paragraph == "SoL 11:5" and "11 kap. 5 §" in r.message_sv for r in failed)
        assert all("section 5" in r.message_en for r in failed)
    assert check(iv, age=35).status is Status.undetermined


def test_sol_11_5_self_declared_target_group_is_taken_as_declared(demo: dict[str, Intervention]) -> None:
    iv = demo["kort-intervention"]  # harmful use: declared, never evidenced
    declared = check(iv, age=30, self_declared_target_group=True)
    assert declared.status is Status.eligible
    assert by_condition(declared)["target_group"] == ("target_group_declared", True)
    denied = check(iv, age=30, self_declared_target_group=False)
    assert denied.status is Status.ineligible and denied.eligible is False
    # Turning to the provider for the intervention is the declaration: never unknown, never blocking.
    presumed = check(iv, age=30)
    assert presumed.status is Status.eligible and presumed.eligible is True
    result = next(r for r in presumed.conditions if r.condition == "target_group")
    assert (result.code, result.met) == ("target_group_presumed", True)
    assert iv.target_group in result.message_sv and "ingen bedömning" in result.message_sv


def test_first_visit_is_eligible(demo: dict[str, Intervention]) -> None:
    # Neither the sessions used nor the target group need stating: none used, and declared.
    for slug in ("kort-intervention", "motiverande-samtal", "krisstod", "stodsamtal-skadligt-bruk"):
        verdict = check(demo[slug], age=30)
        assert verdict.status is Status.eligible, (slug, by_condition(verdict))
        assert verdict.eligible is True


def test_eligible_is_true_false_or_null_by_status(demo: dict[str, Intervention]) -> None:
    iv = demo["repulse"]
    assert check(iv, age=9, guardian_consent=True).eligible is True
    assert check(iv, age=9).eligible is False  # not_yet
    assert check(iv, age=30).eligible is False  # ineligible
    assert check(iv).eligible is None  # undetermined: unknown is not a refusal


# --- SoL 11 kap. 6 § and 14 kap. 3-5 §§: the notices -----------------------------------------------


FACT_SETS = [
    Facts(),
    Facts(age=30, role=Role.adult, sessions_used=0, self_declared_target_group=True),
    Facts(age=9, role=Role.child, school_year=3, self_declared_target_group=True),
    Facts(age=40, role=Role.parent, children_ages=(2, 12), sessions_used=99, self_declared_target_group=False),
]


def test_sol_11_6_right_to_apply_notice_always_given(demo: dict[str, Intervention]) -> None:
    for iv in demo.values():
        for facts in FACT_SETS:
            verdict = check_intervention(iv, COMMITTEE, facts)
            notice = verdict.notices[0]
            assert notice.code == "right_to_apply" and notice.paragraph == "SoL 11:6"
            assert COMMITTEE.name in notice.text_sv and COMMITTEE.name in notice.text_en


@pytest.mark.parametrize(
    ("rule", "code", "paragraph"),
    [
        (DocumentationRule.standard, "documentation_standard", "SoL 14:3"),
        (DocumentationRule.counselling_exempt, "documentation_counselling_exempt", "SoL 14:4"),
        (DocumentationRule.identity_exempt, "documentation_identity_exempt", "SoL 14:5"),
    ],
)
def test_sol_14_3_to_5_documentation_notice_follows_the_rule(
    demo: dict[str, Intervention], rule: DocumentationRule, code: str, paragraph: str
) -> None:
    for iv in demo.values():
        if iv.documentation_rule is not rule:
            continue
        documentation = [n for n in check(iv).notices if n.code.startswith("documentation_")]
        assert [(n.code, n.paragraph) for n in documentation] == [(code, paragraph)]


def test_sol_14_3_parent_targeted_case_is_registered_on_the_child(demo: dict[str, Intervention]) -> None:
    notice = next(n for n in check(demo["familjebehandling"]).notices if n.code == "documentation_standard")
    assert "barnets personnummer" in notice.text_sv and "child's personnummer" in notice.text_en
    plain = next(n for n in check(demo["hemtjanst-service"]).notices if n.code == "documentation_standard")
    assert "barnets" not in plain.text_sv


# --- the session cap: the bridge to the ordinary route ----------------------------------------------


def test_session_cap_reached_bridges_to_a_needs_assessed_decision(demo: dict[str, Intervention]) -> None:
    iv = demo["krisstod"]  # at most 3
    assert check(iv, age=40, sessions_used=2).status is Status.eligible
    verdict = check(iv, age=40, sessions_used=3)
    assert verdict.status is Status.ineligible
    assert by_condition(verdict)["session_cap"] == ("session_cap_reached", False)
    [action] = verdict.required_actions
    assert action.code == "apply_for_needs_assessed_intervention"
    assert action.committee == COMMITTEE.id and action.committee_name == COMMITTEE.name
    assert "behovsprövat beslut" in action.message_sv and COMMITTEE.name in action.message_sv
    # Not given: none used (a first visit), so the cap is not an entry condition.
    assert by_condition(check(iv, age=40))["session_cap"] == ("sessions_remaining", True)


# --- the committee's other conditions ----------------------------------------------------------------


def test_child_age_is_the_participant_as_a_child_or_one_of_a_parents_children(
    demo: dict[str, Intervention],
) -> None:
    iv = demo["rad-och-stod-falt"]  # roles child, parent; children 12-17
    assert check(iv, role=Role.parent, age=45, children_ages=(8, 13)).status is Status.eligible
    assert check(iv, role=Role.parent, age=45, children_ages=(8, 10)).status is Status.ineligible
    assert check(iv, role=Role.parent, age=45, children_ages=()).status is Status.ineligible
    assert check(iv, role=Role.parent, age=45).status is Status.undetermined
    assert check(iv, role=Role.child, age=16).status is Status.eligible
    assert check(iv, role=Role.child, age=11, guardian_consent=True).status is Status.ineligible
    assert check(iv, role=Role.relative, age=45).status is Status.ineligible


def test_role_school_year_and_residence_conditions() -> None:
    iv = intervention(
        Conditions(roles=(Role.child,), school_years=(7, 8, 9), residence_in_committee=True, ages_15_17_considered=True)
    )
    base: dict[str, Any] = {"role": Role.child, "age": 15, "school_year": 8, "residence_committee": COMMITTEE.id}
    assert check(iv, **base).status is Status.eligible
    assert by_condition(check(iv, **{**base, "role": Role.adult}))["role"] == ("role_not_allowed", False)
    assert by_condition(check(iv, **{**base, "school_year": 6}))["school_year"] == ("school_year_not_allowed", False)
    assert by_condition(check(iv, **{**base, "residence_committee": "sn-centrum"}))["residence"] == (
        "not_resident_in_committee",
        False,
    )
    assert by_condition(check(iv, **{**base, "residence_committee": None}))["residence"] == (
        "residence_unknown",
        None,
    )


def test_unknown_facts_give_unknown_conditions_not_errors(demo: dict[str, Intervention]) -> None:
    for iv in demo.values():
        verdict = check_intervention(iv, COMMITTEE, Facts())
        assert verdict.status is Status.undetermined, iv.id
        assert verdict.eligible is None and not verdict.refuses_opening, iv.id
        assert not any(r.met is False for r in verdict.conditions), iv.id


def test_sol_21_2_not_yet_is_never_hidden_by_an_unknown_fact() -> None:
    iv = intervention(Conditions(max_age=17, school_years=(1, 2, 3), ages_15_17_considered=True))
    # consent missing (not_yet) and the school year unknown: not_yet, with the action to cure it
    verdict = check(iv, age=10)
    assert verdict.status is Status.not_yet and verdict.refuses_opening
    assert codes(verdict.required_actions) == ["obtain_guardian_consent"]
    assert [r.code for r in verdict.failed] == ["sol_21_2_guardian_consent_missing"]


def test_the_worst_condition_decides() -> None:
    iv = intervention(Conditions(max_age=17, max_sessions=5, ages_15_17_considered=True))
    # consent missing and the cap reached: ineligible, both actions listed
    verdict = check(iv, age=10, sessions_used=5)
    assert verdict.status is Status.ineligible
    assert codes(verdict.required_actions) == ["obtain_guardian_consent", "apply_for_needs_assessed_intervention"]
    assert check(iv, age=30, sessions_used=1).status is Status.ineligible


def test_seed_004_a_parent_targeted_intervention_is_about_a_child() -> None:
    # Without a committee bound on the child's age, the child is still a child: under 18.
    iv = intervention(Conditions(roles=(Role.parent,)), subject_rule=SubjectRule.child)
    assert check(iv, age=40, children_ages=(17,)).status is Status.eligible
    adult_child = check(iv, age=40, children_ages=(18,))
    assert adult_child.status is Status.ineligible
    assert by_condition(adult_child)["child_age"] == ("child_age_out_of_range", False)
    # Whoever turns to it without stating a role comes as the parent.
    assert by_condition(check(iv, age=40, children_ages=(3,)))["role"] == ("role_allowed", True)
    assert check(iv, role=Role.relative, age=40, children_ages=(3,)).status is Status.ineligible


def test_every_outcome_is_a_constant_built_at_compile_time(demo: dict[str, Intervention]) -> None:
    compiled = compile_intervention(demo["komet"], COMMITTEE)
    facts = Facts(age=40, role=Role.parent, children_ages=(5,), sessions_used=0, self_declared_target_group=True)
    first, second = evaluate(compiled, facts), evaluate(compiled, facts)
    assert first == second
    assert all(a is b for a, b in zip(first.conditions, second.conditions, strict=True))


# --- the shared table: the same rows go through both endpoints (tests/integration/test_gate.py) -----


def test_the_table_covers_every_demo_intervention(demo: dict[str, Intervention]) -> None:
    assert len(demo) == 22
    assert {r.intervention for r in ROWS} == set(demo)
    for slug in demo:  # something eligible and something refused, or an unknown, for each
        assert len({r.verdict for r in ROWS if r.intervention == slug}) >= 1


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_gate_table(demo: dict[str, Intervention], row: Row) -> None:
    iv = demo[row.intervention]
    facts = dict(row.facts)
    if "role" in facts:
        facts["role"] = Role(facts["role"])
    # The personnummer in the table agree with its ages (the case endpoint computes them).
    if row.subject is not None:
        assert resolve_age(on=TABLE_ON, identity_numbers={"personnummer": row.subject}) == facts["age"]
    if row.child is not None:
        assert (resolve_age(on=TABLE_ON, identity_numbers={"personnummer": row.child}),) == facts["children_ages"]
    verdict = check(iv, **facts)
    assert verdict.status.value == row.verdict, by_condition(verdict)
    assert {r.code for r in verdict.failed} == row.failed
    assert verdict.refuses_opening is (row.verdict in ("ineligible", "not_yet"))
    assert codes(verdict.notices)[:2] == ["right_to_apply", "documentation_" + iv.documentation_rule.value]


# --- facts: the age from age, birth date or identity number --------------------------------------------


def test_age_from_each_source() -> None:
    assert resolve_age(on=ON) is None
    assert resolve_age(on=ON, age=44) == 44
    assert resolve_age(on=ON, birth_date=dt.date(1981, 1, 1)) == 44
    for form in written_forms(ADULT_PNR):
        assert resolve_age(on=ON, identity_numbers={"personnummer": form}) == 44
    assert resolve_age(on=ON, identity_numbers={"personnummer": CHILD_PNR}) == 10
    for form in written_forms(SAMORDNINGSNUMMER, "+")[:3]:  # 100 or older: "+" in the short form
        assert resolve_age(on=ON, identity_numbers={"samordningsnummer": form}) == 111
    together = {"personnummer": ADULT_PNR, "samordningsnummer": ADULT_PNR}
    assert resolve_age(on=ON, age=44, birth_date=dt.date(1981, 1, 1), identity_numbers=together) == 44


def test_contradictory_facts_name_the_fields_never_the_values() -> None:
    with pytest.raises(ContradictoryFacts) as caught:
        resolve_age(on=ON, age=30, identity_numbers={"personnummer": ADULT_PNR})
    assert caught.value.fields == ("age", "personnummer")
    assert ADULT_PNR not in str(caught.value) and "30" not in str(caught.value)
    with pytest.raises(ContradictoryFacts) as caught:
        resolve_age(on=ON, birth_date=ON + dt.timedelta(days=1))
    assert caught.value.fields == ("birth_date", "on")


WRONG_CHECK_DIGIT = ADULT_PNR[:-1] + str((int(ADULT_PNR[-1]) + 1) % 10)  # built, never a literal
MONTH_13 = ADULT_PNR[:4] + "13" + ADULT_PNR[6:]


@pytest.mark.parametrize("value", [WRONG_CHECK_DIGIT, MONTH_13, "abc", "", ADULT_PNR + "0"])
def test_invalid_identity_number_is_named_without_its_value(value: str) -> None:
    with pytest.raises(InvalidFact) as caught:
        resolve_age(on=ON, identity_numbers={"personnummer": value})
    assert caught.value.field == "personnummer"
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert not any(ch.isdigit() for ch in str(caught.value))


# --- property: the age through fact resolution is the age of the encoded birth date ----------------


def _luhn(nine: str) -> str:
    total = 0
    for i, ch in enumerate(nine):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return str((10 - total % 10) % 10)


@st.composite
def numbered_person(draw: st.DrawFn) -> tuple[dt.date, dt.date, str]:
    """A birth date, a check date (often a birthday, a century or a leap day away) and a valid number."""
    birth = draw(
        st.one_of(
            st.dates(dt.date(1890, 1, 1), dt.date(2024, 12, 31)),
            st.sampled_from([dt.date(1900, 3, 1), dt.date(1904, 2, 29), dt.date(2000, 2, 29), dt.date(1999, 12, 31)]),
        )
    )
    years = draw(st.integers(0, 130))
    year = min(birth.year + years, 2100)
    anniversary = dt.date(year, birth.month, 28 if (birth.month, birth.day) == (2, 29) else birth.day)
    on = anniversary + dt.timedelta(days=draw(st.integers(-2, 2)))
    if on < birth:
        on = birth
    coordination = draw(st.booleans())
    day = birth.day + 60 if coordination else birth.day
    eleven = f"{birth:%Y%m}{day:02d}{draw(st.integers(1, 999)):03d}"
    twelve = eleven + _luhn(eleven[2:])
    age = age_on(birth, on)
    sep = "+" if age >= 100 else draw(st.sampled_from(["-", "", " "]))
    form = draw(st.sampled_from([twelve, f"{twelve[:8]}-{twelve[8:]}", f"{twelve[2:8]}{sep}{twelve[8:]}"]))
    return birth, on, form


@settings(max_examples=300, deadline=None)
@given(numbered_person(), st.sampled_from(["personnummer", "samordningsnummer"]))
def test_age_through_fact_resolution_equals_the_age_of_the_encoded_birth_date(
    person: tuple[dt.date, dt.date, str], field: str
) -> None:
    birth, on, form = person
    expected = age_on(birth, on)
    assert resolve_age(on=on, identity_numbers={field: form}) == expected
    # Given together with the birth date or the age they agree: no contradiction.
    assert resolve_age(on=on, birth_date=birth, age=expected, identity_numbers={field: form}) == expected
