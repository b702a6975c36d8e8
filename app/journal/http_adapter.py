"""`JournalSystem` over HTTP, as `contracts/journal-system.openapi.yaml` describes it.

One attempt per call: retries belong to the outbox dispatcher, which gets a
`JournalTransientError` (with the server's Retry-After) or a `JournalPermanentError`.
Identity stays out of URLs (persons are addressed by `person_ref`) and out of error messages
(problem details are masked before they are kept).

The HTTP client is a `JournalTransport`: `AiohttpTransport` for a real journal system (about a
fifth of httpx's CPU per request over loopback, measured: what bounds a worker's deliveries per
second), `HttpxTransport` around any `httpx.AsyncClient` (the embedded simulator through
`httpx.ASGITransport`, and the tests' mock transports). Every request carries the delivery's
`X-Request-Id` and, with tracing on, its `traceparent` (`app.core.tracing`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import orjson

from app.core.tracing import journal_span, outbound_headers
from app.journal.port import (
    CASE_TYPE,
    CaseClosing,
    CaseDisposal,
    CaseDisposed,
    CaseRef,
    CaseRegistration,
    EntryRef,
    InterventionPlan,
    JournalEntry,
    JournalError,
    JournalPermanentError,
    JournalTransientError,
    PersonContactUpdate,
    PersonRecord,
    PersonRef,
    derive_key,
)
from app.kit.personnummer import mask_identity_numbers

JSON = dict[str, Any]

_TRANSIENT_STATUSES = frozenset({408, 425, 429})
_KEY_IN_USE = "/idempotency-key-in-use"  # a 409 that only means "not yet"
_ACCEPT = "application/json, application/problem+json"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class RawResponse:
    status_code: int
    headers: Mapping[str, str]  # case-insensitive lookups (httpx.Headers, multidict)
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        # orjson: a third of json.loads' CPU for the journal's answers (its errors are ValueErrors).
        return orjson.loads(self.content)


class NoResponse(Exception):
    """The request got no (complete) response: refused, reset, timed out. It may have been applied."""


class JournalTransport(Protocol):
    async def send(self, method: str, path: str, content: bytes, headers: dict[str, str]) -> RawResponse:
        """One request; `NoResponse` (caused by the client's own error) when no response came."""
        ...

    async def aclose(self) -> None: ...


class HttpxTransport:
    """An `httpx.AsyncClient` (base_url, timeouts and TLS configured by the caller)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(self, method: str, path: str, content: bytes, headers: dict[str, str]) -> RawResponse:
        try:
            response = await self.client.request(method, path, content=content, headers=headers)
        except httpx.HTTPError as exc:  # timeouts, refused or reset connections, broken bodies
            raise NoResponse(type(exc).__name__) from exc
        return RawResponse(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        await self.client.aclose()


class AiohttpTransport:
    """aiohttp with keep-alive connections (at most `connections`); the session is made on first
    use, inside the running event loop. `timeout` bounds each request as a whole."""

    def __init__(self, base_url: str, *, timeout: float, connections: int = 16) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._connections = connections
        self._session: Any = None

    def _get_session(self) -> Any:
        if self._session is None:
            import aiohttp

            connector = aiohttp.TCPConnector(limit=self._connections, limit_per_host=self._connections)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def send(self, method: str, path: str, content: bytes, headers: dict[str, str]) -> RawResponse:
        import aiohttp

        session = self._get_session()
        try:
            async with session.request(method, self._base_url + path, data=content, headers=headers) as response:
                body = await response.read()
                return RawResponse(response.status, response.headers, body)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise NoResponse(type(exc).__name__) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def as_transport(client: httpx.AsyncClient | JournalTransport) -> JournalTransport:
    return HttpxTransport(client) if isinstance(client, httpx.AsyncClient) else client


class HttpJournalSystem:
    """The journal system behind a `JournalTransport` (or an `httpx.AsyncClient`, wrapped). Each
    method sends its request(s) with an Idempotency-Key derived from `key` and the operation
    (see `port.derive_key`)."""

    def __init__(
        self, client: httpx.AsyncClient | JournalTransport, *, now: Callable[[], dt.datetime] = _utcnow
    ) -> None:
        self._client = as_transport(client)
        self._now = now  # for Retry-After given as an HTTP-date

    async def upsert_person(self, key: str, person: PersonRecord) -> PersonRef:
        body = {
            "personnummer": person.personnummer,
            "name": person.name,
            "protected_identity": person.protected_identity,
        }
        # Absent rather than null: an upsert must not clear what another unit recorded.
        body |= {k: v for k, v in (("address", person.address), ("phone", person.phone), ("email", person.email)) if v}
        data = await self._write("upsert_person", "POST", "/persons", key, body)
        return _ref(data, "person_ref", "upsert_person")

    async def update_person(self, key: str, person_ref: PersonRef, update: PersonContactUpdate) -> None:
        body = {
            "name": update.name,
            "address": update.address,
            "phone": update.phone,
            "email": update.email,
            "protected_identity": update.protected_identity,
        }
        path = f"/persons/{_seg(person_ref)}"
        await self._write("update_person", "PATCH", path, key, body, "application/merge-patch+json")

    async def register_case(self, key: str, registration: CaseRegistration, person_ref: PersonRef) -> CaseRef:
        guardian_ref = None
        if registration.guardian is not None:
            guardian_ref = await self.upsert_person(derive_key(key, "guardian"), registration.guardian)
        body = {
            "case_type": CASE_TYPE,
            "person_ref": person_ref,
            "guardian_ref": guardian_ref,
            "unit": registration.unit,
            "intervention": {"id": registration.intervention_id, "name": registration.intervention_name},
            "registered_until": "until_further_notice",  # tills vidare (seed 004)
            "process_steps": registration.process_steps,
            "opened_on": registration.opened_on.isoformat(),
            "documentation_basis": str(registration.documentation_basis),
        }
        data = await self._write("register_case", "POST", "/cases", key, body)
        return _ref(data, "case_ref", "register_case")

    async def add_journal_entry(self, key: str, case_ref: CaseRef, entry: JournalEntry) -> EntryRef:
        body = {"kind": str(entry.kind), "occurred_on": entry.occurred_on.isoformat(), "text": entry.text}
        path = f"/cases/{_seg(case_ref)}/journal-entries"
        data = await self._write("add_journal_entry", "POST", path, key, body)
        return _ref(data, "entry_ref", "add_journal_entry")

    async def put_plan(self, key: str, case_ref: CaseRef, plan: InterventionPlan) -> None:
        body = {
            "starts_on": plan.starts_on.isoformat(),
            "follow_up_on": plan.follow_up_on.isoformat() if plan.follow_up_on else None,
            "time_frame": plan.time_frame,
            "description": plan.description,
            "responsible_contact": plan.responsible_contact,
            "reason_for_seeking": plan.reason_for_seeking,
            "goals": plan.goals,
            "form": plan.form,
            "frequency": plan.frequency,
            "follow_up": plan.follow_up,
            "reason_for_closing": plan.reason_for_closing,
            "personal": {"next_of_kin": plan.personal.next_of_kin},
        }
        await self._write("put_plan", "PUT", f"/cases/{_seg(case_ref)}/plan", key, body)

    async def close_case(self, key: str, case_ref: CaseRef, closing: CaseClosing) -> None:
        body = {
            "closed_on": closing.closed_on.isoformat(),
            "reason": str(closing.reason),
            "early_termination_reason": closing.early_termination_reason,
            "disposal_due_on": _iso(closing.disposal_due_on),
        }
        if closing.disposal_action is not None:  # absent only in events written before it was sent:
            body |= {  # their retry must be the same request, or the journal system refuses the key
                "disposal_deadline_on": _iso(closing.disposal_deadline_on),
                "disposal_action": str(closing.disposal_action),
                "retention_basis": None if closing.retention_basis is None else str(closing.retention_basis),
            }
        await self._write("close_case", "POST", f"/cases/{_seg(case_ref)}/closing", key, body)

    async def set_disposal(self, key: str, case_ref: CaseRef, disposal: CaseDisposal) -> None:
        body = {
            "disposal_due_on": _iso(disposal.due_on),
            "disposal_deadline_on": _iso(disposal.deadline_on),
            "disposal_action": str(disposal.action),
            "retention_basis": str(disposal.basis),
        }
        await self._write("set_disposal", "PUT", f"/cases/{_seg(case_ref)}/disposal", key, body)

    async def record_disposed(self, key: str, case_ref: CaseRef, disposed: CaseDisposed) -> None:
        body = {
            "disposed_on": disposed.disposed_on.isoformat(),
            "action": disposed.action,
            "rule": disposed.rule,
            "archive_package": disposed.archive_package,
        }
        await self._write("record_disposed", "POST", f"/cases/{_seg(case_ref)}/disposed", key, body)

    async def _write(
        self, op: str, method: str, path: str, key: str, body: JSON, content_type: str = "application/json"
    ) -> JSON:
        headers = {
            # Per operation, so one event id can drive several methods without a key clash.
            "Idempotency-Key": derive_key(key, op),
            "Content-Type": content_type,
            "Accept": _ACCEPT,
        }
        # The standard library's bytes (a retry must send what an earlier version sent: a journal
        # system may compare bodies byte for byte under one Idempotency-Key).
        content = json.dumps(body, ensure_ascii=False).encode()
        with journal_span(op) as span:
            headers.update(outbound_headers())  # inside the span: its traceparent
            try:
                response = await self._client.send(method, path, content, headers)
            except NoResponse as exc:
                cause = exc.__cause__ or exc
                raise JournalTransientError(f"{op}: no response ({type(cause).__name__})") from cause
            if span is not None:
                span.set_attribute("http.response.status_code", response.status_code)
        if response.is_success:
            try:
                data = response.json()
            except ValueError:
                data = None
            if not isinstance(data, dict):
                raise JournalPermanentError(
                    f"{op}: {response.status_code} without a JSON object", status=response.status_code
                )
            return data
        raise self._error(op, response)

    def _error(self, op: str, response: RawResponse) -> JournalError:
        status = response.status_code
        problem = _problem(response)
        problem_type = problem.get("type") if isinstance(problem.get("type"), str) else None
        parts = [f"{op}: HTTP {status}"] + [str(problem[k]) for k in ("title", "detail") if problem.get(k)]
        detail = mask_identity_numbers(" - ".join(parts))
        transient = (
            status in _TRANSIENT_STATUSES
            or status >= 500
            or (status == 409 and problem_type is not None and problem_type.endswith(_KEY_IN_USE))
        )
        if transient:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._now())
            return JournalTransientError(detail, retry_after=retry_after, status=status, problem_type=problem_type)
        return JournalPermanentError(detail, status=status, problem_type=problem_type)


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: let the dispatcher's backoff decide
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _problem(response: RawResponse) -> JSON:
    """The problem document, or {} when the body is not one (e.g. a proxy's HTML page)."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _ref(data: JSON, name: str, op: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise JournalPermanentError(f"{op}: response has no {name}")
    return value


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _seg(ref: str) -> str:
    """A ref as one path segment; refs are opaque, so quote everything."""
    return quote(ref, safe="")
