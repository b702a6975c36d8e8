"""Outbox administration (`outbox:admin`) and the Prometheus endpoint.

- Scope: `outbox:admin` sees, retries and skips only the events of its own committee (the token's
  `committee`; each committee is its own controller); with `outbox:admin:all` as well, every
  committee's. Another committee's event is answered like one that does not exist (404).
- `GET /v1/outbox?status=&limit=&cursor=`: events oldest first, without payloads (a payload
  holds identity values; an admin needs the state, not the data).
- `POST /v1/outbox/{event_id}/retry`: a dead or pending event becomes due now with its attempts
  reset (the way to unblock an aggregate behind a dead head); optional body `{"reencode": true,
  "reason": ..., "note": ...}` rebuilds the payload first. In flight: 409, delivered: 409.
- `POST /v1/outbox/{event_id}/skip` with `{"reason": ..., "note": ...}`: the event is marked
  skipped and its record's later events flow.
  Both are recorded (`app.journal.operator`) and listed with the event (`actions`).
- `GET /metrics`: Prometheus text. Unauthenticated, like `/health`, and left out of the
  OpenAPI document: scrapers rarely carry bearer tokens, and the content is counts and ages
  only — no label carries an identity value or an id (`app.journal.metrics`). Restrict it at
  the ingress if the counts themselves are sensitive.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field
from sqlalchemy import Select, select

from app.cases.journal_events import current_payload
from app.core.auth import Caller, require
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import NOT_FOUND, VALIDATION, ProblemError, problem_openapi, problem_type
from app.core.inbound import INT32_MAX
from app.core.metrics import pool_gauges
from app.journal.metrics import exposition, outbox_gauges
from app.journal.models import OutboxAction, OutboxEvent
from app.journal.operator import OutboxOperator, PayloadNotReadable, actionable, actions_of
from app.journal.schemas import OutboxActionDoc, RetryIn, SkipIn
from app.kit.clock import now

NOT_RETRYABLE = problem_type(
    "outbox-event-not-retryable",
    409,
    "The event cannot be retried now",
    "Only dead or pending outbox events (or one in flight whose lease expired) can be retried; an event "
    "in flight is being delivered, a delivered one has arrived, a skipped one was decided against.",
)
NOT_SKIPPABLE = problem_type(
    "outbox-event-not-skippable",
    409,
    "The event cannot be skipped now",
    "Only dead or pending outbox events (or one in flight whose lease expired) can be skipped; an event "
    "in flight is being delivered, a delivered or skipped one is finished.",
)
NOT_REENCODABLE = problem_type(
    "outbox-event-not-reencodable",
    409,
    "The event's payload cannot be re-encoded",
    "The stored payload cannot be read by this version's codec; retry it without `reencode`, or skip it.",
)

router = APIRouter(prefix="/v1/outbox", tags=["outbox"])
metrics_router = APIRouter(tags=["outbox"])

Status = Literal["pending", "in_flight", "delivered", "dead", "skipped"]
Admin = Annotated[Caller, Depends(require("outbox:admin"))]
ALL_COMMITTEES = "outbox:admin:all"


def _visible_to(query: Select[OutboxEvent], caller: Caller) -> Select[OutboxEvent]:
    """Only the caller's committee's events, unless the token carries `outbox:admin:all`."""
    return query if caller.has(ALL_COMMITTEES) else query.where(OutboxEvent.committee == caller.committee)


class OutboxEventDoc(BaseModel):
    """An outbox event without its payload."""

    id: str = Field(description="The event id, also the Idempotency-Key sent to the journal system.")
    aggregate_type: str = Field(description="`case` or `person`.")
    aggregate_id: str
    kind: str = Field(description="e.g. `case.registered`, `case.closed`, `person.updated`.")
    status: Status
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None = Field(description="Error class, HTTP status and problem type; never data.")
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    actions: list[OutboxActionDoc] = Field(
        default_factory=list, description="Operators' skips and retries of this event, oldest first."
    )


class OutboxPage(BaseModel):
    items: list[OutboxEventDoc]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


def _doc(row: OutboxEvent, actions: list[OutboxAction] | None = None) -> OutboxEventDoc:
    return OutboxEventDoc(
        id=row.id,
        aggregate_type=row.aggregate_type,
        aggregate_id=row.aggregate_id,
        kind=row.kind,
        status=cast(Status, row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        actions=[OutboxActionDoc.of(a) for a in actions or []],
    )


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"o{seq}".encode()).decode().rstrip("=")


_CURSOR = re.compile(r"o(0|[1-9][0-9]{0,9})")


def _decode_cursor(cursor: str) -> int:
    # `seq` is an INTEGER column: a forged cursor beyond it must be a 422, not a failed query.
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        match = _CURSOR.fullmatch(raw)
        if match is None or int(match[1]) > INT32_MAX:
            raise ValueError("not an outbox cursor")
        return int(match[1])
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ProblemError(
            VALIDATION,
            "1 field(s) failed validation: query.cursor.",
            errors=[
                {"field": "query.cursor", "code": "invalid_cursor", "message": "not a cursor this service handed out"}
            ],
        ) from None


@router.get("", response_model=OutboxPage, responses=problem_openapi(401, 403, 422))
async def list_events(
    session: SessionDep,
    caller: Admin,
    status: Annotated[Status | None, Query(description="Only events with this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="From a previous page's `next_cursor`.")] = None,
) -> OutboxPage:
    """The caller's committee's outbox events (every committee's with `outbox:admin:all`), oldest
    first, without payloads."""
    query = _visible_to(select(OutboxEvent), caller).order_by(OutboxEvent.seq).limit(limit + 1)
    if status is not None:
        query = query.where(OutboxEvent.status == status)
    if cursor is not None:
        query = query.where(OutboxEvent.seq > _decode_cursor(cursor))
    rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    actions = await actions_of(session, [r.id for r in rows])
    return OutboxPage(
        items=[_doc(r, actions.get(r.id)) for r in rows], next_cursor=_encode_cursor(rows[-1].seq) if more else None
    )


@router.post("/{event_id}/retry", response_model=OutboxEventDoc, responses=problem_openapi(401, 403, 404, 409, 422))
async def retry_event(
    event_id: str, session: SessionDep, caller: Admin, body: Annotated[RetryIn | None, Body()] = None
) -> OutboxEventDoc:
    """Make a dead or pending event of the caller's committee due now, attempts reset (unblocks its
    case or person). Recorded.

    With `reencode`, the payload is rebuilt first: fitted to the journal contract, and a plan taken
    as it is now. Use it when the journal system refused the content (HTTP 422), after correcting
    the data through the API."""
    try:
        uuid.UUID(event_id)
    except ValueError:
        raise ProblemError(NOT_FOUND, "No such outbox event.") from None
    row = await session.scalar(
        _visible_to(select(OutboxEvent).where(OutboxEvent.id == event_id), caller).with_for_update()
    )
    if row is None:
        raise ProblemError(NOT_FOUND, "No such outbox event.")
    if not actionable(row, now()):
        raise ProblemError(NOT_RETRYABLE, f"The event is {row.status.replace('_', ' ')}.", status_now=row.status)
    body = body or RetryIn()
    try:
        await OutboxOperator(session, caller, rebuild=current_payload).retry(
            row, body.reason, body.note, reencode=body.reencode
        )
    except PayloadNotReadable:
        raise ProblemError(NOT_REENCODABLE, "The stored payload cannot be read for re-encoding.") from None
    return _doc(row, (await actions_of(session, [row.id])).get(row.id))


@router.post("/{event_id}/skip", response_model=OutboxEventDoc, responses=problem_openapi(401, 403, 404, 409, 422))
async def skip_event(event_id: str, body: SkipIn, session: SessionDep, caller: Admin) -> OutboxEventDoc:
    """Mark a dead or pending event of the caller's committee skipped: it is never sent and its
    case's (or person's) later events flow. Recorded (who, when, reason). Skipping a case's
    registration skips the case's other undelivered events too: the journal system would have no
    case to put them in."""
    try:
        uuid.UUID(event_id)
    except ValueError:
        raise ProblemError(NOT_FOUND, "No such outbox event.") from None
    row = await session.scalar(
        _visible_to(select(OutboxEvent).where(OutboxEvent.id == event_id), caller).with_for_update()
    )
    if row is None:
        raise ProblemError(NOT_FOUND, "No such outbox event.")
    if not actionable(row, now()):
        raise ProblemError(NOT_SKIPPABLE, f"The event is {row.status.replace('_', ' ')}.", status_now=row.status)
    await OutboxOperator(session, caller).skip(row, body.reason, body.note)
    return _doc(row, (await actions_of(session, [row.id])).get(row.id))


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics(session: SessionDep, db: DatabaseDep) -> Response:
    """Prometheus text format: requests by route template, database pool, outbox backlog, oldest
    pending age, dead letters, delivery and disposal counters (`app.core.metrics`)."""
    body = exposition([*await outbox_gauges(session, now()), *pool_gauges(db)])
    return Response(body, media_type=CONTENT_TYPE_LATEST)
