"""A case opening and a note take their endpoint's direct form (`app.core.direct.direct_form`):
no FastAPI dependency solving for the usual request, and the same answer FastAPI's way gives.

Each request is sent twice, to twin states — one the direct way, one FastAPI's way (any dependency
override sends it there) — in two units set up alike; the answers must be the same once the
values that are new on each write (ids, times, participant codes) and the unit are set aside.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from app.cases.models import CaseNoteRow
from app.core.db import Database
from tests.integration.test_direct_route import counting_solves, fastapi_way
from tests.integration.test_round_trips import NOTE, WRITE, exempted_opening, identified_opening

pytestmark = pytest.mark.usefixtures("demo_catalog")

_NEW = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # an id
    r"|\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)?"  # a time
)


def _same(value: Any, unit: str) -> Any:
    """`value` with what differs between twin writes set aside."""
    if isinstance(value, dict):
        return {k: "<code>" if k == "participant_code" else _same(v, unit) for k, v in value.items()}
    if isinstance(value, list):
        return [_same(v, unit) for v in value]
    if isinstance(value, str):
        return _NEW.sub("<new>", value.replace(unit, "<unit>"))
    return value


def _answer(response: Any, unit: str) -> tuple[int, dict[str, str], Any]:
    skip = {"x-request-id", "date", "content-length"}
    headers = {k: _same(v, unit) for k, v in response.headers.items() if k not in skip}
    body = response.json()
    if isinstance(body, dict):
        body.pop("request_id", None)
    return response.status_code, headers, _same(body, unit)


async def _both_ways(app, client, auth, send) -> None:
    """`send(client, headers, unit)` in unit-d the direct way and in unit-f FastAPI's way."""
    direct = await send(client, auth(WRITE, unit="unit-d"), "unit-d")
    with fastapi_way(app):
        usual = await send(client, auth(WRITE, unit="unit-f"), "unit-f")
    assert _answer(direct, "unit-d") == _answer(usual, "unit-f")


def _opening(body: dict[str, Any]):
    async def send(client, headers, unit):
        return await client.post("/v1/cases", json=body, headers=headers)

    return send


def _note(body: Any, *, opening: dict[str, Any] | None = None, case_id: str | None = None):
    async def send(client, headers, unit):
        target = case_id
        if target is None:
            opened = await client.post("/v1/cases", json=opening or identified_opening(), headers=headers)
            target = opened.json()["id"]
        return await client.post(f"/v1/cases/{target}/notes", json=body, headers=headers)

    return send


async def test_an_identified_opening_answers_as_fastapis_way(app, client, auth):
    await _both_ways(app, client, auth, _opening(identified_opening()))


async def test_an_exempted_opening_answers_as_fastapis_way(app, client, auth):
    await _both_ways(app, client, auth, _opening(exempted_opening()))


async def test_an_opening_refused_by_the_summary_check_answers_as_fastapis_way(app, client, auth):
    body = {**identified_opening(), "facts": {"accompanying_children": True}}
    await _both_ways(app, client, auth, _opening(body))


async def test_an_invalid_opening_answers_as_fastapis_way(app, client, auth):
    await _both_ways(app, client, auth, _opening({"intervention_id": "skyddat-boende-vuxna", "subject": 1}))


async def test_a_note_answers_as_fastapis_way(app, client, auth):
    await _both_ways(app, client, auth, _note(NOTE))
    await _both_ways(app, client, auth, _note(NOTE, opening=exempted_opening()))


async def test_an_invalid_note_answers_as_fastapis_way(app, client, auth):
    await _both_ways(app, client, auth, _note({**NOTE, "kind": "no-such"}))
    before_opening = {**NOTE, "occurred_on": "2026-08-01"}
    await _both_ways(app, client, auth, _note(before_opening, opening=exempted_opening()))


async def test_a_note_on_a_case_not_visible_answers_as_fastapis_way(app, client, auth):
    await _both_ways(app, client, auth, _note(NOTE, case_id="00000000-0000-0000-0000-000000000000"))
    await _both_ways(app, client, auth, _note(NOTE, case_id="x" * 37))  # longer than an id: FastAPI's 422


async def test_the_bearer_check_comes_first_as_fastapis_way(app, client, auth):
    for headers in ({}, auth("cases:read")):
        direct = await client.post("/v1/cases", json={"x": 1}, headers=headers)
        with fastapi_way(app):
            usual = await client.post("/v1/cases", json={"x": 1}, headers=headers)
        assert _answer(direct, "") == _answer(usual, "")
        assert direct.status_code in (401, 403)


async def test_an_ordinary_opening_and_note_solve_no_dependencies(client, auth):
    headers = auth(WRITE)
    with counting_solves() as solves:
        case = (await client.post("/v1/cases", json=identified_opening(), headers=headers)).json()
        assert (await client.post(f"/v1/cases/{case['id']}/notes", json=NOTE, headers=headers)).status_code == 201
    assert solves == []


async def test_a_declared_header_takes_fastapis_way(client, auth, db: Database):
    headers = auth(WRITE)
    case = (await client.post("/v1/cases", json=identified_opening(), headers=headers)).json()
    note = f"/v1/cases/{case['id']}/notes"
    with counting_solves() as solves:
        keyed = {**headers, "Idempotency-Key": "note-1"}
        first = await client.post(note, json=NOTE, headers=keyed)
        again = await client.post(note, json=NOTE, headers=keyed)
        purposed = await client.post(note, json=NOTE, headers={**headers, "X-Purpose": "follow_up"})
    assert (first.status_code, purposed.status_code) == (201, 201)
    assert again.json() == first.json()  # replayed: the key was honoured
    assert len(solves) == 3
    async with db.sessions() as session:
        notes = await session.scalar(select(func.count()).where(CaseNoteRow.case_id == case["id"]))
    assert notes == 2


def test_a_route_without_a_direct_form_is_left_to_fastapi() -> None:
    from app.cases.router import router

    handlers = {route.name: route.get_route_handler().__name__ for route in router.routes}  # type: ignore[attr-defined]
    assert handlers["open_case"] == handlers["add_note"] == "direct"
    assert handlers["record_session"] != "direct"
