"""The catalog through the API: time-aware reads, decisions checked against the law."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.usefixtures("demo_catalog")

BARE_DECISION = {
    "decided_on": "2026-01-20",
    "reference": "§ 7",
    "effective_from": "2026-02-01",
    "interventions": [],
}


def intervention(**overrides):
    base = {
        "id": "samtalsgrupp",
        "name": "Samtalsgrupp",
        "description": "Samtal i grupp.",
        "area": "adults",
        "category": "group_support",
        "delivery_form": "group",
        "kind": "other",
        "target_group": "Vuxna",
        "conditions": {"min_age": 18},
        "delivered_in_home": False,
        "subject_rule": "recipient",
        "documentation_rule": "standard",
    }
    base.update(overrides)
    return base


async def test_demo_catalog_offers_22_interventions_in_each_committee(client, auth):
    for committee in ("sn-centrum", "sn-hisingen", "sn-nordost", "sn-sydvast"):
        response = await client.get(
            "/v1/catalog/interventions",
            params={"committee": committee, "on": "2025-07-01"},
            headers=auth("catalog:read"),
        )
        assert response.status_code == 200
        assert len(response.json()["items"]) == 22 and response.json()["next_cursor"] is None
        assert "sspf" not in {i["id"] for i in response.json()["items"]}  # a way of working, not an intervention


async def test_nothing_is_in_force_before_the_first_decision(client, auth):
    response = await client.get("/v1/catalog/interventions", params={"on": "2025-06-30"}, headers=auth("catalog:read"))
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_filters_by_category_and_area(client, auth):
    response = await client.get(
        "/v1/catalog/interventions",
        params={"category": "counselling", "area": "adults", "on": "2025-08-01"},
        headers=auth("catalog:read"),
    )
    assert {i["id"] for i in response.json()["items"]} == {"anhorigstod"}


async def test_committees_are_listed(client, auth):
    response = await client.get("/v1/catalog/committees", headers=auth("catalog:read"))
    assert [c["id"] for c in response.json()["items"]] == ["sn-centrum", "sn-hisingen", "sn-nordost", "sn-sydvast"]


async def test_decision_round_trips_and_a_later_one_supersedes_without_rewriting_history(client, auth):
    headers = auth("catalog:read catalog:write")
    listed = (await client.get("/v1/catalog/decisions", headers=headers)).json()["items"]
    assert len(listed) == 1
    original = (await client.get(f"/v1/catalog/decisions/{listed[0]['id']}", headers=headers)).json()

    successor = dict(original, reference="§ 200", decided_on="2026-01-15", effective_from="2026-02-01")
    for item in successor["interventions"]:
        if item["id"] == "krisstod":
            item["conditions"] = dict(item["conditions"], max_sessions=5)
    created = await client.post("/v1/catalog/decisions", json=successor, headers=headers)
    assert created.status_code == 201, created.text
    assert created.headers["location"].endswith(created.json()["id"])

    before = await client.get("/v1/catalog/interventions/krisstod", params={"on": "2026-01-31"}, headers=headers)
    after = await client.get("/v1/catalog/interventions/krisstod", params={"on": "2026-02-01"}, headers=headers)
    assert before.json()["conditions"]["max_sessions"] == 3
    assert before.json()["decision_id"] == original["id"]
    assert after.json()["conditions"]["max_sessions"] == 5
    assert after.json()["decision_id"] == created.json()["id"]


async def test_withdrawn_intervention_is_no_longer_offered(client, auth):
    headers = auth("catalog:read catalog:write")
    body = dict(BARE_DECISION, withdrawn=["komet"])
    assert (await client.post("/v1/catalog/decisions", json=body, headers=headers)).status_code == 201
    gone = await client.get("/v1/catalog/interventions/komet", params={"on": "2026-02-01"}, headers=headers)
    still = await client.get("/v1/catalog/interventions/komet", params={"on": "2026-01-31"}, headers=headers)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert still.status_code == 200


async def test_same_reference_twice_is_a_conflict(client, auth):
    headers = auth("catalog:write")
    body = dict(BARE_DECISION, interventions=[intervention()])
    assert (await client.post("/v1/catalog/decisions", json=body, headers=headers)).status_code == 201
    again = await client.post("/v1/catalog/decisions", json=body, headers=headers)
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/decision-exists"


async def test_a_decision_breaking_several_rules_lists_every_violation_in_one_problem(client, auth):
    body = dict(
        BARE_DECISION,
        interventions=[
            intervention(id="kontaktperson", kind="contact_person_or_family"),
            intervention(id="skyddat", kind="protected_housing", conditions={"min_age": 18}),
            intervention(id="anonym", documentation_rule="identity_exempt", special_reasons=" "),
            intervention(id="radgivning", documentation_rule="counselling_exempt"),
            intervention(id="ungdom", conditions={"min_age": 13, "max_age": 20}),
        ],
    )
    response = await client.post("/v1/catalog/decisions", json=body, headers=auth("catalog:write"))
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/decision-violates-law"
    rules = {(v["intervention_id"], v["rule"]) for v in problem["violations"]}
    assert ("kontaktperson", "SoL 11:5") in rules
    assert ("anonym", "SoL 14:5") in rules
    assert ("radgivning", "SoL 14:4") in rules
    assert ("ungdom", "SoL 21:2") in rules
    assert any(i == "skyddat" and r.startswith("SoL 11:5") for i, r in rules)
    listed = await client.get("/v1/catalog/decisions", headers=auth("catalog:read"))
    assert len(listed.json()["items"]) == 1, "nothing was stored"


async def test_sol_11_5_p5_residential_care_is_refused_under_21_like_protected_housing(client, auth):
    for kind, code in (
        ("residential_care", "residential_care_requires_age_21"),
        ("protected_housing", "protected_housing_requires_age_21"),
    ):
        body = dict(BARE_DECISION, interventions=[intervention(id="boende", kind=kind, conditions={"min_age": 18})])
        response = await client.post("/v1/catalog/decisions", json=body, headers=auth("catalog:write"))
        assert response.status_code == 422
        assert code in {v["code"] for v in response.json()["violations"]}
    hvb = dict(
        BARE_DECISION, interventions=[intervention(id="hvb", kind="residential_care", conditions={"min_age": 21})]
    )
    assert (await client.post("/v1/catalog/decisions", json=hvb, headers=auth("catalog:write"))).status_code == 201


async def test_sol_14_5_identity_exemption_without_risk_analysis_is_stored_with_a_warning(client, auth):
    headers = auth("catalog:read catalog:write")
    exempt = intervention(id="anonymt-stod", documentation_rule="identity_exempt", special_reasons="Låg tröskel.")
    response = await client.post(
        "/v1/catalog/decisions", json=dict(BARE_DECISION, interventions=[exempt]), headers=headers
    )
    assert response.status_code == 201, response.text
    assert [(w["intervention_id"], w["rule"], w["code"], w["field"]) for w in response.json()["warnings"]] == [
        ("anonymt-stod", "SoL 14:5", "identity_exemption_without_risk_analysis", "risk_analysis_reference")
    ]
    stored = await client.get(f"/v1/catalog/decisions/{response.json()['id']}", headers=headers)
    assert stored.json()["warnings"] == response.json()["warnings"]

    referenced = dict(
        BARE_DECISION,
        reference="§ 8",
        interventions=[exempt],
        risk_analysis_reference="Dnr 2026/123, risk- och konsekvensanalys",
    )
    again = await client.post("/v1/catalog/decisions", json=referenced, headers=headers)
    assert again.status_code == 201
    assert again.json()["warnings"] == []
    assert again.json()["risk_analysis_reference"] == "Dnr 2026/123, risk- och konsekvensanalys"
    # What GET answers posts back as a successor: the warnings are answered, never taken.
    successor = dict(again.json(), reference="§ 9", warnings=response.json()["warnings"])
    assert (await client.post("/v1/catalog/decisions", json=successor, headers=headers)).json()["warnings"] == []


async def test_a_committee_records_only_its_own_decisions(client, auth):
    body = dict(BARE_DECISION, committee="sn-centrum", interventions=[intervention()])
    response = await client.post(
        "/v1/catalog/decisions", json=body, headers=auth("catalog:write", committee="sn-sydvast")
    )
    assert response.status_code == 403


async def test_unknown_committee_is_refused(client, auth):
    body = dict(BARE_DECISION, interventions=[intervention()])
    response = await client.post(
        "/v1/catalog/decisions", json=body, headers=auth("catalog:write", committee="sn-okand")
    )
    assert response.status_code == 422
    assert {v["code"] for v in response.json()["violations"]} == {"unknown_committee"}


async def test_registered_committee_can_record_decisions(client, auth):
    admin = auth("catalog:write catalog:admin", committee="sn-kommun")
    put = await client.put("/v1/catalog/committees/sn-angered", json={"name": "Socialnämnden Angered"}, headers=admin)
    assert put.status_code == 200
    headers = auth("catalog:read catalog:write", committee="sn-angered")
    body = dict(BARE_DECISION, interventions=[intervention()])
    assert (await client.post("/v1/catalog/decisions", json=body, headers=headers)).status_code == 201
    offered = await client.get(
        "/v1/catalog/interventions", params={"on": dt.date(2026, 3, 1).isoformat()}, headers=headers
    )
    assert [i["id"] for i in offered.json()["items"]] == ["samtalsgrupp"]


async def test_new_committee_needs_catalog_admin(client, auth):
    url = "/v1/catalog/committees/sn-angered"
    refused = await client.put(
        url,
        json={"name": "Socialnämnden Angered"},
        headers=auth(committee="sn-angered", scope="catalog:read catalog:write"),
    )
    assert refused.status_code == 403
    assert refused.json()["required_scope"] == "catalog:admin"
    listed = await client.get("/v1/catalog/committees", headers=auth("catalog:read"))
    assert "sn-angered" not in {c["id"] for c in listed.json()["items"]}
    admin = auth("catalog:write catalog:admin", committee="sn-kommun")
    assert (await client.put(url, json={"name": "Socialnämnden Angered"}, headers=admin)).status_code == 200
    # The scope alone opens nothing: the route still needs catalog:write.
    assert (await client.put(url, json={"name": "X"}, headers=auth("catalog:admin"))).status_code == 403


async def test_committee_may_rename_only_itself(client, auth):
    own = auth("catalog:read catalog:write", committee="sn-sydvast")
    other = await client.put("/v1/catalog/committees/sn-centrum", json={"name": "Övertagen nämnd"}, headers=own)
    assert other.status_code == 403
    assert other.json()["required_scope"] == "catalog:admin"
    renamed = await client.put("/v1/catalog/committees/sn-sydvast", json={"name": "SN Sydväst"}, headers=own)
    assert renamed.status_code == 200
    names = {c["id"]: c["name"] for c in (await client.get("/v1/catalog/committees", headers=own)).json()["items"]}
    assert names["sn-sydvast"] == "SN Sydväst"
    assert names["sn-centrum"] != "Övertagen nämnd"


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/v1/catalog/committees", {}),
        ("/v1/catalog/interventions", {"on": "2025-08-01"}),
        ("/v1/catalog/decisions", {"committee": None}),
    ],
)
async def test_catalog_lists_are_pages_with_a_cursor(client, auth, url, params):
    headers = auth("catalog:read catalog:write")
    if "decisions" in url:  # a second decision of the committee, so that there are pages
        successor = dict(BARE_DECISION, interventions=[intervention()])
        assert (await client.post(url, json=successor, headers=headers)).status_code == 201
    query = {k: v for k, v in params.items() if v is not None}
    everything = (await client.get(url, params=query, headers=headers)).json()
    assert everything["next_cursor"] is None and len(everything["items"]) >= 2
    seen, cursor = [], None
    while True:
        page = (
            await client.get(
                url, params={**query, "limit": 1, **({"cursor": cursor} if cursor else {})}, headers=headers
            )
        ).json()
        assert len(page["items"]) == 1
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything["items"]
    bad = await client.get(url, params={**query, "cursor": "bm90LWEtY3Vyc29y"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"


async def test_a_violation_names_its_field_by_its_path_in_the_body(client, auth):
    body = dict(
        BARE_DECISION,
        interventions=[intervention(), intervention(id="ungdom", conditions={"min_age": 13, "max_age": 20})],
    )
    response = await client.post("/v1/catalog/decisions", json=body, headers=auth("catalog:write"))
    assert response.status_code == 422
    fields = {v["field"] for v in response.json()["violations"] if v["field"] is not None}
    assert fields and all(f.startswith("body.interventions[1].") for f in fields), fields
