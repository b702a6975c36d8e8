"""HTTP for disposal (gallring): legal holds, disposal lists and their approval, certificates.

- `POST /v1/disposal/holds`, `GET /v1/disposal/holds`, `DELETE /v1/disposal/holds/{id}`
  (`disposal:hold`): a hold on a person's file or on a case; several may stand.
- `POST /v1/disposal/lists` (`disposal:propose`): the files due on `as_of`, counts only.
  `POST /v1/disposal/lists/{id}/refresh` (`disposal:propose`) makes it again as of its date.
- `POST /v1/disposal/lists/{id}/approve` (`disposal:approve`): by another subject than the
  proposer, naming the digest of the version approved.
- `GET /v1/disposal/lists`, `GET /v1/disposal/lists/{id}`, `GET /v1/disposal/due?before=`,
  `GET /v1/disposal/runs`, `GET /v1/disposal/runs/{id}` (`disposal:read`).
Execution is not an endpoint: `iub disposal run` and `iub worker` run approved lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.cases.cursor import decode_cursor, encode_cursor
from app.core.auth import Caller, require
from app.core.db import SessionDep
from app.core.errors import problem_openapi
from app.disposal.policy import load_policies
from app.disposal.schemas import (
    ApproveIn,
    DueDoc,
    HoldDoc,
    HoldIn,
    HoldPage,
    ListDoc,
    ListIn,
    ListPage,
    RunDoc,
    RunPage,
)
from app.disposal.service import DisposalService, PolicyLoader

T = TypeVar("T")

router = APIRouter(prefix="/v1/disposal", tags=["disposal"])

HoldCaller = Annotated[Caller, Depends(require("disposal:hold"))]
ProposeCaller = Annotated[Caller, Depends(require("disposal:propose"))]
ApproveCaller = Annotated[Caller, Depends(require("disposal:approve"))]
ReadCaller = Annotated[Caller, Depends(require("disposal:read"))]
Id = Annotated[str, Path(max_length=36)]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")]


def _page(rows: list[T], limit: int, key: Callable[[T], tuple[dt.datetime, str]]) -> tuple[list[T], str | None]:
    """The page (`rows` were fetched with one more than `limit`) and the cursor of the next, if any."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(*key(rows[-1]))


def policy_loader(request: Request) -> PolicyLoader:
    """Where a committee's disposal policy comes from (replaceable in tests)."""
    loader: PolicyLoader = getattr(request.app.state, "disposal_policies", load_policies)
    return loader


Policies = Annotated[PolicyLoader, Depends(policy_loader)]


@router.post("/holds", status_code=201, response_model=HoldDoc, responses=problem_openapi(401, 403, 404))
async def set_hold(body: HoldIn, session: SessionDep, caller: HoldCaller) -> HoldDoc:
    """Put a legal hold on a person's file (`person_id`, the caller's committee) or on the file of a
    case (`case_id`, the caller's unit). A held file is never disposed of; the hold is checked when a
    list is made and again when it is executed."""
    return HoldDoc.of(await DisposalService(session, caller).set_hold(body))


@router.get("/holds", response_model=HoldPage, responses=problem_openapi(401, 403, 422))
async def list_holds(
    session: SessionDep,
    caller: HoldCaller,
    include_released: Annotated[bool, Query(description="Released holds too.")] = False,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> HoldPage:
    """The committee's holds on persons' files and the caller's unit's holds on cases, newest first."""
    rows = await DisposalService(session, caller).holds(
        include_released=include_released, after=decode_cursor(cursor), limit=limit + 1
    )
    rows, next_cursor = _page(rows, limit, lambda r: (r.created_at, r.id))
    return HoldPage(items=[HoldDoc.of(r) for r in rows], next_cursor=next_cursor)


@router.delete("/holds/{hold_id}", status_code=204, responses=problem_openapi(401, 403, 404))
async def release_hold(hold_id: Id, session: SessionDep, caller: HoldCaller) -> Response:
    """Release a standing hold (who and when are kept)."""
    await DisposalService(session, caller).release_hold(hold_id)
    return Response(status_code=204)


@router.post("/lists", status_code=201, response_model=ListDoc, responses=problem_openapi(401, 403))
async def propose_list(body: ListIn, session: SessionDep, caller: ProposeCaller, policies: Policies) -> ListDoc:
    """Propose a disposal list: every file of the committee due on `as_of` and not held, with counts
    per action and rule. No content, no identity."""
    return ListDoc.of(await DisposalService(session, caller, policies).propose(body.as_of))


@router.get("/lists", response_model=ListPage, responses=problem_openapi(401, 403, 422))
async def list_lists(session: SessionDep, caller: ReadCaller, limit: Limit = 50, cursor: Cursor = None) -> ListPage:
    """The committee's disposal lists, the newest version first (a refresh that changes a list brings
    it to the front)."""
    rows = await DisposalService(session, caller).lists(after=decode_cursor(cursor), limit=limit + 1)
    rows, next_cursor = _page(rows, limit, lambda r: (r.proposed_at, r.id))
    return ListPage(items=[ListDoc.of(r) for r in rows], next_cursor=next_cursor)


@router.get("/lists/{list_id}", response_model=ListDoc, responses=problem_openapi(401, 403, 404))
async def get_list(list_id: Id, session: SessionDep, caller: ReadCaller) -> ListDoc:
    return ListDoc.of(await DisposalService(session, caller).get_list(list_id))


@router.post("/lists/{list_id}/refresh", response_model=ListDoc, responses=problem_openapi(401, 403, 404, 409))
async def refresh_list(list_id: Id, session: SessionDep, caller: ProposeCaller, policies: Policies) -> ListDoc:
    """Make the list again as of its date. If the items changed, the version grows and the list needs
    approval again."""
    return ListDoc.of(await DisposalService(session, caller, policies).refresh(list_id))


@router.post("/lists/{list_id}/approve", response_model=ListDoc, responses=problem_openapi(401, 403, 404, 409))
async def approve_list(list_id: Id, body: ApproveIn, session: SessionDep, caller: ApproveCaller) -> ListDoc:
    """Approve the list version whose `digest` is given. Four eyes: another subject than the proposer
    (403 `disposal-four-eyes`); another version than the current one is 409 `disposal-list-changed`; a
    list whose current version is approved already is 409 `disposal-list-already-approved`, unchanged."""
    return ListDoc.of(await DisposalService(session, caller).approve(list_id, body.digest))


@router.get("/due", response_model=DueDoc, responses=problem_openapi(401, 403))
async def due(
    before: Annotated[dt.date, Query(description="Files due before this date.")],
    session: SessionDep,
    caller: ReadCaller,
    policies: Policies,
) -> DueDoc:
    """How many files fall due before a date, per action, rule and year: for planning. Counts only."""
    return await DisposalService(session, caller, policies).due_before(before)


@router.get("/runs", response_model=RunPage, responses=problem_openapi(401, 403, 422))
async def list_runs(session: SessionDep, caller: ReadCaller, limit: Limit = 50, cursor: Cursor = None) -> RunPage:
    """Disposal certificates (gallringsprotokoll) of the committee, newest first."""
    runs = await DisposalService(session, caller).runs(after=decode_cursor(cursor), limit=limit + 1)
    runs, next_cursor = _page(runs, limit, lambda r: (r[0].started_at, r[0].id))
    return RunPage(items=[RunDoc.of(run, packages) for run, packages in runs], next_cursor=next_cursor)


@router.get("/runs/{run_id}", response_model=RunDoc, responses=problem_openapi(401, 403, 404))
async def get_run(run_id: Id, session: SessionDep, caller: ReadCaller) -> RunDoc:
    """One disposal certificate: list, proposer, approver, dates, files per action and rule, packages
    with SHA-256. No identity of anyone whose file went."""
    run, packages = await DisposalService(session, caller).run(run_id)
    return RunDoc.of(run, packages)
