"""HTTP for the summary check (summarisk kontroll): may this person take part, and what must be said.

Identity numbers travel in the body only, are turned into an age and dropped: nothing is
stored, logged or answered. Both operations read the in-memory catalog and touch no database.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.catalog.snapshot import CatalogSnapshot
from app.core.auth import Caller, require
from app.core.direct import DirectRoute
from app.core.errors import problem_openapi
from app.eligibility.schemas import (
    CheckRequest,
    CheckResponse,
    SearchRequest,
    SearchResponse,
    render_check,
    render_search,
)
from app.eligibility.service import EligibilityService, resolve_facts
from app.kit.clock import today

# Both operations take a body, the bearer check and the request: called directly (`DirectRoute`).
router = APIRouter(prefix="/v1/eligibility", tags=["eligibility"], route_class=DirectRoute)

CheckCaller = Annotated[Caller, Depends(require("eligibility:check"))]
JSON = "application/json"


def _catalog(request: Request) -> CatalogSnapshot:
    # The hot path reads the in-memory catalog from the request instead of through `CatalogDep`:
    # each dependency costs FastAPI tens of microseconds per request. Same object.
    snapshot: CatalogSnapshot = request.app.state.catalog.snapshot
    return snapshot


@router.post("/check", response_model=CheckResponse, responses=problem_openapi(401, 403, 404, 422))
async def check(body: CheckRequest, caller: CheckCaller, request: Request) -> Response:
    """Check the facts against one intervention's conditions (villkor), as in force on `on`.

    Answers whether the person may take part (`eligible`, `status`), every condition with
    `met` true/false/"unknown" and a reason in Swedish and English, the actions still required
    (the guardian's consent under 15, SoL 21 kap. 2 §; an application for a needs-assessed
    intervention once the session cap is used), and the notices the provider must give
    (informationsskyldighet, SoL 11 kap. 6 §; documentation, SoL 14 kap. 3–5 §§). Never an
    assessment of need (SoL 11 kap. 5 §). Facts that are not given make conditions unknown;
    facts that contradict each other give `contradictory-facts`, naming the fields only.

    A first visit needs neither `sessions_used` (not given: none used) nor
    `self_declared_target_group` (not given: turning to the provider is the declaration). The
    same check guards `POST /v1/cases`: it refuses exactly what answers `ineligible` or `not_yet`.
    """
    on = body.on or today()
    committee = body.committee or caller.committee
    facts = resolve_facts(body.facts, on)
    offered, verdict = EligibilityService(_catalog(request)).check(committee, body.intervention_id, on, facts)
    return Response(render_check(offered, on, verdict), media_type=JSON)


@router.post("/search", response_model=SearchResponse, responses=problem_openapi(401, 403, 422))
async def search(body: SearchRequest, caller: CheckCaller, request: Request) -> Response:
    """Every intervention the committee offers without needs assessment on `on` that the facts qualify for.

    "What can I get without applying?" for a municipal self-service portal: the interventions
    no condition rules out, each with its verdict (as `check` answers it), by id. With
    `include_ineligible`, also those a condition rules out, and why.

    The search takes no target-group declaration and no sessions used: both concern one
    intervention. Each target group (målgrupp) is taken as declared by whoever turns to the
    provider for it, and listed in the answer for the person to read.
    """
    on = body.on or today()
    committee = body.committee or caller.committee
    facts = resolve_facts(body.facts, on)
    service = EligibilityService(_catalog(request))
    found = service.search(committee, on, facts, include_ineligible=body.include_ineligible)
    return Response(render_search(committee, on, found), media_type=JSON)
