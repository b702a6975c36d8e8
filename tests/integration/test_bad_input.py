"""Bad input is a clear 4xx problem with nothing written, never a 5xx (on both databases).

PostgreSQL refuses a NUL character in text and no database stores an unpaired surrogate;
timestamps, cursors and numbers beyond what the columns hold used to fail in the query, after
validation had passed. Each is now refused before anything runs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from sqlalchemy import func, select

from app.cases.models import CaseNoteRow, CasePlanRow, CaseRow, PersonRow
from app.catalog.models import CommitteeRow, DecisionRow
from app.core.inbound import INT32_MAX, RequestModel
from app.kit.idempotency_models import IdempotencyRecord
from app.main import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.usefixtures("demo_catalog")

WRITE = "cases:write cases:read"
ADULT = "199003012391"  # Skatteverket's test personnummer
NUL = "Samtal\u0000om stöd"
# An exempted opening states gender and age (the person may decline: `unknown`).
EXEMPTED_OPENING = {"intervention_id": "krisstod", "participant": {"gender": "unknown", "age": "unknown"}}


async def count(db, table: Any) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


def refused_for(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert {"field": field, "code": "unstorable_text"} in [{k: e[k] for k in ("field", "code")} for e in errors]


async def open_standard_case(client, auth) -> dict[str, Any]:
    response = await client.post(
        "/v1/cases",
        json={"intervention_id": "skyddat-boende-vuxna", "subject": {"personnummer": ADULT, "name": "Sigrid Provsson"}},
        headers=auth(WRITE),
    )
    assert response.status_code == 201, response.text
    case: dict[str, Any] = response.json()
    return case


# --- NUL and unpaired surrogates in text ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"notes": [{"kind": "planning", "occurred_on": "2026-09-02", "text": NUL}]}, "body.notes[0].text"),
        ({"subject": {"personnummer": ADULT, "name": "Sigrid\u0000Provsson"}}, "body.subject.name"),
        ({"subject": {"personnummer": ADULT, "name": "Sigrid", "address": "Provgatan\u00003"}}, "body.subject.address"),
    ],
)
async def test_a_nul_in_any_text_of_a_case_opening_is_a_422_and_nothing_is_written(client, auth, db, body, field):
    opening = {"intervention_id": "skyddat-boende-vuxna", "opened_on": "2026-09-01", **body}
    opening.setdefault("subject", {"personnummer": ADULT, "name": "Sigrid Provsson"})
    response = await client.post("/v1/cases", json=opening, headers=auth(WRITE))
    refused_for(response, field)
    assert (await count(db, CaseRow), await count(db, PersonRow), await count(db, CaseNoteRow)) == (0, 0, 0)


async def test_a_nul_in_a_note_plan_or_closing_is_a_422_and_the_case_is_unchanged(client, auth, db):
    case = await open_standard_case(client, auth)
    base = f"/v1/cases/{case['id']}"
    today = case["opened_on"]
    note = {"kind": "execution", "occurred_on": today, "text": NUL}
    refused_for(await client.post(f"{base}/notes", json=note, headers=auth(WRITE)), "body.text")
    plan = {"starts_on": today, "description": "Stöd", "responsible_contact": "Mottagningen", "goals": NUL}
    refused_for(await client.put(f"{base}/plan", json=plan, headers=auth(WRITE)), "body.goals")
    closing = {
        "closed_on": today,
        "reason": "ended_early",
        "early_termination_reason": "other",
        "early_termination_note": NUL,
    }
    refused_for(await client.post(f"{base}/close", json=closing, headers=auth(WRITE)), "body.early_termination_note")
    view = {"closed_on": today, "reason": "completed", "participant_view": {"comment": NUL}}
    refused_for(await client.post(f"{base}/close", json=view, headers=auth(WRITE)), "body.participant_view.comment")
    assert (await count(db, CaseNoteRow), await count(db, CasePlanRow)) == (0, 0)
    assert (await client.get(base, headers=auth(WRITE))).json()["status"] != "closed"


async def test_a_nul_in_person_fields_is_a_422_and_the_person_is_unchanged(client, auth, db):
    case = await open_standard_case(client, auth)
    url = f"/v1/persons/{case['person_id']}"
    for field in ("name", "address", "phone", "email"):
        refused_for(await client.patch(url, json={field: "x\u0000y"}, headers=auth(WRITE)), f"body.{field}")
    person = (await client.get(url, headers=auth(WRITE))).json()
    assert (person["name"], person["address"], person["phone"]) == ("Sigrid Provsson", None, None)


async def test_a_nul_in_a_committee_name_is_a_422_and_the_name_is_unchanged(client, auth, db):
    url = "/v1/catalog/committees/sn-sydvast"
    refused_for(await client.put(url, json={"name": "Social\u0000nämnden"}, headers=auth("catalog:write")), "body.name")
    async with db.sessions() as session:
        assert "\x00" not in (await session.get(CommitteeRow, "sn-sydvast")).name  # type: ignore[union-attr]


async def test_a_lone_surrogate_with_an_idempotency_key_is_a_422_and_claims_nothing(client, auth, db):
    # JSON may escape an unpaired surrogate; no database can store one.
    body = b'{"intervention_id": "krisstod", "notes": [{"kind": "planning", "text": "a\\udfffb"}]}'
    headers = {**auth(WRITE), "Content-Type": "application/json", "Idempotency-Key": "surrogate-1"}
    response = await client.post("/v1/cases", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (await count(db, CaseRow), await count(db, IdempotencyRecord)) == (0, 0)


async def test_a_nul_in_the_path_or_the_query_is_a_422(client, auth):
    for url in ("/v1/cases/a%00b", "/v1/audit?case_id=a%00b", "/v1/persons/%00"):
        response = await client.get(url, headers=auth(WRITE + " audit:read"))
        assert response.status_code == 422, url
        assert response.json()["errors"][0]["code"] == "unstorable_text"


# --- timestamps and cursors beyond the columns -----------------------------------------------------


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00"])
async def test_an_audit_since_beyond_what_the_database_holds_is_a_422(client, auth, since):
    response = await client.get("/v1/audit", params={"since": since}, headers=auth("audit:read"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.since"


def _case_cursor(at: str, row_id: str = "3f1d2c4b-0000-4000-8000-000000000000") -> str:
    return base64.urlsafe_b64encode(json.dumps([at, row_id]).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _case_cursor("0001-01-01T00:00:00+01:00"),
        _case_cursor("9999-12-31T23:59:59-01:00"),
        _case_cursor("2026-09-01T10:00:00+00:00", "not\u0000an-id"),
        _case_cursor("2026-09-01T10:00:00+00:00", "x" * 300),
    ],
)
async def test_a_forged_case_or_audit_cursor_is_a_422(client, auth, cursor):
    for url in ("/v1/cases", "/v1/audit"):
        response = await client.get(url, params={"cursor": cursor}, headers=auth(WRITE + " audit:read"))
        assert response.status_code == 422, url
        assert response.json()["errors"][0]["code"] == "invalid_cursor"


@pytest.mark.parametrize("raw", ["o2147483648", "o" + "9" * 30, "o-1", "o1_000", "o\u0663"])
async def test_an_outbox_cursor_beyond_its_integer_column_is_a_422(client, auth, raw):
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    response = await client.get("/v1/outbox", params={"cursor": cursor}, headers=auth("outbox:admin"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "invalid_cursor"


# --- numbers beyond the columns ----------------------------------------------------------------------


async def test_a_session_cap_beyond_any_column_is_refused_and_case_openings_keep_working(client, auth, db):
    decision = {
        "decided_on": "2026-09-01",
        "reference": "§ 3000000000",
        "effective_from": "2026-09-01",
        "interventions": [
            {
                "id": "samtalsstod-test",
                "name": "Samtalsstöd",
                "area": "adults",
                "category": "counselling",
                "documentation_rule": "counselling_exempt",
                "conditions": {"max_sessions": 3_000_000_000},
            }
        ],
    }
    decisions_before = await count(db, DecisionRow)
    response = await client.post("/v1/catalog/decisions", json=decision, headers=auth("catalog:write"))
    assert response.status_code == 422
    assert "body.interventions[0].conditions.max_sessions" in {e["field"] for e in response.json()["errors"]}
    assert await count(db, DecisionRow) == decisions_before
    opened = await client.post("/v1/cases", json=EXEMPTED_OPENING, headers=auth(WRITE))
    assert opened.status_code == 201


def _integers(schema: Any, document: dict[str, Any], path: str, seen: set[str]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if ref is not None:
            if ref in seen:
                return []
            return _integers(document["components"]["schemas"][ref.rsplit("/", 1)[-1]], document, path, seen | {ref})
        if schema.get("type") == "integer":
            found.append((path, schema))
        for key, value in schema.items():
            found += _integers(value, document, f"{path}.{key}", seen)
    elif isinstance(schema, list):
        for item in schema:
            found += _integers(item, document, path, seen)
    return found


async def test_every_integer_the_api_accepts_is_bounded_to_what_an_integer_column_holds(client):
    document = (await client.get("/openapi.json")).json()
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            inputs: list[Any] = [p["schema"] for p in operation.get("parameters", [])]
            inputs += [c["schema"] for c in operation.get("requestBody", {}).get("content", {}).values()]
            for schema in inputs:
                for where, integer in _integers(schema, document, f"{method} {path}", set()):
                    if "enum" in integer:
                        assert all(-INT32_MAX - 1 <= v <= INT32_MAX for v in integer["enum"]), where
                        checked += 1
                        continue
                    assert integer.get("minimum", integer.get("exclusiveMinimum", -(2**63))) >= -INT32_MAX - 1, where
                    assert integer.get("maximum", integer.get("exclusiveMaximum", 2**63)) <= INT32_MAX, where
                    checked += 1
    assert checked >= 15


def test_every_request_body_refuses_text_no_column_can_hold(app: FastAPI) -> None:
    """The general mechanism: every body model derives from `RequestModel`, nested ones included."""
    bodies = [
        route.body_field.field_info.annotation  # type: ignore[union-attr]
        for route in _api_routes(app)
        if route.body_field is not None
    ]
    assert len(bodies) >= 10

    def models(annotation: Any) -> list[type]:
        found = []
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.append(annotation)
            for field in annotation.model_fields.values():  # type: ignore[attr-defined]
                found += models(field.annotation)
        for argument in getattr(annotation, "__args__", ()):
            found += models(argument)
        return found

    for body in bodies:
        for model in models(body):
            assert issubclass(model, RequestModel), model.__name__


def _api_routes(app: FastAPI) -> list[APIRoute]:
    contexts = iter_route_contexts(app.routes)
    return [c.original_route for c in contexts if isinstance(c.original_route, APIRoute)]


# --- bodies over the limit ---------------------------------------------------------------------------


@pytest.fixture
async def small_limit_client(database_url: str, db) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(database_url, max_body_bytes=4096), database=db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://iub.test") as client:
            yield client


def _note_of(size: int) -> bytes:
    return json.dumps({**EXEMPTED_OPENING, "notes": [{"kind": "planning", "text": "a" * size}]}).encode()


async def test_a_body_over_the_limit_is_a_413_before_it_is_read(small_limit_client, auth, db):
    headers = {**auth(WRITE), "Content-Type": "application/json"}
    response = await small_limit_client.post("/v1/cases", content=_note_of(5000), headers=headers)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/payload-too-large"
    assert response.json()["max_bytes"] == 4096
    assert await count(db, CaseRow) == 0


async def test_a_chunked_body_over_the_limit_is_a_413_too(small_limit_client, auth, db):
    body = _note_of(5000)
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):
            sent.append(start)
            yield body[start : start + 1000]

    headers = {**auth(WRITE), "Content-Type": "application/json"}
    response = await small_limit_client.post("/v1/cases", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"
    assert await count(db, CaseRow) == 0


async def test_a_chunked_body_within_the_limit_is_served(small_limit_client, auth):
    body = json.dumps(EXEMPTED_OPENING).encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield body[:10]
        yield body[10:]

    headers = {**auth(WRITE), "Content-Type": "application/json"}
    response = await small_limit_client.post("/v1/cases", content=chunks(), headers=headers)
    assert response.status_code == 201, response.text
