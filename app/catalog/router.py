"""HTTP for the catalog: committees, decisions (nämndbeslut), interventions in force on a date."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from app.catalog.answers import CatalogRoute, answer
from app.catalog.domain import Area, Category
from app.catalog.loader import decision_id_for
from app.catalog.schemas import (
    CommitteeDoc,
    CommitteeNameDoc,
    CommitteePageDoc,
    DecisionDoc,
    DecisionPageDoc,
    InterventionPageDoc,
    OfferedInterventionDoc,
)
from app.catalog.service import CatalogService
from app.catalog.snapshot import CatalogSnapshot
from app.catalog.store import CatalogDep, CatalogStoreDep
from app.core.auth import Caller, require
from app.core.db import SessionDep
from app.core.errors import FORBIDDEN, NOT_FOUND, ProblemError, problem_openapi
from app.kit.clock import today
from app.kit.idempotency import IdempotencyDep
from app.kit.paging import page

router = APIRouter(prefix="/v1/catalog", tags=["catalog"], route_class=CatalogRoute)

ReadCaller = Annotated[Caller, Depends(require("catalog:read"))]
WriteCaller = Annotated[Caller, Depends(require("catalog:write"))]
CommitteeQuery = Annotated[
    str | None, Query(description="Socialnämnd id, e.g. `sn-sydvast`; default: the token's committee.")
]
OnQuery = Annotated[dt.date | None, Query(description="The date asked about; default: today (Swedish time).")]
LimitQuery = Annotated[int, Query(ge=1, le=500, description="The most items on one page.")]
CursorQuery = Annotated[str | None, Query(max_length=500, description="From a previous page's `next_cursor`.")]


@router.get("/committees", response_model=CommitteePageDoc, responses=problem_openapi(401, 403, 422))
async def list_committees(
    request: Request, caller: ReadCaller, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> Response:
    """The social committees (socialnämnder) that have a catalog, by id."""
    catalog: CatalogSnapshot = request.app.state.catalog.snapshot

    def build() -> CommitteePageDoc:
        committees = sorted(catalog.committees.values(), key=lambda c: c.id)
        items, next_cursor = page(committees, lambda c: c.id, limit, cursor)
        return CommitteePageDoc(items=[CommitteeDoc.of(c) for c in items], next_cursor=next_cursor)

    return answer(request, catalog, ("committees", limit, cursor), build)


@router.put(
    "/committees/{committee_id}",
    response_model=CommitteeDoc,
    responses=problem_openapi(401, 403, 422),
)
async def register_committee(
    committee_id: Annotated[str, Path(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)],
    body: CommitteeNameDoc,
    caller: WriteCaller,
    session: SessionDep,
    store: CatalogStoreDep,
) -> CommitteeDoc:
    """Register a committee, so that its decisions can be recorded, rename it, or set its disposal
    configuration (gallring): the research exemption (SoL 16 kap. 4 §, SoF 13 kap. 1 §), the records
    plan for exempted records, and the units run by a private provider (SoL 17 kap.).

    Omitted disposal fields stay as they are. A committee may change only itself (the token's
    `committee`); registering a new committee, changing another, or changing the disposal
    configuration needs the scope `catalog:admin` as well (403 without).
    """
    committee = await CatalogService(session, store).put_committee(
        committee_id, caller, lambda current: body.applied_to(committee_id, current)
    )
    return CommitteeDoc.of(committee)


@router.get(
    "/committees/{committee_id}",
    response_model=CommitteeDoc,
    responses=problem_openapi(401, 403, 404),
)
async def get_committee(
    committee_id: Annotated[str, Path(max_length=64)], caller: ReadCaller, catalog: CatalogDep
) -> CommitteeDoc:
    """One committee, with its disposal configuration."""
    found = catalog.committees.get(committee_id)
    if found is None:
        raise ProblemError(NOT_FOUND, "No committee with this id.")
    return CommitteeDoc.of(found)


@router.get(
    "/interventions",
    response_model=InterventionPageDoc,
    responses=problem_openapi(401, 403, 422),
)
async def list_interventions(
    request: Request,
    caller: ReadCaller,
    committee: CommitteeQuery = None,
    category: Annotated[Category | None, Query()] = None,
    area: Annotated[Area | None, Query()] = None,
    on: OnQuery = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Response:
    """The IUB interventions a committee offered on a date (default today), as its decisions stood then, by id.

    Answered with an `ETag`: send it back in `If-None-Match` and an unchanged answer is a
    `304 Not Modified` without a body.
    """
    # Not a dependency: one level less on the hottest read.
    catalog: CatalogSnapshot = request.app.state.catalog.snapshot
    committee_id, day = committee or caller.committee, on or today()

    def build() -> InterventionPageDoc:
        offered = catalog.in_force(committee_id, day)
        chosen = [
            o
            for o in sorted(offered.values(), key=lambda o: o.id)
            if (category is None or o.intervention.category == category)
            and (area is None or o.intervention.area == area)
        ]
        items, next_cursor = page(chosen, lambda o: o.id, limit, cursor)
        return InterventionPageDoc(items=[OfferedInterventionDoc.of(o) for o in items], next_cursor=next_cursor)

    return answer(request, catalog, ("interventions", committee_id, day, category, area, limit, cursor), build)


@router.get(
    "/interventions/{intervention_id}",
    response_model=OfferedInterventionDoc,
    responses=problem_openapi(401, 403, 404, 422),
)
async def get_intervention(
    request: Request,
    intervention_id: str,
    caller: ReadCaller,
    committee: CommitteeQuery = None,
    on: OnQuery = None,
) -> Response:
    """One intervention as in force on a date for a committee (with an `ETag`, as the list)."""
    catalog: CatalogSnapshot = request.app.state.catalog.snapshot
    committee_id, day = committee or caller.committee, on or today()

    def build() -> OfferedInterventionDoc:
        found = catalog.find(committee_id, intervention_id, day)
        if found is None:
            raise ProblemError(NOT_FOUND, "The committee offers no intervention with this id on that date.")
        return OfferedInterventionDoc.of(found)

    return answer(request, catalog, ("intervention", committee_id, day, intervention_id), build)


@router.get("/decisions", response_model=DecisionPageDoc, responses=problem_openapi(401, 403, 422))
async def list_decisions(
    caller: ReadCaller,
    catalog: CatalogDep,
    committee: CommitteeQuery = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> DecisionPageDoc:
    """A committee's decisions, oldest first (in the order they take effect), as recorded (never rewritten)."""
    items, next_cursor = page(catalog.decisions_of(committee or caller.committee), lambda d: d.id, limit, cursor)
    return DecisionPageDoc(items=[DecisionDoc.of(d) for d in items], next_cursor=next_cursor)


@router.get("/decisions/{decision_id}", response_model=DecisionDoc, responses=problem_openapi(401, 403, 404))
async def get_decision(decision_id: str, caller: ReadCaller, catalog: CatalogDep) -> DecisionDoc:
    """One decision. Post it back (new `reference` and dates) to record a successor."""
    decision = catalog.decisions.get(decision_id)
    if decision is None:
        raise ProblemError(NOT_FOUND, "No decision with this id.")
    return DecisionDoc.of(decision)


@router.post(
    "/decisions",
    response_model=DecisionDoc,
    status_code=status.HTTP_201_CREATED,
    responses=problem_openapi(401, 403, 404, 409, 422),
)
async def record_decision(
    body: DecisionDoc,
    caller: WriteCaller,
    _idempotency: IdempotencyDep,
    session: SessionDep,
    store: CatalogStoreDep,
    response: Response,
) -> DecisionDoc:
    """Record a committee decision, checked against the law first (SoL 11:5, 14:4, 14:5, 21:2).

    Every violation is listed in one 422 problem (`decision-violates-law`). A committee records
    its own decisions: the token's committee must be the decision's. A stored decision may still
    answer `warnings`, e.g. an identity exemption (SoL 14 kap. 5 §) without a reference to its
    risk and consequence analysis (`risk_analysis_reference`).
    """
    committee = body.committee or caller.committee
    if committee != caller.committee:
        raise ProblemError(FORBIDDEN, "A token may only record decisions of its own committee.")
    decision = body.to_domain(decision_id_for(committee, body.reference), committee)
    stored = await CatalogService(session, store).record_decision(decision)
    response.headers["Location"] = f"/v1/catalog/decisions/{stored.id}"
    return DecisionDoc.of(stored)
