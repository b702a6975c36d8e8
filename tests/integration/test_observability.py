"""Observability: `/metrics` by route template with the pool's state; tracing off by default, and when on,
spans of requests, database calls and journal calls with `traceparent` and the request id forwarded.

Personnummer literals are Skatteverket's official test numbers.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.core import tracing
from app.core.db import POOL_SIZE, Database
from app.journal.http_adapter import HttpJournalSystem
from app.journal.port import PersonRecord
from app.main import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.usefixtures("demo_catalog")

ADULT = "199003012391"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def _opening() -> dict[str, Any]:
    return {
        "intervention_id": "skyddat-boende-vuxna",
        "opened_on": "2026-09-01",
        "subject": {"personnummer": ADULT, "name": "Sigrid Provsson"},
        "participant": {"gender": "female", "role": "adult"},
        "facts": {"accompanying_children": False},
    }


async def test_metrics_count_requests_by_route_template_never_by_path_or_identity(client, auth, db, backend):
    case = (await client.post("/v1/cases", json=_opening(), headers=auth("cases:write cases:read"))).json()
    assert (await client.get(f"/v1/cases/{case['id']}", headers=auth("cases:read"))).status_code == 200
    await client.get("/no/such/path/199003012391")

    text = (await client.get("/metrics")).text

    assert re.search(r'iub_http_requests_total\{method="GET",route="/v1/cases/\{case_id\}",status="200"\} [1-9]', text)
    assert re.search(r'iub_http_requests_total\{method="POST",route="/v1/cases",status="201"\} [1-9]', text)
    assert 'iub_http_request_duration_seconds_bucket{le="0.05",method="POST",route="/v1/cases"}' in text
    assert 'route="unmatched"' in text
    assert case["id"] not in text and case["person_id"] not in text
    assert ADULT not in text and ADULT[2:] not in text and "no/such" not in text
    assert "iub_outbox_backlog" in text
    if backend == "postgresql":
        assert re.search(r'iub_db_pool_connections\{state="checked_out"\} [0-9.]+', text)
        assert f"iub_db_pool_size {POOL_SIZE:.1f}" in text


async def test_tracing_is_off_by_default(client, auth):
    assert not tracing.tracing_enabled()
    response = await client.post(
        "/v1/cases", json=_opening(), headers=auth("cases:write cases:read") | {"traceparent": PARENT}
    )
    assert response.status_code == 201
    assert tracing.outbound_headers().keys() <= {"X-Request-Id"}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.reset_tracing()
    yield exporter
    tracing.reset_tracing()


@pytest.fixture
async def traced_client(
    database_url: str, db: Database, spans: InMemorySpanExporter
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, tracing_enabled=True)
    assert tracing.configure_tracing(settings, exporter=spans)
    app: FastAPI = create_app(settings, database=db)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://iub.test") as http,
    ):
        yield http


def _finished(exporter: InMemorySpanExporter) -> list[Any]:
    tracing.flush_tracing()
    return list(exporter.get_finished_spans())


async def test_a_traced_request_continues_the_callers_trace_with_database_spans(traced_client, auth, spans):
    response = await traced_client.post(
        "/v1/cases", json=_opening(), headers=auth("cases:write cases:read") | {"traceparent": PARENT}
    )
    assert response.status_code == 201, response.text
    found = _finished(spans)
    server = [s for s in found if s.name == "POST /v1/cases"]
    assert len(server) == 1
    (span,) = server
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert span.attributes["http.route"] == "/v1/cases"
    assert span.attributes["http.response.status_code"] == 201
    assert span.attributes["iub.request_id"] == response.headers["x-request-id"]
    # The request's statements are spans of its trace (an opening writes in one statement, a
    # data-modifying WITH, on PostgreSQL; a statement per row on SQLite).
    database = [s for s in found if s.name.startswith("db ") and f"{s.context.trace_id:032x}" == TRACE_ID]
    assert {s.name for s in database} & {"db INSERT", "db WITH"}
    for s in found:  # nothing identifying in any name or attribute
        assert ADULT not in s.name and ADULT not in repr(dict(s.attributes or {}))


async def test_journal_calls_carry_the_request_id_and_traceparent_inside_a_delivery(spans, database_url):
    assert tracing.configure_tracing(make_settings(database_url, tracing_enabled=True), exporter=spans)
    seen: list[httpx.Headers] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(201, json={"person_ref": "p-1"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://journal.test") as http:
        with tracing.delivery_context("event-1", "case.registered"):
            await HttpJournalSystem(http).upsert_person("event-1", PersonRecord(personnummer=ADULT, name="Sigrid"))

    (headers,) = seen
    assert headers["x-request-id"] == "event-1"
    _, trace_id, span_id, _ = headers["traceparent"].split("-")
    found = _finished(spans)
    journal = next(s for s in found if s.name == "journal upsert_person")
    delivery = next(s for s in found if s.name == "outbox deliver")
    assert f"{journal.context.span_id:016x}" == span_id and f"{journal.context.trace_id:032x}" == trace_id
    assert journal.parent is not None and journal.parent.span_id == delivery.context.span_id
    assert journal.attributes["http.response.status_code"] == 201
