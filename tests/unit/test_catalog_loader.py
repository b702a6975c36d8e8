"""Parsing the catalog format, and the demo catalog (app.catalog.loader)."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

import pytest
import yaml

from app.catalog.domain import (
    Area,
    Category,
    Committee,
    Decision,
    DeliveryForm,
    DocumentationRule,
    Kind,
    Role,
    SubjectRule,
)
from app.catalog.loader import (
    DECISION_NAMESPACE,
    CatalogFormatError,
    decision_id_for,
    demo_catalog_path,
    load_catalog_text,
    parse_catalog,
)
from app.catalog.rules import check_decision, decision_warnings, may_include_ages_15_17

DEMO_COMMITTEES = {
    "sn-centrum": "Socialnämnden Centrum",
    "sn-hisingen": "Socialnämnden Hisingen",
    "sn-nordost": "Socialnämnden Nordost",
    "sn-sydvast": "Socialnämnden Sydväst",
}

DEMO_SLUGS = {
    "barnsakert",
    "foraldraskapsstod",
    "frivilliga-samarbetssamtal",
    "komet",
    "krisstod",
    "medling-vid-brott",
    "repulse",
    "rad-och-stod-falt",
    "rad-och-stod-mottagning",
    "skolsocial-samverkan",
    "stodsamtal-riskfyllt-beteende",
    "anhorigstod",
    "kort-intervention",
    "motiverande-samtal",
    "motiverande-samtal-valdsutovare",
    "samtal-om-vald",
    "spel-om-pengar",
    "stodsamtal-skadligt-bruk",
    "aterfallsprevention",
    "familjebehandling",
    "skyddat-boende-vuxna",
    "hemtjanst-service",
}


@pytest.fixture(scope="module")
def demo_text() -> str:
    return demo_catalog_path().read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def demo(demo_text: str) -> tuple[list[Committee], list[Decision]]:
    return load_catalog_text(demo_text)


# --- the demo catalog --------------------------------------------------------------------------


def test_demo_catalog_has_four_committees_with_22_interventions_each(
    demo: tuple[list[Committee], list[Decision]],
) -> None:
    committees, decisions = demo
    assert {c.id: c.name for c in committees} == DEMO_COMMITTEES
    assert sorted(d.committee for d in decisions) == sorted(DEMO_COMMITTEES)
    for decision in decisions:
        assert len(decision.interventions) == 22
        assert {iv.id for iv in decision.interventions} == DEMO_SLUGS
        assert decision.effective_from == dt.date(2025, 7, 1)
        assert decision.effective_to is None
        assert dt.date(2025, 6, 1) <= decision.decided_on < decision.effective_from
        assert decision.reference.startswith("§ ")
        assert decision.withdrawn == ()


def test_demo_decisions_pass_every_check(demo: tuple[list[Committee], list[Decision]]) -> None:
    committees, decisions = demo
    known = {c.id for c in committees}
    for decision in decisions:
        assert check_decision(decision, committee_exists=decision.committee in known) == []


def test_demo_catalog_follows_the_seeds_where_the_guideline_is_silent_or_wrong(
    demo: tuple[list[Committee], list[Decision]],
) -> None:
    for decision in demo[1]:
        by_id = {iv.id: iv for iv in decision.interventions}
        # Seed 001: SSPF is a way of working, not an intervention.
        assert "sspf" not in by_id
        # "Ungdomar och vuxna": a lower bound (13), with the consent rule below 15.
        relapse = by_id["aterfallsprevention"].conditions
        assert (relapse.min_age, relapse.ages_15_17_considered) == (13, True)
        # Parents come about a child, never an adult son or daughter.
        risk = by_id["stodsamtal-riskfyllt-beteende"].conditions
        assert (risk.child_min_age, risk.child_max_age) == (0, 17)
        # Seeds 001, 003: the exemptions rest on a risk and consequence analysis.
        assert decision.risk_analysis_reference
        assert decision_warnings(decision) == []


def test_demo_decision_ids_are_deterministic(demo_text: str, demo: tuple[list[Committee], list[Decision]]) -> None:
    _, decisions = demo
    for decision in decisions:
        assert decision.id == decision_id_for(decision.committee, decision.reference)
    assert [d.id for d in load_catalog_text(demo_text)[1]] == [d.id for d in decisions]
    assert len({d.id for d in decisions}) == 4


def test_demo_interventions_apply_the_interpretations(demo: tuple[list[Committee], list[Decision]]) -> None:
    by_id = {iv.id: iv for iv in demo[1][0].interventions}
    # "vuxna över 20 år" -> 21+
    for slug in ("kort-intervention", "motiverande-samtal", "spel-om-pengar", "stodsamtal-skadligt-bruk"):
        assert by_id[slug].conditions.min_age == 21
    # "0-18" / "12-18" for children -> up to 17; "13-20" includes 20
    assert by_id["foraldraskapsstod"].conditions.child_max_age == 17
    assert (by_id["repulse"].conditions.min_age, by_id["repulse"].conditions.max_age) == (5, 17)
    assert (by_id["medling-vid-brott"].conditions.min_age, by_id["medling-vid-brott"].conditions.max_age) == (
        13,
        20,
    )
    falt = by_id["rad-och-stod-falt"].conditions
    assert (falt.roles, falt.child_min_age, falt.child_max_age) == ((Role.child, Role.parent), 12, 17)
    assert by_id["skolsocial-samverkan"].conditions.school_years == tuple(range(1, 10))
    komet = by_id["komet"]
    assert (komet.category, komet.delivery_form, komet.documentation_rule) == (
        Category.counselling,
        DeliveryForm.group,
        DocumentationRule.counselling_exempt,
    )
    shelter = by_id["skyddat-boende-vuxna"]
    assert shelter.kind is Kind.protected_housing
    assert shelter.conditions.no_accompanying_children
    home_help = by_id["hemtjanst-service"]
    assert (home_help.kind, home_help.delivered_in_home, home_help.documentation_rule) == (
        Kind.home_help,
        True,
        DocumentationRule.standard,
    )
    assert by_id["familjebehandling"].subject_rule is SubjectRule.child
    for slug in ("familjebehandling", "skyddat-boende-vuxna", "hemtjanst-service"):
        assert "Exempel" in by_id[slug].description
    for iv in by_id.values():
        # The 15-17 flag is set exactly where SoL 21:2 needs it; residence is never a condition.
        assert iv.conditions.ages_15_17_considered == may_include_ages_15_17(iv), iv.id
        assert not iv.conditions.residence_in_committee
        assert iv.description.strip() and iv.target_group.strip()
        if iv.documentation_rule is DocumentationRule.identity_exempt:
            assert iv.special_reasons


def test_demo_catalog_path_is_inside_the_package() -> None:
    path = demo_catalog_path()
    assert path.name == "catalog.yaml"
    assert path.is_file()
    assert (path.parent / "README.md").is_file()


def test_decision_id_for_is_uuid5_of_committee_and_reference() -> None:
    expected = str(uuid.uuid5(DECISION_NAMESPACE, "sn-sydvast|§ 123"))
    assert decision_id_for("sn-sydvast", "§ 123") == expected
    assert decision_id_for("sn-sydvast", "§ 123") != decision_id_for("sn-centrum", "§ 123")
    assert uuid.UUID(expected).version == 5


# --- the format --------------------------------------------------------------------------------


def minimal() -> dict[str, Any]:
    return {
        "committees": [{"id": "sn-x", "name": "Socialnämnden X"}],
        "interventions": [
            {
                "id": "krisstod",
                "name": "Krisstöd",
                "description": "Stöd vid kris.",
                "area": "adults",
                "category": "individual_support",
                "delivery_form": "individual",
                "target_group": "Vuxna i kris.",
                "conditions": {"min_age": 18, "max_sessions": 3},
                "documentation_rule": "identity_exempt",
                "special_reasons": "Låg tröskel.",
            }
        ],
        "decisions": [
            {
                "committee": "sn-x",
                "reference": "§ 1",
                "decided_on": dt.date(2025, 6, 17),
                "effective_from": dt.date(2025, 7, 1),
                "interventions": "all",
            }
        ],
    }


def test_minimal_catalog_with_defaults() -> None:
    committees, decisions = parse_catalog(minimal())
    assert committees == [Committee("sn-x", "Socialnämnden X")]
    (decision,) = decisions
    assert decision.id == decision_id_for("sn-x", "§ 1")
    assert decision.effective_to is None
    assert decision.withdrawn == ()
    (iv,) = decision.interventions
    assert iv.kind is Kind.other
    assert iv.area is Area.adults
    assert iv.subject_rule is SubjectRule.recipient
    assert iv.delivered_in_home is False
    assert iv.conditions.roles == ()
    assert iv.conditions.max_sessions == 3
    assert iv.conditions.ages_15_17_considered is False


def test_documentation_rule_defaults_to_standard() -> None:
    data = minimal()
    del data["interventions"][0]["documentation_rule"]
    del data["interventions"][0]["special_reasons"]
    (decision,) = parse_catalog(data)[1]
    assert decision.interventions[0].documentation_rule is DocumentationRule.standard


def test_explicit_decision_id_is_kept() -> None:
    data = minimal()
    data["decisions"][0]["id"] = "beslut-1"
    assert parse_catalog(data)[1][0].id == "beslut-1"


def test_decisions_may_list_references_and_inline_interventions() -> None:
    data = minimal()
    inline = copy.deepcopy(data["interventions"][0]) | {"id": "krisstod-2", "conditions": None}
    data["decisions"][0]["interventions"] = ["krisstod", inline]
    data["decisions"][0]["withdrawn"] = ["gammal-insats"]
    data["decisions"][0]["effective_to"] = "2026-06-30"
    (decision,) = parse_catalog(data)[1]
    assert [iv.id for iv in decision.interventions] == ["krisstod", "krisstod-2"]
    assert decision.interventions[1].conditions.min_age is None
    assert decision.withdrawn == ("gammal-insats",)
    assert decision.effective_to == dt.date(2026, 6, 30)


def test_yaml_text_round_trip() -> None:
    text = yaml.safe_dump(minimal(), allow_unicode=True)
    _, decisions = load_catalog_text(text)
    assert decisions[0].decided_on == dt.date(2025, 6, 17)
    assert decisions[0].interventions[0].name == "Krisstöd"


def _set(data: dict[str, Any], path: list[Any], value: Any) -> None:
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "error_path"),
    [
        (["committees"], {"id": "sn-x"}, "committees"),
        (["committees", 0, "name"], _DELETE, "committees[0].name"),
        (["committees", 0, "name"], "", "committees[0].name"),
        (["committees", 0, "colour"], "red", "committees[0].colour"),
        (["version"], 2, "version"),
        (["decisions", 0], "beslut", "decisions[0]"),
        (["decisions", 0, "decided_on"], "17 juni 2025", "decisions[0].decided_on"),
        (["decisions", 0, "decided_on"], dt.datetime(2025, 6, 17, 12, 0), "decisions[0].decided_on"),
        (["decisions", 0, "effective_from"], _DELETE, "decisions[0].effective_from"),
        (["decisions", 0, "interventions"], "some", "decisions[0].interventions"),
        (["decisions", 0, "interventions"], ["okand"], "decisions[0].interventions[0]"),
        (["decisions", 0, "withdrawn"], [5], "decisions[0].withdrawn[0]"),
        (["decisions", 0, "reference"], 123, "decisions[0].reference"),
        (["interventions", 0, "area"], "children", "interventions[0].area"),
        (["interventions", 0, "kind"], "hvb", "interventions[0].kind"),
        (["interventions", 0, "delivered_in_home"], "yes", "interventions[0].delivered_in_home"),
        (["interventions", 0, "name"], _DELETE, "interventions[0].name"),
        (["interventions", 0, "special_reasons"], ["a"], "interventions[0].special_reasons"),
        (["interventions", 0, "conditions"], [18], "interventions[0].conditions"),
        (["interventions", 0, "conditions", "min_age"], "18", "interventions[0].conditions.min_age"),
        (["interventions", 0, "conditions", "min_age"], True, "interventions[0].conditions.min_age"),
        (["interventions", 0, "conditions", "min_age"], 18.5, "interventions[0].conditions.min_age"),
        (["interventions", 0, "conditions", "minage"], 18, "interventions[0].conditions.minage"),
        (["interventions", 0, "conditions", "roles"], "parent", "interventions[0].conditions.roles"),
        (
            ["interventions", 0, "conditions", "roles"],
            ["parent", "teacher"],
            "interventions[0].conditions.roles[1]",
        ),
        (
            ["interventions", 0, "conditions", "school_years"],
            [1, "2"],
            "interventions[0].conditions.school_years[1]",
        ),
        (
            ["interventions", 0, "conditions", "no_accompanying_children"],
            1,
            "interventions[0].conditions.no_accompanying_children",
        ),
    ],
)
def test_bad_shapes_name_the_path(path: list[Any], value: Any, error_path: str) -> None:
    data = minimal()
    _set(data, path, value)
    with pytest.raises(CatalogFormatError) as raised:
        parse_catalog(data)
    assert raised.value.path == error_path
    assert str(raised.value).startswith(f"{error_path}: ")


def test_enum_errors_list_the_allowed_values() -> None:
    data = minimal()
    data["interventions"][0]["category"] = "advice"
    with pytest.raises(CatalogFormatError, match="counselling, group_support, individual_support"):
        parse_catalog(data)


def test_duplicate_ids_are_format_errors() -> None:
    data = minimal()
    data["committees"].append({"id": "sn-x", "name": "Igen"})
    with pytest.raises(CatalogFormatError) as raised:
        parse_catalog(data)
    assert raised.value.path == "committees[1].id"

    data = minimal()
    data["interventions"].append(copy.deepcopy(data["interventions"][0]))
    with pytest.raises(CatalogFormatError) as raised:
        parse_catalog(data)
    assert raised.value.path == "interventions[1].id"

    data = minimal()
    data["decisions"].append(copy.deepcopy(data["decisions"][0]))
    with pytest.raises(CatalogFormatError) as raised:
        parse_catalog(data)
    assert raised.value.path == "decisions[1]"


def test_all_without_shared_interventions_is_an_error() -> None:
    data = minimal()
    del data["interventions"]
    with pytest.raises(CatalogFormatError) as raised:
        parse_catalog(data)
    assert raised.value.path == "decisions[0].interventions"


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "committees: [\n"])
def test_text_that_is_not_a_catalog_mapping(text: str) -> None:
    with pytest.raises(CatalogFormatError):
        load_catalog_text(text)


def test_the_loader_does_not_apply_the_law() -> None:
    # Shape only: an excluded kind parses, and check_decision refuses it.
    data = minimal()
    data["interventions"][0]["kind"] = "family_home_care"
    (decision,) = parse_catalog(data)[1]
    assert [v.code for v in check_decision(decision)] == ["excluded_kind"]
