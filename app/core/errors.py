"""RFC 9457 problem details: every error the API answers, with a stable `type`.

Problem types are registered once here (slug, status, title) and documented at
`GET /problems/{slug}`. Errors never echo a submitted value: validation problems name the
failing fields and what was expected, never what was sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security.http import HTTPBase
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.db import database_unavailable, get_session
from app.kit.personnummer import mask_identity_numbers

log = structlog.get_logger("iub.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"


@dataclass(frozen=True, slots=True)
class ProblemType:
    slug: str
    status: int
    title: str
    description: str

    @property
    def uri(self) -> str:
        return PROBLEM_BASE + self.slug


PROBLEM_TYPES: dict[str, ProblemType] = {}


def problem_type(slug: str, status: int, title: str, description: str) -> ProblemType:
    """Register a problem type (once, at import) and return it."""
    if slug in PROBLEM_TYPES:
        raise ValueError(f"problem type {slug!r} registered twice")
    kind = ProblemType(slug, status, title, description)
    PROBLEM_TYPES[slug] = kind
    return kind


VALIDATION = problem_type(
    "validation-error",
    422,
    "The request is not valid",
    "One or more fields failed validation; `errors` lists each field and what was expected. "
    "Submitted values are never echoed.",
)
MALFORMED = problem_type(
    "malformed-request",
    400,
    "The request could not be read",
    "The body is not well-formed JSON or a header is malformed.",
)
UNAUTHENTICATED = problem_type(
    "unauthenticated",
    401,
    "Authentication required",
    "No bearer token, or the token is invalid, expired, unsigned or meant for another audience.",
)
FORBIDDEN = problem_type(
    "insufficient-scope",
    403,
    "The token lacks the required scope",
    "The token is valid but does not carry the scope the operation requires (`required_scope`).",
)
NOT_FOUND = problem_type(
    "not-found",
    404,
    "Not found",
    "The resource does not exist, or is not visible to the calling unit.",
)
METHOD_NOT_ALLOWED = problem_type("method-not-allowed", 405, "Method not allowed", "The method is not allowed.")
CONFLICT = problem_type("conflict", 409, "Conflict", "The request conflicts with the current state.")
UNSUPPORTED_MEDIA = problem_type("unsupported-media-type", 415, "Unsupported media type", "Send `application/json`.")
INTERNAL = problem_type(
    "internal-error",
    500,
    "Internal error",
    "An unexpected error. The request id in `request_id` helps operations find it in the logs.",
)
UNAVAILABLE = problem_type(
    "service-unavailable", 503, "Service unavailable", "A dependency (the database) is not reachable."
)
DATABASE_UNAVAILABLE = problem_type(
    "database-unavailable",
    503,
    "The database is not reachable",
    "The service cannot reach its database just now; nothing was written. Retry after the "
    "`Retry-After` seconds (with the same `Idempotency-Key`, where the operation takes one).",
)
PAYLOAD_TOO_LARGE = problem_type(
    "payload-too-large",
    413,
    "The request body is too large",
    "The body exceeds the service's limit (`IUB_MAX_BODY_BYTES`, 1 MiB by default); `max_bytes` says how "
    "large it may be. Nothing was read or written.",
)
# Seconds a client is asked to wait before retrying while the database is away.
DATABASE_RETRY_AFTER_SECONDS = 2


class ProblemError(Exception):
    """Raise anywhere below the HTTP layer's handlers to answer a problem document."""

    def __init__(
        self,
        kind: ProblemType,
        detail: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.status = status or kind.status
        self.headers = headers
        self.extensions = extensions


def problem_body(kind: ProblemType, detail: str, status: int | None = None, **extensions: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": kind.uri,
        "title": kind.title,
        "status": status or kind.status,
        "detail": detail,
    }
    body.update(extensions)
    return body


def problem_response(
    kind: ProblemType,
    detail: str,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    request: Request | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = problem_body(kind, detail, status, **extensions)
    if request is not None:
        # No `instance`: a path can carry what the client sent; the request id identifies the occurrence.
        request_id = request.scope.get("state", {}).get("request_id")
        if request_id:
            body.setdefault("request_id", request_id)
    return JSONResponse(body, status_code=body["status"], headers=headers, media_type=PROBLEM_MEDIA_TYPE)


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Where a key the schema does not know was sent: the key itself is never named (it can be data,
# e.g. `{"_198101012386": ...}`), only where and how many.
UNKNOWN_FIELD = "<unknown field>"


def _safe_location(loc: tuple[Any, ...]) -> str:
    """A dotted field path; dict keys that are not plain identifiers, or look like an identity
    number, are masked (they could be data)."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif isinstance(part, str) and _IDENTIFIER.match(part) and mask_identity_numbers(part) == part:
            parts.append(("." if parts else "") + part)
        else:
            parts.append(("." if parts else "") + "*")
    return "".join(parts)


# Messages that are safe because they describe the expectation, not the input.
def _safe_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    kind = str(error.get("type", ""))
    if kind in {"value_error", "assertion_error"}:
        # Our own validators' messages never include values; pydantic prefixes them.
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in {"json_invalid"}:
        return "the body is not valid JSON"
    if kind in {"extra_forbidden"}:
        return "unknown field"
    return message


def validation_errors(errors: list[dict[str, Any]] | tuple[Any, ...]) -> list[dict[str, Any]]:
    """Pydantic errors as `{field, code, message}` — without `input` or `ctx`, which may echo values.

    Unknown keys (`extra_forbidden`) are never named: all those of one object are one entry,
    `{"field": "body.<unknown field>", "code": "extra_forbidden", "count": 2, ...}`.
    """
    out: list[dict[str, Any]] = []
    unknown: dict[str, dict[str, Any]] = {}
    for error in errors:
        loc = tuple(error.get("loc", ()))
        code = str(error.get("type", "invalid"))
        if code == "extra_forbidden" and loc:
            parent = _safe_location(loc[:-1])
            field = f"{parent}.{UNKNOWN_FIELD}" if parent else UNKNOWN_FIELD
            entry = unknown.get(field)
            if entry is None:
                entry = unknown[field] = {"field": field, "code": code, "message": "", "count": 0}
                out.append(entry)
            entry["count"] += 1
            entry["message"] = "unknown field" if entry["count"] == 1 else f"{entry['count']} unknown fields"
            continue
        out.append({"field": _safe_location(loc), "code": code, "message": _safe_message(error)})
    return out


_STATUS_KIND = {
    400: MALFORMED,
    401: UNAUTHENTICATED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    409: CONFLICT,
    413: PAYLOAD_TOO_LARGE,
    415: UNSUPPORTED_MEDIA,
    503: UNAVAILABLE,
}


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.kind, exc.detail, status=exc.status, headers=exc.headers, request=request, **exc.extensions
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(list(exc.errors()))
    if any(e["code"] == "json_invalid" for e in errors):
        return problem_response(MALFORMED, "The body is not valid JSON.", request=request)
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return problem_response(
        VALIDATION, f"{len(errors)} field(s) failed validation: {fields}.", request=request, errors=errors
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = _STATUS_KIND.get(exc.status_code, INTERNAL if exc.status_code >= 500 else MALFORMED)
    detail = exc.detail if isinstance(exc.detail, str) else kind.title
    if exc.status_code == 404:
        detail = "No such resource."
    return problem_response(kind, detail, status=exc.status_code, headers=exc.headers, request=request)


def database_unavailable_response(request: Request | None = None) -> JSONResponse:
    return problem_response(
        DATABASE_UNAVAILABLE,
        "The database is not reachable just now. Nothing was written; retry shortly.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        request=request,
    )


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    """503 while the database is away, answered here (inside the app) so the connection stays open.

    Any other database or OS error is a bug: re-raised, it is logged and answered 500 as before.
    """
    if not database_unavailable(exc):
        raise exc
    # The class name only: a driver message can quote a bound value.
    log.warning("database_unavailable", error=type(exc).__name__)
    return database_unavailable_response(request)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The exception is logged by the logging middleware; its text may hold data, so never answer it.
    if database_unavailable(exc):  # wrapped in something the specific handlers did not catch
        return database_unavailable_response(request)
    return problem_response(INTERNAL, "An unexpected error occurred.", request=request)


# The exception classes a lost database surfaces as (`database_unavailable` decides).
_DATABASE_ERRORS: tuple[type[Exception], ...] = (
    SQLAlchemyError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    for error_class in _DATABASE_ERRORS:
        app.add_exception_handler(error_class, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)


_STATUS_DESCRIPTIONS = {
    400: "The request could not be read",
    401: "No valid bearer token",
    403: "The token lacks the required scope",
    404: "Not found (or not visible to the calling unit)",
    405: "Method not allowed",
    409: "Conflicts with the current state",
    413: "The request body is too large",
    415: "Unsupported media type",
    422: "Not valid: failing fields, or a rule the request breaks",
    503: "The database or the identity provider is not reachable just now (`Retry-After` says when to retry)",
}


_RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def problem_openapi(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems an operation can answer (types: `GET /problems`)."""
    schema = {"$ref": "#/components/schemas/Problem"}
    entries: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "description": _STATUS_DESCRIPTIONS.get(status, "Problem") + " (RFC 9457 problem; types under /problems)",
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
        }
        if status == 503:
            entry["headers"] = _RETRY_AFTER_HEADER
        entries[status] = entry
    return entries


def _depends_on(dependant: Any, matches: Callable[[Any], bool]) -> bool:
    return any(matches(d.call) or _depends_on(d, matches) for d in getattr(dependant, "dependencies", []))


def _has_parameters(dependant: Any) -> bool:
    if dependant.path_params or dependant.query_params or dependant.header_params or dependant.cookie_params:
        return True
    return any(_has_parameters(d) for d in dependant.dependencies)


def document_common_problems(router: APIRouter) -> None:
    """Document on every operation the problems that any operation of its kind can answer.

    Whatever a router lists, an operation with a body can answer 400 (not JSON), 413 (too
    large) and 415 (not sent as JSON), one with a body or parameters 422 (as a problem, not
    FastAPI's default schema), and one that uses the database or authenticates 503 while the
    database or the identity provider is away. Applied to every router as it is
    included, so that no operation can forget one and the contract (checked by schemathesis)
    matches what the service answers.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        statuses: list[int] = []
        if route.body_field is not None:
            statuses += [400, 413, 415, 422]
        elif _has_parameters(route.dependant):
            statuses.append(422)
        if _depends_on(route.dependant, lambda call: call is get_session or isinstance(call, HTTPBase)):
            statuses.append(503)
        documented = {str(status) for status in route.responses}
        for status, doc in problem_openapi(*statuses).items():
            if str(status) not in documented:
                route.responses[status] = doc
