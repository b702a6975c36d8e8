"""HTTP for group meetings (stöd i grupp) and the unit-level follow-up statistics."""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import datetime as dt
import io
import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from app.cases.problems import invalid_fields
from app.catalog.store import CatalogDep
from app.core.auth import Caller, require
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import problem_openapi
from app.core.inbound import instant_in_range
from app.core.settings import Settings
from app.kit.idempotency import IdempotencyDep, IdempotentRoute
from app.stats.models import GroupMeetingRow
from app.stats.periods import PATTERN, Period
from app.stats.report import NOT_PUBLISHED, render_html
from app.stats.repository import MeetingKey
from app.stats.schemas import (
    SLUG,
    ColumnDoc,
    MeetingDoc,
    MeetingIn,
    MeetingListDoc,
    RowDoc,
    TableDoc,
    TableInfoDoc,
    TableListDoc,
)
from app.stats.service import GroupMeetingService, StatsService, TableAnswer
from app.stats.tables import TABLES, Table

groups_router = APIRouter(prefix="/v1/groups", tags=["groups"], route_class=IdempotentRoute)
stats_router = APIRouter(prefix="/v1/stats", tags=["stats"])

GroupId = Annotated[
    str,
    Path(
        pattern=SLUG, max_length=100, description="The unit's own opaque id of the group: a slug, never personal data."
    ),
]
CommitteeQuery = Annotated[
    str | None, Query(max_length=64, description="Socialnämnd id, e.g. `sn-sydvast`; default: the token's.")
]
StatsCaller = Annotated[Caller, Depends(require("stats:read"))]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _stats(db: DatabaseDep, caller: StatsCaller, catalog: CatalogDep, request: Request) -> StatsService:
    return StatsService(db, _settings(request), caller, catalog)


Stats = Annotated[StatsService, Depends(_stats)]


@groups_router.post(
    "/{group_id}/meetings",
    response_model=MeetingDoc,
    status_code=status.HTTP_201_CREATED,
    responses=problem_openapi(401, 403, 422),
)
async def record_meeting(
    group_id: GroupId,
    body: MeetingIn,
    session: SessionDep,
    caller: Annotated[Caller, Depends(require("cases:write"))],
    _idempotency: IdempotencyDep,
    catalog: CatalogDep,
    response: Response,
) -> MeetingDoc:
    """Record a group meeting (gruppträff) as counts — no person, no case.

    `participants` counts by gender, `age_bands` optionally by age band; the `note` is scrubbed of
    anything identifying like all exempted text (SoL 14 kap. 4–5 §§), whatever the intervention's
    rule: group data is unit-level follow-up. The meeting joins the statistics
    (`group_meetings`, `group_attendance_by_age_band`).
    """
    row, redactions = await GroupMeetingService(session, caller).record(group_id, body, catalog)
    response.headers["Location"] = f"/v1/groups/{group_id}/meetings"
    return MeetingDoc.of(row, redactions)


@groups_router.get("/{group_id}/meetings", response_model=MeetingListDoc, responses=problem_openapi(401, 403, 422))
async def list_meetings(
    group_id: GroupId,
    session: SessionDep,
    caller: Annotated[Caller, Depends(require("cases:read"))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=500, description="From a previous page's `next_cursor`.")] = None,
) -> MeetingListDoc:
    """The calling unit's meetings of the group, newest first. Other units' groups are never listed."""
    after = None if cursor is None else _decode_meeting_cursor(cursor)
    rows = await GroupMeetingService(session, caller).of_group(group_id, limit + 1, after)
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = _encode_meeting_cursor(rows[-1]) if more and rows else None
    return MeetingListDoc(items=[MeetingDoc.of(r) for r in rows], next_cursor=next_cursor)


def _encode_meeting_cursor(row: GroupMeetingRow) -> str:
    raw = json.dumps([row.held_on.isoformat(), row.created_at.isoformat(), row.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_meeting_cursor(cursor: str) -> MeetingKey:
    """A forged cursor is a 422 on `query.cursor`, never a failed query."""
    try:
        held_text, created_text, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        held_on, created_at = dt.date.fromisoformat(held_text), dt.datetime.fromisoformat(created_text)
        uuid.UUID(row_id)
        if instant_in_range(created_at) and len(row_id) == 36 and 1800 <= held_on.year < 3000:
            return held_on, created_at, row_id
    except (binascii.Error, ValueError, TypeError, AttributeError, UnicodeDecodeError):
        pass
    raise invalid_fields(("query.cursor", "invalid_cursor", "not a cursor this service handed out"))


def _info(table: Table) -> dict[str, object]:
    return {
        "name": table.name,
        "title": table.title_en,
        "title_sv": table.title_sv,
        "description": table.description,
        "counts": table.counts,
        "columns": [
            ColumnDoc(key=c.key, label=c.label_en, label_sv=c.label_sv, part_of=c.part_of) for c in table.columns
        ],
    }


@stats_router.get("/tables", response_model=TableListDoc, responses=problem_openapi(401, 403))
async def list_tables(caller: StatsCaller, request: Request) -> TableListDoc:
    """The predefined tables (uppföljning på verksamhetsnivå): tables over fixed periods, not queries."""
    settings = _settings(request)
    return TableListDoc(
        tables=[TableInfoDoc.model_validate(_info(t)) for t in TABLES.values()],
        periods="Calendar quarters (2026Q1) and years (2026), once they have ended.",
        method=settings.stats_disclosure_method,
        threshold=settings.stats_threshold,
    )


def _csv(answer: TableAnswer) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    keys = [c.key for c in answer.table.columns]
    writer.writerow(["level", "key", "label", *keys])
    for row in answer.rows:
        values = [row.values.get(k) for k in keys]
        writer.writerow([row.level, row.key, row.label, *(NOT_PUBLISHED if v is None else v for v in values)])
    return out.getvalue()


CSV_RESPONSE = {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The table as CSV."}


@stats_router.get(
    "/tables/{name}",
    response_model=TableDoc,
    responses={200: CSV_RESPONSE, **problem_openapi(401, 403, 404, 422)},
)
async def get_table(
    name: Annotated[str, Path(max_length=64)],
    stats: Stats,
    period: Annotated[str, Query(pattern=PATTERN, description="`2026Q1` or `2026`: an ended quarter or year.")],
    committee: CommitteeQuery = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> TableDoc | Response:
    """One predefined table for a committee and an ended calendar quarter or year.

    Rows: the committee, each of its units (enheter), each intervention (insats). Identified and
    exempted cases are counted alike. Disclosure control (röjandekontroll) has been applied to
    every table and period together: a count that is `null` (`..` in CSV) is not published, and
    no published count is from 1 to below the threshold. `Accept: text/csv` answers CSV.
    """
    answer = await stats.table(name, committee, Period.parse(period))
    if accept is not None and "text/csv" in accept:
        filename = f"{answer.table.name}-{answer.committee}-{answer.period}.csv"
        return Response(
            _csv(answer),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return TableDoc.model_validate(
        {
            **_info(answer.table),
            "committee": answer.committee,
            "period": str(answer.period),
            "as_of": answer.as_of,
            "method": answer.method,
            "threshold": answer.threshold,
            "rows": [RowDoc.model_validate(vars(r)) for r in answer.rows],
        }
    )


@stats_router.get(
    "/report",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "The report page."},
        **problem_openapi(401, 403, 422),
    },
)
async def get_report(
    stats: Stats,
    year: Annotated[int, Query(ge=2000, le=2100, description="The calendar year.")],
    committee: CommitteeQuery = None,
) -> HTMLResponse:
    """The committee's yearly follow-up as an HTML page with charts, drawn from published counts only.

    Participants per intervention over the quarters, the gender and age-band mix, the change in
    wellbeing, early endings by reason, and the tables behind them. Self-contained: no script, font
    or stylesheet is fetched from anywhere.
    """
    published = await stats.report(committee, year)
    page = await asyncio.to_thread(render_html, published, year)
    return HTMLResponse(page)
