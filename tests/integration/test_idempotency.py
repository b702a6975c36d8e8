"""`Idempotency-Key` on POST: replays, conflicts, expiry, and one transaction for writes and record."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from pydantic import ValidationError
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from app.catalog.models import CommitteeRow, DecisionRow
from app.core.auth import Caller, TokenVerifier, authenticated
from app.core.db import Database, SessionDep
from app.core.errors import install_problem_handlers
from app.core.settings import Env, Settings
from app.kit.idempotency import (
    IdempotencyDep,
    IdempotentRoute,
    caller_scope,
    key_digest,
    parse_key,
    purge_expired,
    request_fingerprint,
)
from app.kit.idempotency_models import IdempotencyRecord
from tests.conftest import make_settings

pytestmark = pytest.mark.usefixtures("demo_catalog")

DECISIONS = "/v1/catalog/decisions"
DEMO_DECISIONS = 4  # one per demo committee
DEMO_COMMITTEES = 4
KEY = "7d3f2c1e-9b8a-4f6e-8d2c-19900102-2384"
DECISION = {
    "decided_on": "2026-01-20",
    "reference": "§ 42",
    "effective_from": "2026-02-01",
    "withdrawn": ["komet"],
    "interventions": [],
}


def with_key(headers: dict[str, str], key: str = KEY) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def assert_echoes_nothing(response: httpx.Response, *secrets: str) -> None:
    assert response.headers["content-type"] == "application/problem+json"
    for secret in (KEY, *secrets):
        assert secret not in response.text


async def count(db: Database, model: Any) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def records(db: Database) -> list[IdempotencyRecord]:
    async with db.sessions() as session:
        return list((await session.scalars(select(IdempotencyRecord))).all())


CALLER = caller_scope("sn-sydvast", "unit-a", "test-system")  # the `auth` fixture's default caller


def stored_key(key: str = KEY) -> str:
    return key_digest(make_settings("sqlite://").idempotency_secret.get_secret_value(), CALLER, key)


async def insert_record(db: Database, key: str = KEY, **values: Any) -> None:
    now = dt.datetime.now(dt.UTC)
    row = {
        "caller": CALLER,
        "key_hmac": stored_key(key),
        "fingerprint": "0" * 64,
        "state": "in_progress",
        "created_at": now,
        "expires_at": now + dt.timedelta(hours=24),
    }
    row.update(values)
    async with db.sessions() as session, session.begin():
        session.add(IdempotencyRecord(**row))


def decision_fingerprint(settings: Settings, body: dict[str, Any]) -> str:
    secret = settings.idempotency_secret.get_secret_value()
    return request_fingerprint(secret, "POST", DECISIONS, b"", json.dumps(body).encode())


# --- through POST /v1/catalog/decisions ---------------------------------------------------------


async def test_a_retry_replays_the_first_response_and_records_one_decision(client, auth, db):
    headers = auth("catalog:read catalog:write")
    first = await client.post(DECISIONS, json=DECISION, headers=with_key(headers))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers

    # The same body, formatted differently, is the same request.
    reformatted = json.dumps(dict(reversed(DECISION.items())), indent=2)
    retry = await client.post(
        DECISIONS, content=reformatted, headers={**with_key(headers), "Content-Type": "application/json"}
    )
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["content-type"] == first.headers["content-type"]

    assert await count(db, DecisionRow) == DEMO_DECISIONS + 1  # ours, once
    [record] = await records(db)
    assert record.state == "done" and record.response_status == 201
    # Without the key the request runs again, and the committee already has that reference.
    again = await client.post(DECISIONS, json=DECISION, headers=headers)
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/decision-exists"


async def test_a_quoted_key_is_the_same_key(client, auth):
    headers = auth("catalog:write")
    assert (await client.post(DECISIONS, json=DECISION, headers=with_key(headers, "abc-1"))).status_code == 201
    retry = await client.post(DECISIONS, json=DECISION, headers=with_key(headers, '"abc-1"'))
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"


async def test_the_same_key_with_another_body_is_422_and_echoes_nothing(client, auth, db):
    headers = auth("catalog:write")
    assert (await client.post(DECISIONS, json=DECISION, headers=with_key(headers))).status_code == 201
    other = dict(DECISION, reference="§ 19900102-2384")
    response = await client.post(DECISIONS, json=other, headers=with_key(headers))
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/idempotency-key-reused"
    assert_echoes_nothing(response, "19900102", "§ 42")
    assert await count(db, DecisionRow) == DEMO_DECISIONS + 1


async def test_the_same_key_on_another_path_is_422(client, auth):
    headers = auth("catalog:write")
    assert (await client.post(DECISIONS, json=DECISION, headers=with_key(headers))).status_code == 201
    response = await client.post(DECISIONS + "?x=1", json=DECISION, headers=with_key(headers))
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/idempotency-key-reused"


async def test_callers_with_the_same_key_are_independent(client, auth, db):
    first = await client.post(DECISIONS, json=DECISION, headers=with_key(auth("catalog:write", sub="system-a")))
    assert first.status_code == 201
    other = dict(DECISION, reference="§ 43")
    # Another subject, and another unit, with the same key: neither a replay nor a reuse.
    for caller in ({"sub": "system-b"}, {"sub": "system-a", "unit": "unit-b"}):
        response = await client.post(DECISIONS, json=other, headers=with_key(auth("catalog:write", **caller)))
        assert "idempotent-replayed" not in response.headers
        other = dict(other, reference=other["reference"] + "0")
        assert response.status_code == 201, response.text
    assert len(await records(db)) == 3
    assert await count(db, DecisionRow) == DEMO_DECISIONS + 3


async def test_idempotency_key_never_crosses_a_committee(client, auth, db):
    # The same subject, unit, key and body in another committee is another caller: its request
    # runs in its own committee and never gets the first committee's stored response.
    body = {
        "intervention_id": "skyddat-boende-vuxna",
        "opened_on": "2026-09-01",
        "subject": {"personnummer": "199003012391", "name": "Sigrid Provsson"},
        "notes": [{"kind": "planning", "occurred_on": "2026-09-01", "text": "Första samtalet."}],
    }
    first = await client.post("/v1/cases", json=body, headers=with_key(auth("cases:write")))
    assert first.status_code == 201, first.text
    other = await client.post("/v1/cases", json=body, headers=with_key(auth("cases:write", committee="sn-centrum")))
    assert other.status_code == 201, other.text
    assert "idempotent-replayed" not in other.headers
    assert other.json()["id"] != first.json()["id"]
    assert other.json()["person_id"] != first.json()["person_id"]
    opened_there = await client.get(f"/v1/cases/{other.json()['id']}", headers=auth(committee="sn-centrum"))
    assert opened_there.status_code == 200
    replay = await client.post("/v1/cases", json=body, headers=with_key(auth("cases:write", committee="sn-centrum")))
    assert replay.headers["idempotent-replayed"] == "true" and replay.content == other.content
    assert len(await records(db)) == 2


async def test_idempotency_key_stored_as_hmac(client, auth, db, settings):
    key = "19900301-2391-oppning"  # a key can carry anything, a personnummer included
    response = await client.post(DECISIONS, json=DECISION, headers=with_key(auth("catalog:write"), key))
    assert response.status_code == 201
    [record] = await records(db)
    secret = settings.idempotency_secret.get_secret_value()
    assert record.key_hmac == key_digest(secret, CALLER, key)
    assert len(record.key_hmac) == 64 and key not in record.key_hmac
    async with db.sessions() as session:
        raw = (await session.execute(select(IdempotencyRecord.__table__))).all()
    assert "199003012391" not in str(raw).replace("-", "") and key not in str(raw)
    # The digest is bound to the caller: the same key of another caller is unrelated.
    assert key_digest(secret, caller_scope("sn-centrum", "unit-a", "test-system"), key) != record.key_hmac
    retry = await client.post(DECISIONS, json=DECISION, headers=with_key(auth("catalog:write"), key))
    assert retry.headers["idempotent-replayed"] == "true"


async def test_while_the_first_request_runs_a_retry_gets_409_with_retry_after(client, auth, db, settings):
    await insert_record(db, fingerprint=decision_fingerprint(settings, DECISION))
    response = await client.post(DECISIONS, json=DECISION, headers=with_key(auth("catalog:write")))
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/idempotency-key-in-progress"
    assert response.headers["retry-after"] == "1"
    assert_echoes_nothing(response)
    assert await count(db, DecisionRow) == DEMO_DECISIONS


async def test_a_claim_whose_request_died_is_taken_over_after_the_lease(client, auth, db, settings):
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    await insert_record(db, fingerprint=decision_fingerprint(settings, DECISION), created_at=long_ago)
    response = await client.post(DECISIONS, json=DECISION, headers=with_key(auth("catalog:write")))
    assert response.status_code == 201
    [record] = await records(db)
    assert record.state == "done"


async def test_an_expired_key_is_ignored_and_overwritten(client, auth, db):
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    await insert_record(
        db,
        state="done",
        response_status=201,
        response_body={"text": "{}"},
        response_headers={},
        created_at=past - dt.timedelta(hours=24),
        expires_at=past,
    )
    response = await client.post(DECISIONS, json=DECISION, headers=with_key(auth("catalog:write")))
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    [record] = await records(db)
    assert record.state == "done"
    assert record.expires_at.replace(tzinfo=record.expires_at.tzinfo or dt.UTC) > dt.datetime.now(dt.UTC)


async def test_a_failed_request_stores_nothing_and_frees_the_key(client, auth, db):
    headers = auth("catalog:write")
    invalid = dict(DECISION, committee="sn-okand")  # another committee: 403
    assert (await client.post(DECISIONS, json=invalid, headers=with_key(headers))).status_code == 403
    unlawful = dict(DECISION, effective_from="2026-01-01")  # before the decision date
    broken = await client.post(DECISIONS, json=unlawful, headers=with_key(headers))
    assert broken.status_code == 422, broken.text
    assert broken.json()["type"] == "/problems/decision-violates-law"
    malformed = await client.post(DECISIONS, json={"reference": 1}, headers=with_key(headers))
    assert malformed.status_code == 422
    assert await records(db) == []
    # The key is free: the corrected request runs.
    assert (await client.post(DECISIONS, json=DECISION, headers=with_key(headers))).status_code == 201


async def test_a_missing_scope_is_403_before_any_claim(client, auth, db):
    response = await client.post(DECISIONS, json=DECISION, headers=with_key(auth("catalog:read")))
    assert response.status_code == 403
    assert await records(db) == []


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "has space", "tab\there", '"unterminated', '"bad\\escape"', "é-key".encode("latin-1")],
    ids=["empty", "too-long", "space", "tab", "quote", "escape", "non-ascii"],
)
async def test_a_malformed_key_is_400_and_echoes_nothing(client, auth, db, key):
    headers: dict[str, Any] = {**auth("catalog:write"), "Idempotency-Key": key}
    response = await client.post(DECISIONS, json=DECISION, headers=headers)
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/idempotency-key-invalid"
    text = key.decode("latin-1") if isinstance(key, bytes) else key
    if text:
        assert text not in response.text
    assert await count(db, DecisionRow) == DEMO_DECISIONS


def test_keys_are_parsed_as_tokens_or_quoted_strings():
    assert parse_key("abc") == "abc"
    assert parse_key('"a\\"b"') == 'a"b'
    assert parse_key("x" * 255) == "x" * 255
    assert parse_key('""') is None
    assert parse_key("x" * 256) is None


def test_prod_refuses_to_start_without_an_idempotency_secret():
    prod = {"env": Env.prod, "auth_jwks_url": "https://idp.example/jwks", "auth_issuer": "https://idp.example"}
    with pytest.raises(ValidationError, match="IUB_IDEMPOTENCY_SECRET"):
        Settings(**prod)
    with pytest.raises(ValidationError, match="IUB_IDEMPOTENCY_SECRET"):
        Settings(**prod, idempotency_secret="too-short")
    settings = Settings(**prod, idempotency_secret="s" * 32)
    assert "s" * 32 not in repr(settings)


async def test_without_a_key_nothing_is_recorded(client, auth, db):
    assert (await client.post(DECISIONS, json=DECISION, headers=auth("catalog:write"))).status_code == 201
    assert await records(db) == []


async def test_purge_deletes_only_expired_records(db):
    now = dt.datetime.now(dt.UTC)
    await insert_record(db, key="old", expires_at=now - dt.timedelta(seconds=1))
    await insert_record(db, key="new", expires_at=now + dt.timedelta(hours=1))
    async with db.sessions() as session, session.begin():
        assert await purge_expired(session, now) == 1
    assert [r.key_hmac for r in await records(db)] == [stored_key("new")]


async def test_openapi_documents_the_header_on_post_routes_only(client):
    schema = (await client.get("/openapi.json")).json()
    post = schema["paths"][DECISIONS]["post"]
    [header] = [p for p in post["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key"
    assert header["required"] is False
    assert header["schema"]["maxLength"] == 255
    assert "retry" in header["description"]
    assert {"400", "409", "422"} <= set(post["responses"])
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method != "post":
                assert all(p["name"] != "Idempotency-Key" for p in operation.get("parameters", [])), path


# --- a test-only app: a slow endpoint, a failing commit, a lost claim ---------------------------


class Probe:
    def __init__(self) -> None:
        self.runs = 0
        self.entered = asyncio.Event()
        self.proceed = asyncio.Event()
        self.proceed.set()
        self.fail_commit = False
        self.state_before_commit: list[str] = []


@pytest.fixture
async def probe_client(db: Database, settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Probe]]:
    probe = Probe()
    router = APIRouter(route_class=IdempotentRoute)

    @router.post("/things/{name}", status_code=201)
    async def make_thing(
        name: str,
        body: dict[str, Any],
        caller: Annotated[Caller, Depends(authenticated)],
        _idempotency: IdempotencyDep,
        session: SessionDep,
    ) -> dict[str, Any]:
        probe.runs += 1
        probe.entered.set()
        await probe.proceed.wait()
        session.add(CommitteeRow(id=name, name=str(body.get("name", name))))
        if probe.fail_commit:

            def before_commit(sync_session: Session) -> None:
                state = sync_session.execute(select(IdempotencyRecord.state)).scalars().all()
                probe.state_before_commit.extend(state)
                raise RuntimeError("the commit fails")

            event.listen(session.sync_session, "before_commit", before_commit, once=True)
        return {"id": name, "run": probe.runs}

    plain = APIRouter()

    @plain.post("/plain")
    async def plain_route(
        caller: Annotated[Caller, Depends(authenticated)], _idempotency: IdempotencyDep
    ) -> dict[str, str]:
        return {}

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.include_router(plain)
    app.state.db = db
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://iub.test") as http:
        yield http, probe


async def test_a_concurrent_retry_gets_409_and_then_the_first_response(probe_client, auth, db):
    client, probe = probe_client
    headers = with_key(auth())
    probe.proceed.clear()
    first = asyncio.create_task(client.post("/things/t-1", json={"name": "one"}, headers=headers))
    await asyncio.wait_for(probe.entered.wait(), 5)

    concurrent = await client.post("/things/t-1", json={"name": "one"}, headers=headers)
    assert concurrent.status_code == 409
    assert concurrent.headers["retry-after"] == "1"
    assert_echoes_nothing(concurrent, "one")

    probe.proceed.set()
    done = await asyncio.wait_for(first, 10)
    assert done.status_code == 201 and done.json() == {"id": "t-1", "run": 1}
    replay = await client.post("/things/t-1", json={"name": "one"}, headers=headers)
    assert replay.status_code == 201 and replay.content == done.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert probe.runs == 1
    assert await count(db, CommitteeRow) == DEMO_COMMITTEES + 1


async def test_the_record_commits_with_the_request_writes_or_not_at_all(probe_client, auth, db):
    client, probe = probe_client
    headers = with_key(auth())
    probe.fail_commit = True
    failed = await client.post("/things/t-2", json={}, headers=headers)
    assert failed.status_code == 500
    # The done record was in the request's transaction when it tried to commit ...
    assert probe.state_before_commit == ["done"]
    # ... and went with it: no thing, no record, the key is free again.
    assert await count(db, CommitteeRow) == DEMO_COMMITTEES
    assert await records(db) == []

    probe.fail_commit = False
    created = await client.post("/things/t-2", json={}, headers=headers)
    assert created.status_code == 201 and created.json()["run"] == 2
    assert await count(db, CommitteeRow) == DEMO_COMMITTEES + 1
    assert (await client.post("/things/t-2", json={}, headers=headers)).headers["idempotent-replayed"] == "true"


async def test_a_request_whose_claim_was_taken_over_rolls_back(probe_client, auth, db):
    client, probe = probe_client
    headers = with_key(auth())
    probe.proceed.clear()
    first = asyncio.create_task(client.post("/things/t-3", json={}, headers=headers))
    await asyncio.wait_for(probe.entered.wait(), 5)
    # Another request took the claim over meanwhile (as after the lease).
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord).values(created_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
        )
    probe.proceed.set()
    lost = await asyncio.wait_for(first, 10)
    assert lost.status_code == 409
    assert lost.json()["type"] == "/problems/idempotency-key-in-progress"
    assert await count(db, CommitteeRow) == DEMO_COMMITTEES
    [record] = await records(db)
    assert record.state == "in_progress"  # the other request's claim is untouched


async def test_the_dependency_without_the_route_class_fails_loudly(probe_client, auth, db):
    client, _ = probe_client
    response = await client.post("/plain", headers=with_key(auth()))
    assert response.status_code == 500
    assert await records(db) == []
    # Without a key the route works: the dependency is inert.
    assert (await client.post("/plain", headers=auth())).status_code == 200
