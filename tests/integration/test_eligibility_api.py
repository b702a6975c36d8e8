"""The summary check through the API, on both databases, with the demo catalog.

Literal identity numbers are Skatteverket's official test personnummer and the test
samordningsnummer; their other written forms are derived at run time.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select

from app.eligibility.schemas import CheckResponse, SearchResponse
from app.models import Base

pytestmark = pytest.mark.usefixtures("demo_catalog")

ON = "2025-09-01"
ADULT_PNR = "198101012386"  # 44 on ON
CHILD_PNR = "201501012395"  # 10 on ON
SAMORDNINGSNUMMER = "191401682396"  # 111 on ON
CHECK = "/v1/eligibility/check"
SEARCH = "/v1/eligibility/search"


def forms(twelve: str, short_sep: str = "-") -> list[str]:
    """12 and 10 digits, with and without a separator."""
    return [twelve, f"{twelve[:8]}-{twelve[8:]}", f"{twelve[2:8]}{short_sep}{twelve[8:]}", twelve[2:]]


def check_body(intervention_id: str, **facts: object) -> dict[str, object]:
    return {"intervention_id": intervention_id, "on": ON, "facts": facts}


async def test_check_answers_conditions_actions_and_notices(client, auth):
    response = await client.post(
        CHECK,
        json=check_body("kort-intervention", age=30, sessions_used=0, self_declared_target_group=True),
        headers=auth("eligibility:check"),
    )
    assert response.status_code == 200, response.text
    body = CheckResponse.model_validate(response.json()).model_dump(mode="json")
    assert body["eligible"] is True and body["status"] == "eligible"
    assert body["committee"] == "sn-sydvast" and body["on"] == ON  # the token's committee by default
    assert {c["code"]: c["met"] for c in body["conditions"]} == {
        "age_in_range": True,
        "sessions_remaining": True,
        "target_group_declared": True,
    }
    assert [n["code"] for n in body["notices"]] == ["right_to_apply", "documentation_identity_exempt"]
    assert all(n["text_sv"] and n["text_en"] for n in body["notices"])
    assert body["required_actions"] == []


async def test_unknown_facts_are_unknown_conditions(client, auth):
    response = await client.post(CHECK, json=check_body("repulse"), headers=auth("eligibility:check"))
    assert response.status_code == 200
    body = CheckResponse.model_validate(response.json()).model_dump(mode="json")
    assert body["eligible"] is None and body["status"] == "undetermined"  # unknown is not a refusal
    assert {c["condition"]: c["met"] for c in body["conditions"]} == {
        "age": "unknown",
        "guardian_consent": "unknown",
        "target_group": True,  # turning to the provider is the declaration
    }
    assert "guardian_consent_required" in [n["code"] for n in body["notices"]]


async def test_first_visit_is_eligible(client, auth):
    response = await client.post(CHECK, json=check_body("kort-intervention", age=30), headers=auth("eligibility:check"))
    body = response.json()
    assert body["eligible"] is True and body["status"] == "eligible"
    assert {c["code"] for c in body["conditions"]} == {"age_in_range", "sessions_remaining", "target_group_presumed"}


async def test_eligible_is_false_for_not_yet_and_ineligible(client, auth):
    for facts, status in (({"age": 9}, "not_yet"), ({"age": 30}, "ineligible")):
        body = (await client.post(CHECK, json=check_body("repulse", **facts), headers=auth("eligibility:check"))).json()
        assert (body["eligible"], body["status"]) == (False, status)


async def test_child_under_15_without_consent_is_not_yet(client, auth):
    response = await client.post(
        CHECK,
        json=check_body("repulse", personnummer=CHILD_PNR, self_declared_target_group=True),
        headers=auth("eligibility:check"),
    )
    body = response.json()
    assert body["eligible"] is False and body["status"] == "not_yet"
    assert [a["code"] for a in body["required_actions"]] == ["obtain_guardian_consent"]
    assert [n["code"] for n in body["notices"]] == [
        "right_to_apply",
        "documentation_counselling_exempt",
        "guardian_consent_required",
    ]


async def test_session_cap_tells_where_to_apply(client, auth):
    response = await client.post(
        CHECK,
        json={
            **check_body("krisstod", age=40, sessions_used=3, self_declared_target_group=True),
            "committee": "sn-hisingen",
        },
        headers=auth("eligibility:check"),
    )
    body = response.json()
    assert body["status"] == "ineligible" and body["committee"] == "sn-hisingen"
    assert "session_cap_reached" in [c["code"] for c in body["conditions"]]
    [action] = body["required_actions"]
    assert action["code"] == "apply_for_needs_assessed_intervention"
    assert action["committee"] == "sn-hisingen" and action["committee_name"] == "Socialnämnden Hisingen"
    assert "Socialnämnden Hisingen" in action["message_sv"]


async def test_default_date_is_today(client, auth, monkeypatch):
    monkeypatch.setattr("app.eligibility.router.today", lambda: dt.date(2025, 6, 30))
    response = await client.post(
        CHECK, json={"intervention_id": "krisstod", "facts": {}}, headers=auth("eligibility:check")
    )
    assert response.status_code == 404  # nothing in force before 2025-07-01
    monkeypatch.setattr("app.eligibility.router.today", lambda: dt.date(2025, 7, 1))
    response = await client.post(
        CHECK, json={"intervention_id": "krisstod", "facts": {}}, headers=auth("eligibility:check")
    )
    assert response.status_code == 200 and response.json()["on"] == "2025-07-01"


async def test_unknown_intervention_is_404(client, auth):
    response = await client.post(CHECK, json=check_body("no-such-thing"), headers=auth("eligibility:check"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_scope_is_required(client, auth):
    assert (await client.post(CHECK, json=check_body("krisstod"))).status_code == 401
    response = await client.post(SEARCH, json={"on": ON}, headers=auth("catalog:read"))
    assert response.status_code == 403
    assert response.json()["required_scope"] == "eligibility:check"


async def test_contradictory_facts_are_a_problem_naming_the_fields(client, auth):
    response = await client.post(
        CHECK, json=check_body("krisstod", age=30, personnummer=ADULT_PNR), headers=auth("eligibility:check")
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "/problems/contradictory-facts"
    assert body["fields"] == ["body.facts.age", "body.facts.personnummer"]
    assert ADULT_PNR not in response.text and "30" not in body["detail"]
    documented = await client.get("/problems/contradictory-facts")
    assert documented.status_code == 200


async def test_invalid_identity_number_is_a_validation_problem_without_the_value(client, auth):
    wrong = ADULT_PNR[:-1] + str((int(ADULT_PNR[-1]) + 1) % 10)
    for value in (wrong, "not a number", 198101012386, "1" * 40):
        response = await client.post(
            CHECK, json=check_body("krisstod", personnummer=value), headers=auth("eligibility:check")
        )
        assert response.status_code == 422, value
        body = response.json()
        assert body["type"] == "/problems/validation-error"
        assert [e["field"] for e in body["errors"]] == ["body.facts.personnummer"]
        assert str(value) not in response.text and wrong not in response.text


async def test_unknown_fact_is_refused(client, auth):
    response = await client.post(CHECK, json=check_body("krisstod", diagnosis="x"), headers=auth("eligibility:check"))
    assert response.status_code == 422
    # An unknown key is never named (it could be data): where, and how many.
    assert response.json()["errors"] == [
        {"field": "body.facts.<unknown field>", "code": "extra_forbidden", "message": "unknown field", "count": 1}
    ]


async def test_search_lists_what_the_facts_qualify_for(client, auth):
    facts = {"age": 30, "role": "adult", "accompanying_children": False}
    response = await client.post(SEARCH, json={"on": ON, "facts": facts}, headers=auth("eligibility:check"))
    assert response.status_code == 200, response.text
    body = SearchResponse.model_validate(response.json()).model_dump(mode="json")
    statuses = {i["intervention_id"]: i["status"] for i in body["interventions"]}
    assert statuses["kort-intervention"] == "eligible"
    assert statuses["skyddat-boende-vuxna"] == "eligible"
    assert statuses["skolsocial-samverkan"] == "undetermined"  # the school year is not known
    assert "repulse" not in statuses and "hemtjanst-service" not in statuses
    assert "ineligible" not in statuses.values()
    assert list(statuses) == sorted(statuses)
    for item in body["interventions"]:
        assert item["name"] and item["target_group"]
        assert item["notices"][0]["code"] == "right_to_apply"

    everything = await client.post(
        SEARCH, json={"on": ON, "facts": facts, "include_ineligible": True}, headers=auth("eligibility:check")
    )
    items = {i["intervention_id"]: i for i in everything.json()["interventions"]}
    assert len(items) == 22
    hemtjanst = items["hemtjanst-service"]
    assert hemtjanst["status"] == "ineligible"
    assert [c["code"] for c in hemtjanst["conditions"] if c["met"] is False] == ["age_below_minimum"]


async def test_search_for_a_30_year_old_is_not_all_undetermined(client, auth):
    response = await client.post(SEARCH, json={"on": ON, "facts": {"age": 30}}, headers=auth("eligibility:check"))
    statuses = {i["intervention_id"]: i["status"] for i in response.json()["interventions"]}
    for slug in ("kort-intervention", "motiverande-samtal", "krisstod", "spel-om-pengar", "aterfallsprevention"):
        assert statuses[slug] == "eligible", slug
    assert statuses["skyddat-boende-vuxna"] == "undetermined"  # accompanying children: not stated


@pytest.mark.parametrize("flag", ["self_declared_target_group", "sessions_used"])
async def test_search_takes_no_per_intervention_declaration(client, auth, flag):
    body = {"on": ON, "facts": {"age": 30, flag: 1 if flag == "sessions_used" else True}}
    response = await client.post(SEARCH, json=body, headers=auth("eligibility:check"))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.facts.<unknown field>"]


async def test_search_before_any_decision_is_empty(client, auth):
    response = await client.post(SEARCH, json={"on": "2025-06-30"}, headers=auth("eligibility:check"))
    assert response.status_code == 200
    assert response.json()["interventions"] == []


async def test_openapi_documents_both_operations(client):
    schema = (await client.get("/openapi.json")).json()
    assert "/v1/eligibility/check" in schema["paths"] and "/v1/eligibility/search" in schema["paths"]
    assert any(tag["name"] == "eligibility" for tag in schema["tags"])


async def test_no_personnummer_reaches_a_response_a_log_or_the_database(client, auth, db, capfd):
    """Post identity numbers in every written form to both endpoints; find them nowhere."""
    headers = auth("eligibility:check")
    numbers = [*forms(ADULT_PNR), *forms(CHILD_PNR), *forms(SAMORDNINGSNUMMER, "+")[:3]]
    wrong = ADULT_PNR[:-1] + str((int(ADULT_PNR[-1]) + 1) % 10)
    numbers += [wrong, f"{wrong[:8]}-{wrong[8:]}"]
    texts: list[str] = []
    for number in numbers:
        for field in ("personnummer", "samordningsnummer"):
            bodies = [
                (CHECK, check_body("krisstod", **{field: number})),
                (CHECK, check_body("krisstod", age=3, **{field: number})),  # contradictory
                (SEARCH, {"on": ON, "facts": {field: number}, "include_ineligible": True}),
                (SEARCH, {"on": ON, "facts": {field: number, "birth_date": "1999-01-01"}}),
            ]
            for path, body in bodies:
                response = await client.post(path, json=body, headers=headers)
                assert response.status_code in (200, 422), response.text
                texts.append(response.text)
                texts.extend(f"{k}: {v}" for k, v in response.headers.items())

    async with db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = (await connection.execute(select(table))).all()
            texts.extend(repr(tuple(row)) for row in rows)

    captured = capfd.readouterr()
    log_lines = [line for line in (captured.err + captured.out).splitlines() if line.strip()]
    routes = {json.loads(line).get("route") for line in log_lines if line.startswith("{")}
    assert {"/v1/eligibility/check", "/v1/eligibility/search"} <= routes  # the logs were captured
    texts.extend(log_lines)

    haystack = "\n".join(texts)
    # Runs of digits with separators, as digits only: catches a number however it was rewritten.
    runs = ["".join(ch for ch in run if ch.isdigit()) for run in re.findall(r"[0-9][0-9 +-]*[0-9]", haystack)]
    for number in numbers:
        assert number not in haystack, "an identity number leaked"
        bare = "".join(ch for ch in number if ch.isdigit())
        assert not any(bare in run for run in runs), "an identity number leaked (digits)"
