"""Structured logs (structlog), one request id per request, identity numbers masked.

Every log line passes a processor that masks anything shaped like a personnummer or
samordningsnummer (10 and 12 digits), whatever the caller logged. Access lines name the
route template, not the raw path, and never the query string or the body.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.settings import LogFormat
from app.kit.personnummer import mask_identity_numbers

log = structlog.get_logger("iub")
access_log = structlog.get_logger("iub.access")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_identity_numbers(value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


# Keys whose values the service sets itself and that can never hold submitted data.
_TRUSTED_KEYS = frozenset({"timestamp", "level", "event", "request_id", "method", "route", "status", "duration_ms"})


def mask_identity_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if key not in _TRUSTED_KEYS:
            event_dict[key] = _mask(value)
    return event_dict


def _orjson_dumps(value: Any, **_: Any) -> str:
    # orjson renders a log line several times faster than the standard library.
    return orjson.dumps(value, default=str).decode()


def configure_logging(fmt: LogFormat, level: str = "INFO") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_identity_processor,  # last before rendering: covers exception text too
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if fmt is LogFormat.json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(_LateStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    # Uvicorn's own access log prints raw paths with query strings: ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True


class _LateStderr:
    """Writes to whatever `sys.stderr` is at the time (so test capture sees every line)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class RequestContextMiddleware:
    """Pure ASGI middleware: a request id in the context, the response header and one access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled_error", method=scope["method"])
            raise
        finally:
            route = scope.get("route")
            access_log.info(
                "request",
                method=scope["method"],
                route=getattr(route, "path", "unmatched"),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            safe = _SAFE_REQUEST_ID.match(candidate) and mask_identity_numbers(candidate) == candidate
            return candidate if safe else None
    return None
