"""Request ids and trace context for outbound calls; OpenTelemetry tracing when the settings enable it.

Off by default (`IUB_TRACING_ENABLED=false`): then nothing is installed and every helper here
is a no-op that costs one attribute check. On (`configure_tracing`):

- requests: `TracingMiddleware` opens a server span per request, continuing the caller's
  `traceparent`, named by the route *template* (`POST /v1/cases/{case_id}/notes`), with the
  method, template, status and request id as attributes — never the raw path or a body;
- database calls: `instrument_database` opens a client span per statement, named by its
  operation (`SELECT`, `INSERT`, ...); the statement text and bound values are not recorded;
- journal calls: `journal_span(op)` around each request to the journal system, whose
  `traceparent` header (`outbound_headers`) makes the journal system's work part of the trace.

`outbound_headers()` is what every request to the journal system carries: `X-Request-Id` (the
API request's id where the call happens inside one, else the delivery's: the outbox event id,
bound by the dispatcher with `delivery_context`) and, with tracing on, `traceparent`.

Spans go to an OTLP/HTTP exporter (`IUB_TRACING_OTLP_ENDPOINT`, or the standard
`OTEL_EXPORTER_OTLP_*` variables) through a batching processor, off the request path.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

    from app.core.db import Database
    from app.core.settings import Settings

_delivery_id: ContextVar[str | None] = ContextVar("iub_delivery_id", default=None)
_tracer: Tracer | None = None
_provider: Any = None


def configure_tracing(settings: Settings, exporter: SpanExporter | None = None) -> bool:
    """Install tracing when the settings enable it (once per process); whether it is on."""
    global _tracer, _provider
    if not settings.tracing_enabled:
        return False
    if _tracer is not None:
        return True
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.tracing_otlp_endpoint
        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces") if endpoint else OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": settings.tracing_service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _provider = provider
    _tracer = provider.get_tracer("iub")
    return True


def flush_tracing() -> None:
    """Export the spans ended so far (at shutdown, and in tests)."""
    if _provider is not None:
        _provider.force_flush()


def reset_tracing() -> None:
    """Back to no tracing (tests)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


def tracing_enabled() -> bool:
    return _tracer is not None


# --- outbound -------------------------------------------------------------------------------------


@contextlib.contextmanager
def delivery_context(request_id: str, kind: str | None = None) -> Iterator[None]:
    """Calls inside carry `request_id` as their `X-Request-Id` (unless an API request's id is
    bound); with tracing on, inside an `outbox deliver` span (`kind`: the event kind)."""
    token = _delivery_id.set(request_id)
    try:
        if _tracer is None:
            yield
        else:
            from opentelemetry.trace import SpanKind

            with _tracer.start_as_current_span("outbox deliver", kind=SpanKind.CONSUMER) as span:
                span.set_attribute("iub.request_id", request_id)
                if kind:
                    span.set_attribute("iub.event_kind", kind)
                yield
    finally:
        _delivery_id.reset(token)


def current_request_id() -> str | None:
    bound = structlog.contextvars.get_contextvars().get("request_id")
    return bound if isinstance(bound, str) else _delivery_id.get()


def outbound_headers() -> dict[str, str]:
    headers: dict[str, str] = {}
    request_id = current_request_id()
    if request_id:
        headers["X-Request-Id"] = request_id
    if _tracer is not None:
        from opentelemetry.propagate import inject

        inject(headers)
    return headers


@contextlib.contextmanager
def journal_span(op: str) -> Iterator[Any]:
    """A client span around one request to the journal system (`op`: the port operation)."""
    if _tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind

    with _tracer.start_as_current_span(f"journal {op}", kind=SpanKind.CLIENT) as span:
        span.set_attribute("iub.journal.operation", op)
        yield span


# --- requests -------------------------------------------------------------------------------------


class TracingMiddleware:
    """A server span per HTTP request, named by the route template (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = _tracer
        if tracer is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind, Status, StatusCode

        carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", ())}
        method = scope["method"]
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with tracer.start_as_current_span(method, context=extract(carrier), kind=SpanKind.SERVER) as span:
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = getattr(scope.get("route"), "path", "unmatched")
                span.update_name(f"{method} {route}")
                span.set_attribute("http.request.method", method)
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                request_id = scope.get("state", {}).get("request_id")
                if request_id:
                    span.set_attribute("iub.request_id", request_id)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))


# --- database -------------------------------------------------------------------------------------


def instrument_database(db: Database) -> None:
    """A client span per statement of `db`'s engine (when tracing is on; once per engine)."""
    if _tracer is None or getattr(db.engine.sync_engine, "_iub_traced", False):
        return
    from opentelemetry.trace import SpanKind, Status, StatusCode
    from sqlalchemy import event

    tracer = _tracer
    engine = db.engine.sync_engine
    engine._iub_traced = True  # type: ignore[attr-defined]
    system = engine.dialect.name

    def before(conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = tracer.start_span(f"db {operation}", kind=SpanKind.CLIENT, start_time=time.time_ns())
        span.set_attribute("db.system.name", system)
        span.set_attribute("db.operation.name", operation)
        context._iub_span = span

    def after(conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
        span = getattr(context, "_iub_span", None)
        if span is not None:
            span.end()

    def failed(exception_context: Any) -> None:
        span = getattr(exception_context.execution_context, "_iub_span", None)
        if span is not None:
            span.set_status(Status(StatusCode.ERROR, type(exception_context.original_exception).__name__))
            span.end()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)
