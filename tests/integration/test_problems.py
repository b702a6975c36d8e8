"""Every error is an RFC 9457 problem with a stable type, and never echoes what was sent."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("db")

CANARY_PNR = "199001012385"  # official test personnummer
CANARY_TEXT = "Kanariegatan 17 canary-value-xyzzy"


def assert_no_echo(response) -> None:
    body = response.text
    for value in (CANARY_PNR, "900101-2385", "9001012385", "Kanariegatan", "xyzzy"):
        assert value not in body


async def test_validation_problem_names_fields_but_never_values(client, auth):
    body = {
        "decided_on": CANARY_PNR,
        "reference": 12,
        "effective_from": CANARY_TEXT,
        "interventions": [{"id": CANARY_TEXT, "name": CANARY_PNR, "area": CANARY_TEXT}],
        CANARY_PNR: CANARY_TEXT,
    }
    response = await client.post("/v1/catalog/decisions", json=body, headers=auth("catalog:write"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    fields = {e["field"] for e in problem["errors"]}
    assert "body.decided_on" in fields
    assert "body.effective_from" in fields
    assert "body.<unknown field>" in fields, "an unknown key that could be data is never named"
    assert all(set(e) == {"field", "code", "message"} for e in problem["errors"] if e["code"] != "extra_forbidden")
    assert_no_echo(response)


async def test_unknown_keys_are_counted_never_named(client, auth):
    # Keys shaped like identifiers are data too: a personnummer behind an underscore, a street.
    body = {
        "decided_on": "2025-06-01",
        "reference": "§ 1",
        "effective_from": "2025-07-01",
        "interventions": [{"_" + CANARY_PNR: 1, "Kanariegatan17": 2}],
        "_" + CANARY_PNR: CANARY_TEXT,
        "Kanariegatan17": 1,
        "xyzzy": 2,
    }
    response = await client.post("/v1/catalog/decisions", json=body, headers=auth("catalog:write"))
    assert response.status_code == 422
    unknown = [e for e in response.json()["errors"] if e["code"] == "extra_forbidden"]
    assert {e["field"]: e["count"] for e in unknown} == {
        "body.<unknown field>": 3,
        "body.interventions[0].<unknown field>": 2,
    }
    assert {e["message"] for e in unknown} == {"3 unknown fields", "2 unknown fields"}
    assert_no_echo(response)


async def test_malformed_json_is_a_400_problem(client, auth):
    response = await client.post(
        "/v1/catalog/decisions",
        content=b'{"reference": "' + CANARY_PNR.encode() + b'"',
        headers={**auth("catalog:write"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-request"
    assert_no_echo(response)


async def test_query_parameter_errors_do_not_echo(client, auth):
    response = await client.get(
        "/v1/catalog/interventions",
        params={"on": CANARY_PNR, "category": CANARY_TEXT},
        headers=auth("catalog:read"),
    )
    assert response.status_code == 422
    assert_no_echo(response)


async def test_unknown_route_and_method_are_problems(client, auth):
    missing = await client.get(f"/v1/nothing/{CANARY_PNR}", headers=auth())
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/not-found"
    assert_no_echo(missing)
    wrong = await client.delete("/v1/catalog/committees", headers=auth())
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"


async def test_problem_types_resolve_to_their_documentation(client):
    listed = (await client.get("/problems")).json()["items"]
    assert {"/problems/validation-error", "/problems/decision-violates-law"} <= {p["type"] for p in listed}
    one = await client.get("/problems/validation-error")
    assert one.json()["status"] == 422


async def test_every_response_carries_a_request_id(client):
    response = await client.get("/health/live", headers={"X-Request-ID": "trace-abc-12345"})
    assert response.headers["x-request-id"] == "trace-abc-12345"
    for unsafe in (CANARY_PNR, "900101-2385", "a" * 65, "trace.abc", "trace abc", "<script>"):
        generated = await client.get("/health/live", headers={"X-Request-ID": unsafe})
        assert generated.headers["x-request-id"] != unsafe
        assert len(generated.headers["x-request-id"]) == 32  # a new id


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"])
async def test_a_body_that_is_not_json_is_a_415_problem(client, auth, content_type):
    response = await client.post(
        "/v1/eligibility/check",
        content=f"personnummer={CANARY_PNR}".encode(),
        headers={**auth("eligibility:check"), "Content-Type": content_type},
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/unsupported-media-type"
    assert_no_echo(response)


async def test_json_with_a_charset_or_a_json_suffix_is_accepted(client, auth):
    for content_type in ("application/json; charset=utf-8", "application/vnd.iub+json"):
        response = await client.post(
            "/v1/eligibility/check",
            content=b'{"intervention_id": "krisstod"}',
            headers={**auth("eligibility:check"), "Content-Type": content_type},
        )
        assert response.status_code != 415, content_type
