"""Structured logs (structlog), one request id per request, identity numbers masked: one pipeline.

Every line the process writes goes through the same processors and renderer (JSON or
console), whoever logged it: our structlog loggers, the standard library's `logging` (the
journal dispatcher and runtime, uvicorn's own lines, asyncio, any library), unhandled
exceptions of a request (our middleware and uvicorn's "Exception in ASGI application") and of
the command line. Standard-library records are bridged into structlog with
`structlog.stdlib.ProcessorFormatter` on one root handler; uvicorn is given the same
configuration (`logging_config`). A traceback is rendered to text before the last step, which
masks anything shaped like a personnummer or samordningsnummer (10 and 12 digits, spread out
or disguised) in every value: an exception message can carry a bound value (asyncpg's
"invalid input for query argument $1: '...'"). Access lines name the route template, not the
raw path, and never the query string or the body.
"""

from __future__ import annotations

import logging
import logging.config
import os
import re
import sys
import time
from collections.abc import MutableMapping
from types import TracebackType
from typing import Any

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.metrics import observe_request
from app.core.settings import LogFormat
from app.kit.personnummer import mask_identity_numbers

log = structlog.get_logger("iub")
access_log = structlog.get_logger("iub.access")

# A client's X-Request-Id is kept only in this shape (and only when it is not shaped like a
# personnummer); otherwise the service makes its own.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_identity_numbers(value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    if isinstance(value, BaseException):
        return mask_identity_numbers(f"{type(value).__name__}: {value}")
    return value


# Keys whose values the service sets itself and that can never hold submitted data. `event`
# is not one: a standard-library record's message is its event.
_TRUSTED_KEYS = frozenset({"timestamp", "level", "logger", "request_id", "route", "status", "duration_ms"})


def mask_identity_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if key not in _TRUSTED_KEYS:
            event_dict[key] = _mask(value)
    return event_dict


def _drop_color_message(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Uvicorn adds a copy of its message with terminal colour codes as an `extra`.
    event_dict.pop("color_message", None)
    return event_dict


def _orjson_dumps(value: Any, **_: Any) -> str:
    # orjson renders a log line several times faster than the standard library.
    return orjson.dumps(value, default=str).decode()


def _renderer(fmt: LogFormat) -> Any:
    if fmt is LogFormat.json:
        return structlog.processors.JSONRenderer(serializer=_orjson_dumps)
    return structlog.dev.ConsoleRenderer(colors=False)


# Added to every line, whoever logged it.
_ADDED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
# The last steps of every line: the traceback as text, then the masker over everything, then text.
_FINAL: list[Any] = [structlog.processors.format_exc_info, mask_identity_processor]


def make_formatter(fmt: str = LogFormat.console.value) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of the root handler: standard-library records through our processors."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            *_ADDED,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            _drop_color_message,
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_FINAL, _renderer(LogFormat(fmt))],
    )


class _RootHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler of the root logger: standard-library records to stderr, rendered by us."""

    def __init__(self) -> None:
        super().__init__(_LateStderr())


def make_handler() -> logging.Handler:
    return _RootHandler()


# Libraries that log every request they make at INFO (the journal client's URLs): warnings only.
_QUIET_LIBRARIES = ("httpx", "httpcore")
# Uvicorn's own loggers have no handler of their own: their records reach the root's.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")


def logging_config(fmt: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """The standard library's logging configuration as uvicorn takes it (`log_config`).

    One root handler with our formatter; uvicorn's loggers (`uvicorn`, `uvicorn.error`) without
    handlers of their own, so that their lines reach it. `configure_logging` sets up the same.
    """
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"iub": {"()": make_formatter, "fmt": fmt.value}},
        "handlers": {"stderr": {"()": make_handler, "formatter": "iub"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            **{name: {"handlers": [], "propagate": True, "level": level} for name in _UVICORN_LOGGERS},
            # Uvicorn's access log prints raw paths with query strings: ours replaces it.
            "uvicorn.access": {"handlers": [], "propagate": True, "level": "WARNING"},
            **{name: {"level": "WARNING"} for name in _QUIET_LIBRARIES},
        },
    }


_configured = False


def configure_logging(fmt: LogFormat, level: str = "INFO") -> None:
    """structlog's loggers and the standard library's root handler, both through our processors.

    Other handlers on the root logger (a test runner's capture) are left in place; ours is
    replaced, so calling this again changes the format or level rather than adding a handler.
    """
    global _configured
    level = level.upper()
    structlog.configure(
        processors=[*_ADDED, *_FINAL, _renderer(fmt)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(_LateStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _RootHandler)]:
        root.removeHandler(old)
    handler = make_handler()
    handler.setFormatter(make_formatter(fmt.value))
    root.addHandler(handler)
    root.setLevel(level)
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(level)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    _AccessLine.configure(fmt, logging.getLevelName(level) <= logging.INFO)
    _configured = True


def log_uncaught(exc_info: tuple[type[BaseException], BaseException, TracebackType | None] | None = None) -> None:
    """Log an exception nobody caught (the command line's last resort), masked like every line."""
    if not _configured:
        configure_logging(LogFormat.console)
    log.critical("uncaught_exception", exc_info=exc_info or sys.exc_info())


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
        request_id = _incoming_request_id(scope) or os.urandom(16).hex()  # 128 random bits, as hex
        scope.setdefault("state", {})["request_id"] = request_id
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
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
            route = getattr(scope.get("route"), "path", "unmatched")
            seconds = time.perf_counter() - started
            observe_request(scope["method"], route, status, seconds)
            if _AccessLine.direct:
                _AccessLine.write(request_id, scope["method"], route, status, round(seconds * 1000, 2))
            elif _AccessLine.enabled:
                access_log.info(
                    "request",
                    method=scope["method"],
                    route=route,
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                )
            # Back to what the task had (nothing): `clear_contextvars` would walk every context
            # variable of the task, the libraries' too, on every request.
            structlog.contextvars.reset_contextvars(**bound)


class _AccessLine:
    """The access line of a request. In the JSON format it is rendered here, directly: the same
    line the processors make of `access_log.info("request", ...)` (the fields, the request id
    from the context, the level and the time; a test holds the two equal), at a fraction
    of the cost (some 60 µs of a 350 µs summary check went to the processor chain). Its values
    are the service's own, except the method, which is masked unless it is a standard one."""

    direct = False
    enabled = True
    _stamper = structlog.processors.TimeStamper(fmt="iso", utc=True)

    @classmethod
    def configure(cls, fmt: LogFormat, enabled: bool) -> None:
        cls.enabled = enabled
        cls.direct = enabled and fmt is LogFormat.json

    @classmethod
    def write(cls, request_id: str, method: str, route: str, status: int, duration_ms: float) -> None:
        line: dict[str, Any] = {
            "method": method if method in _STANDARD_METHODS else mask_identity_numbers(method),
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
            "event": "request",
            "request_id": request_id,
            "level": "info",
        }
        cls._stamper(None, "info", line)
        # One write of the whole line (print's are two, the text and the newline), then flushed.
        stream = sys.stderr
        stream.write(orjson.dumps(line, default=str).decode() + "\n")
        stream.flush()


_STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _incoming_request_id(scope: Scope) -> str | None:
    """The client's request id if it has the safe shape (up to 64 of A-Z, a-z, 0-9 and `-`) and
    is not shaped like a personnummer; None otherwise (a new id is made)."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            safe = _SAFE_REQUEST_ID.match(candidate) and mask_identity_numbers(candidate) == candidate
            return candidate if safe else None
    return None
