"""The summary check's routes are called directly (`DirectRoute`), and answer as FastAPI would.

FastAPI's own way is taken whenever the app has dependency overrides, so the same requests
sent with and without an override compare the two ways answer for answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI

pytestmark = pytest.mark.usefixtures("demo_catalog")

CHECK = "/v1/eligibility/check"
SEARCH = "/v1/eligibility/search"
JSON = {"Content-Type": "application/json"}
GOOD = json.dumps({"intervention_id": "kort-intervention", "on": "2025-09-01", "facts": {"age": 30}}).encode()


def _komet(**facts: object) -> bytes:
    return json.dumps({"intervention_id": "komet", "facts": facts}).encode()


# (name, path, scope of the token or None for no token, headers, body)
REQUESTS: list[tuple[str, str, str | None, dict[str, str], bytes]] = [
    ("eligible", CHECK, "eligibility:check", JSON, GOOD),
    ("a charset parameter", CHECK, "eligibility:check", {"Content-Type": "application/json; charset=utf-8"}, GOOD),
    ("a +json media type", CHECK, "eligibility:check", {"Content-Type": "application/vnd.iub+json"}, GOOD),
    ("no content type", CHECK, "eligibility:check", {}, GOOD),
    ("no token", CHECK, None, JSON, GOOD),
    ("the wrong scope", CHECK, "catalog:read", JSON, GOOD),
    ("the wrong scope and an unknown field", CHECK, "catalog:read", JSON, b'{"x": 1}'),
    ("no token and an unknown field", CHECK, None, JSON, b'{"intervention_id": "komet", "x": 1}'),
    ("no token and a body that is not JSON", CHECK, None, JSON, b'{"x":'),
    ("a body that is not JSON", CHECK, "eligibility:check", JSON, b'{"x":'),
    ("a body that is not UTF-8", CHECK, "eligibility:check", JSON, '{"committee": "å"}'.encode("latin-1")),
    ("no body", CHECK, "eligibility:check", JSON, b""),
    ("no body and no token", CHECK, None, JSON, b""),
    ("a list", CHECK, "eligibility:check", JSON, b"[1, 2]"),
    ("null", CHECK, "eligibility:check", JSON, b"null"),
    ("NaN", CHECK, "eligibility:check", JSON, b'{"intervention_id": "komet", "facts": {"age": NaN}}'),
    ("a missing field", CHECK, "eligibility:check", JSON, b"{}"),
    ("a bad identity number", CHECK, "eligibility:check", JSON, _komet(personnummer="1990")),
    ("contradictory facts", CHECK, "eligibility:check", JSON, _komet(age=4, birth_date="1990-01-01")),
    ("an unknown intervention", CHECK, "eligibility:check", JSON, b'{"intervention_id": "no-such"}'),
    ("a search", SEARCH, "eligibility:check", JSON, b'{"on": "2025-09-01", "facts": {"age": 30}}'),
    ("a search with a check's fact", SEARCH, "eligibility:check", JSON, b'{"facts": {"sessions_used": 1}}'),
    ("a search without a token", SEARCH, None, JSON, b"{}"),
]  # fmt: skip


def _answer(response: Any) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in response.headers.items() if k not in {"x-request-id", "date"}}
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        body.pop("request_id", None)
    return response.status_code, headers, body


@contextmanager
def fastapi_way(app: FastAPI) -> Iterator[None]:
    """Any dependency override sends the direct routes FastAPI's way."""
    app.dependency_overrides[_unused] = _unused
    try:
        yield
    finally:
        app.dependency_overrides.clear()


def _unused() -> None:
    """Overridden by `fastapi_way`; never a dependency of anything."""


@contextmanager
def counting_solves() -> Iterator[list[int]]:
    """How many times FastAPI solves a request's dependencies."""
    solve = fastapi.routing.solve_dependencies
    calls: list[int] = []

    async def counted(**kwargs: Any) -> Any:
        calls.append(1)
        return await solve(**kwargs)

    fastapi.routing.solve_dependencies = counted
    try:
        yield calls
    finally:
        fastapi.routing.solve_dependencies = solve


async def test_the_direct_way_answers_every_request_as_fastapis_way_does(app, client, token):
    for name, path, scope, headers, body in REQUESTS:
        sent = {**headers, **({"Authorization": f"Bearer {token(scope)}"} if scope else {})}
        direct = _answer(await client.post(path, content=body, headers=sent))
        with fastapi_way(app):
            usual = _answer(await client.post(path, content=body, headers=sent))
        assert direct == usual, name


async def test_an_ordinary_check_is_answered_without_fastapis_dependency_solving(app, client, auth):
    headers = {**JSON, **auth("eligibility:check")}
    with counting_solves() as solves:
        assert (await client.post(CHECK, content=GOOD, headers=headers)).status_code == 200
        assert (await client.post(CHECK, content=b'{"x": 1}', headers=headers)).status_code == 422
        assert (await client.post(CHECK, content=GOOD, headers=JSON)).status_code == 401
    assert solves == []
    with counting_solves() as solves, fastapi_way(app):
        assert (await client.post(CHECK, content=GOOD, headers=headers)).status_code == 200
    assert solves == [1]


async def test_unusual_requests_take_fastapis_way_before_the_bearer_check(client, auth):
    headers = auth("eligibility:check")
    with counting_solves() as solves:
        assert (await client.post(CHECK, content=GOOD, headers=headers)).status_code == 422  # no content type
        assert (await client.post(CHECK, content=b"{", headers={**JSON, **headers})).status_code == 400
    assert solves == [1]  # the body that is not JSON fails before FastAPI solves anything


def test_a_route_of_another_shape_is_left_to_fastapi() -> None:
    from fastapi import APIRouter, Depends, Request, Response

    from app.core.auth import require
    from app.core.direct import DirectRoute

    router = APIRouter(route_class=DirectRoute)

    @router.post("/with-a-query")
    async def with_a_query(
        body: dict[str, int], request: Request, q: int = 0, caller: Any = Depends(require("eligibility:check"))
    ) -> Response:
        return Response()

    route = router.routes[0]
    handler: Callable[..., Any] = route.get_route_handler()  # type: ignore[attr-defined]
    assert handler.__name__ != "direct"
