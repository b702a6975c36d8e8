"""HTTP for cases (ärenden, type "IFO Registrering IUB") and the unit's process steps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.audit import AuditTrail, Purpose
from app.cases.cursor import decode_cursor, encode_cursor
from app.cases.models import CaseRow
from app.cases.policy import CaseStatus, Identity
from app.cases.processes import unit_processes
from app.cases.retention import case_verdicts, policy_of
from app.cases.schemas import (
    CaseDetailDoc,
    CaseDoc,
    CaseOpenedDoc,
    CaseOpenIn,
    CasePageDoc,
    CloseIn,
    CodedEntryDoc,
    CodedEntryIn,
    CodedEntryResultDoc,
    JournalView,
    NoteAddIn,
    NoteDoc,
    NoteResultDoc,
    PlanDoc,
    PlanIn,
    PlanResultDoc,
    PlanVersionDoc,
    PlanVersionsDoc,
    SessionDoc,
    SessionIn,
    SessionResultDoc,
    SummaryCheckDoc,
    SummaryConditionDoc,
    UnitProcessDoc,
    UnitProcessIn,
)
from app.cases.service import CaseService, Written
from app.catalog.snapshot import CatalogSnapshot
from app.catalog.store import CatalogDep, get_catalog
from app.core.auth import Caller, require
from app.core.db import SessionDep, request_transaction
from app.core.direct import DirectAnswer, DirectForms, direct_form
from app.core.errors import problem_openapi
from app.disposal.rules import ProviderKind, Verdict
from app.journal.links import journal_status
from app.kit.idempotency import IdempotencyDep, IdempotentRoute
from app.kit.paging import page


class CaseRoute(DirectForms, IdempotentRoute):
    """Idempotent routes, whose usual requests call the endpoint's direct form where it has one."""


router = APIRouter(prefix="/v1/cases", tags=["cases"], route_class=CaseRoute)
units_router = APIRouter(prefix="/v1/units", tags=["units"])

ReadCaller = Annotated[Caller, Depends(require("cases:read"))]
WriteCaller = Annotated[Caller, Depends(require("cases:write"))]
PurposeHeader = Annotated[
    Purpose | None,
    Header(
        alias="X-Purpose",
        description="Why the case is accessed (recorded in the audit trail); default `carrying_out`.",
    ),
]
CaseId = Annotated[str, Path(max_length=36, description="The case id.")]


def _writing(session: AsyncSession, caller: Caller, request: Request, purpose: Purpose | None) -> CaseService:
    window = request.app.state.settings.session_cap_window_months
    audit = AuditTrail(session, caller, purpose)
    return CaseService(session, caller, audit, cap_window_months=window, processes=unit_processes(request))


# Async dependencies: FastAPI would run plain functions in its thread pool.
async def _reader(
    session: SessionDep, caller: ReadCaller, request: Request, purpose: PurposeHeader = None
) -> CaseService:
    audit = AuditTrail(session, caller, purpose)
    return CaseService(session, caller, audit, processes=unit_processes(request))


async def _writer(
    session: SessionDep, caller: WriteCaller, request: Request, purpose: PurposeHeader = None
) -> CaseService:
    return _writing(session, caller, request, purpose)


Reader = Annotated[CaseService, Depends(_reader)]
Writer = Annotated[CaseService, Depends(_writer)]


def _case_url(written: Written) -> str:
    """`Location` of what a write created: the case, which holds its notes, sessions and entries."""
    return f"/v1/cases/{written.case.id}"


async def _journal(service: CaseService, *cases: CaseRow) -> dict[str, JournalView]:
    """Delivery state and reference of the identified cases among `cases`, in one query."""
    identified = [c.id for c in cases if c.identity == Identity.identified]
    return await journal_status(service.session, "case", identified) if identified else {}


async def _disposal(service: CaseService, catalog: CatalogSnapshot, *cases: CaseRow) -> dict[str, Verdict]:
    """What each case shows of disposal: its file's verdict, in one query for all the cases' persons."""
    return await case_verdicts(service.session, policy_of(catalog, service.caller.committee), cases)


def _open_file_verdict(written: Written, catalog: CatalogSnapshot) -> Verdict | None:
    """The disposal verdict of a case the request left open, where it needs no query: an open case
    keeps its file from being due (SoL 16:1), so only the file's provider kind and personnummer
    count, and a file with a case at a municipal unit is municipal (SoL 17:2 applies to private
    files only). None where the other units' cases would decide (a private unit) or the number is
    not at hand."""
    case = written.case
    if case.status == CaseStatus.closed:
        return None
    policy = policy_of(catalog, case.committee)
    if case.person_id is None:
        return policy.exempted_record(last_entry_on=None)
    if written.personnummer is None or policy.provider(case.unit) is not ProviderKind.MUNICIPAL:
        return None
    return policy.person_file(units=[case.unit], last_entry_on=None, personnummer=written.personnummer)


async def _fields(service: CaseService, written: Written, catalog: CatalogSnapshot) -> dict[str, object]:
    case = written.case
    if written.journal_known:  # the write knew it: no query for what the request just wrote
        journal = {case.id: written.journal} if written.journal is not None else {}
    else:
        journal = await _journal(service, case)
    verdict = _open_file_verdict(written, catalog)
    if verdict is None:
        verdict = (await _disposal(service, catalog, case))[case.id]
    return CaseDoc.fields_of(case, written.redactions, journal.get(case.id), verdict)


async def _opened(service: CaseService, written: Written, catalog: CatalogSnapshot) -> CaseOpenedDoc:
    fields = await _fields(service, written, catalog)
    assert written.verdict is not None
    summary = SummaryCheckDoc(
        status="eligible" if written.verdict.eligible else "undetermined",
        conditions=[
            SummaryConditionDoc(condition=r.condition, code=r.code, met="unknown" if r.met is None else r.met)
            for r in written.verdict.conditions
        ],
    )
    return CaseOpenedDoc.model_validate(
        {
            **fields,
            "notes": [NoteDoc.of(n) for n in written.notes],
            "plan": None,
            "sessions": [],
            "coded_entries": [],
            "summary_check": summary,
        }
    )


async def _opening(
    service: CaseService, body: CaseOpenIn, catalog: CatalogSnapshot, *, alone: bool
) -> tuple[CaseOpenedDoc, str]:
    written = await service.open(body, catalog, alone=alone)
    return await _opened(service, written, catalog), _case_url(written)


async def _open_case_directly(request: Request, caller: Caller, body: CaseOpenIn) -> DirectAnswer:
    """`open_case` without an `Idempotency-Key` or `X-Purpose`: see `app.core.direct`."""
    async with request_transaction(request) as session:
        service = _writing(session, caller, request, None)
        answer, location = await _opening(service, body, await get_catalog(request), alone=True)
    return answer, {"Location": location}


@router.post(
    "",
    response_model=CaseOpenedDoc,
    status_code=status.HTTP_201_CREATED,
    responses=problem_openapi(401, 403, 409, 422),
)
@direct_form(_open_case_directly)
async def open_case(
    body: CaseOpenIn, service: Writer, _idempotency: IdempotencyDep, catalog: CatalogDep, response: Response
) -> CaseOpenedDoc:
    """Open a case for one IUB intervention in the caller's unit (SoL 14 kap. 3–5 §§).

    **The summary check first** (summarisk kontroll, SoL 11 kap. 5 §): the facts the request
    states — the participant's age (`participant.age`, `birth_year` or the subject's
    personnummer; for a parent-targeted case the child's age from `child.personnummer`), role,
    `guardian_consent` and `facts` — are checked by the same rules as `POST /v1/eligibility/check`.
    `ineligible` or `not_yet` (under 15 without the guardian's consent, SoL 21 kap. 2 §) answers
    422 `conditions-not-met` listing each failed condition, and nothing is written; facts not
    stated stay unknown and never block (`summary_check` in the answer lists them).

    An identified person (for a parent-targeted case, the child) with a running case of the
    intervention in the unit gets 409 `case-already-open` with its `case_id`. An exempted case
    requires `participant.gender` and an age (`unknown` is an accepted answer for either).

    The intervention's documentation rule on the opening date is snapshotted and governs the case
    for life. `standard` (14:3) registers the person — for a parent-targeted intervention on the
    child's personnummer, with the parent as guardian. `identity_exempt` (14:5) and
    `counselling_exempt` (14:4) remove every identity-revealing value **before** anything is
    written: structured fields are dropped, free text is scrubbed, and the case gets a random
    `participant_code`. `redactions` lists what was removed (never the values).
    """
    # Without an idempotency record to commit with it, the opening is the request's only write.
    answer, response.headers["Location"] = await _opening(service, body, catalog, alone=_idempotency is None)
    return answer


@router.get("", response_model=CasePageDoc, responses=problem_openapi(401, 403, 422))
async def list_cases(
    service: Reader,
    status_: Annotated[CaseStatus | None, Query(alias="status")] = None,
    intervention_id: Annotated[str | None, Query(max_length=100)] = None,
    participant_code: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    *,
    catalog: CatalogDep,
) -> CasePageDoc:
    """The calling unit's cases, open and closed, newest first. Other units' cases are never listed."""
    rows, more = await service.page(
        status=None if status_ is None else status_.value,
        intervention_id=intervention_id,
        participant_code=participant_code,
        after=decode_cursor(cursor),
        limit=limit,
    )
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    journal = await _journal(service, *rows)
    disposal = await _disposal(service, catalog, *rows)
    return CasePageDoc(
        items=[CaseDoc.of(r, disposal[r.id], journal=journal.get(r.id)) for r in rows], next_cursor=next_cursor
    )


@router.get("/{case_id}", response_model=CaseDetailDoc, responses=problem_openapi(401, 403, 404, 422))
async def get_case(case_id: CaseId, service: Reader, catalog: CatalogDep) -> CaseDetailDoc:
    """One case with its notes, plan and sessions. Another unit's case is 404, exactly like a missing one."""
    case = await service.get(case_id)
    journal = await _journal(service, case)
    disposal = await _disposal(service, catalog, case)
    fields = CaseDoc.fields_of(case, [], journal.get(case.id), disposal[case.id])
    return CaseDetailDoc.model_validate(
        {
            **fields,
            "notes": [NoteDoc.of(n) for n in case.notes],
            "plan": None if case.plan is None else PlanDoc.of(case.plan),
            "sessions": [SessionDoc.of(s) for s in case.sessions],
            "coded_entries": [CodedEntryDoc.of(e) for e in case.coded_entries],
        }
    )


async def _noting(
    service: CaseService, case_id: str, body: NoteAddIn, catalog: CatalogSnapshot, *, alone: bool
) -> tuple[NoteResultDoc, str]:
    written = await service.add_note(case_id, body, alone=alone)
    fields = await _fields(service, written, catalog)
    return NoteResultDoc.model_validate({**fields, "note": NoteDoc.of(written.notes[0])}), _case_url(written)


async def _add_note_directly(request: Request, caller: Caller, body: NoteAddIn, case_id: str) -> DirectAnswer:
    """`add_note` without an `Idempotency-Key` or `X-Purpose`: see `app.core.direct`."""
    async with request_transaction(request) as session:
        service = _writing(session, caller, request, None)
        answer, location = await _noting(service, case_id, body, await get_catalog(request), alone=True)
    return answer, {"Location": location}


@router.post(
    "/{case_id}/notes",
    response_model=NoteResultDoc,
    status_code=status.HTTP_201_CREATED,
    responses=problem_openapi(401, 403, 404, 409, 422),
)
@direct_form(_add_note_directly)
async def add_note(
    case_id: CaseId,
    body: NoteAddIn,
    service: Writer,
    _idempotency: IdempotencyDep,
    catalog: CatalogDep,
    response: Response,
) -> NoteResultDoc:
    """A journal note (journalanteckning), redacted by the case's rule like the opening.

    On an exempted case (SoL 14 kap. 4–5 §§) personnummer, phone numbers, e-mail and street
    addresses are found by pattern, however they are written; **names are not**: give everyone the
    text may name in `known_identity`, and their names (and anything else given there) are removed
    before the note is stored. `known_identity` itself is never stored.
    """
    # Without an idempotency record to commit with it, the note is the request's only write.
    answer, response.headers["Location"] = await _noting(service, case_id, body, catalog, alone=_idempotency is None)
    return answer


@router.put("/{case_id}/plan", response_model=PlanResultDoc, responses=problem_openapi(401, 403, 404, 409, 422))
async def set_plan(case_id: CaseId, body: PlanIn, service: Writer, catalog: CatalogDep) -> PlanResultDoc:
    """The intervention plan (insatsplan, seed 004 bilaga 3) as it is from now: a new version.

    Earlier versions are kept (`GET /v1/cases/{id}/plan/versions`), and an identified case's
    journal system gets each version. The personal section (1. Personuppgifter) is kept for
    identified cases only.
    """
    written = await service.set_plan(case_id, body)
    assert written.plan is not None
    return PlanResultDoc.model_validate(
        {**(await _fields(service, written, catalog)), "plan": PlanDoc.of(written.plan)}
    )


@router.get("/{case_id}/plan/versions", response_model=PlanVersionsDoc, responses=problem_openapi(401, 403, 404, 422))
async def plan_versions(
    case_id: CaseId,
    service: Reader,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PlanVersionsDoc:
    """Every version of the plan, oldest first, with who set it (`recorded_by`) and when."""
    versions = await service.plan_versions(case_id)
    items, next_cursor = page(versions, lambda v: f"{v.version:010d}", limit, cursor)
    return PlanVersionsDoc(items=[PlanVersionDoc.of_version(v) for v in items], next_cursor=next_cursor)


@router.post(
    "/{case_id}/coded-entries",
    response_model=CodedEntryResultDoc,
    status_code=status.HTTP_201_CREATED,
    responses=problem_openapi(401, 403, 404, 409, 422),
)
async def add_coded_entry(
    case_id: CaseId,
    body: CodedEntryIn,
    service: Writer,
    _idempotency: IdempotencyDep,
    catalog: CatalogDep,
    response: Response,
) -> CodedEntryResultDoc:
    """A coded entry (seed 004): `concern_reported` — the provider's duty to report concern for a
    child (anmälningsskyldighet) was fulfilled; `referred_to_needs_assessed` — the person was
    helped towards a needs-assessed intervention.

    A code and a date, never free text, so an exempted case holds no identity through it (write
    any text as a note). An identified case's journal system gets it as a journal entry.
    """
    written = await service.add_coded_entry(case_id, body)
    assert written.coded_entry is not None
    response.headers["Location"] = _case_url(written)
    return CodedEntryResultDoc.model_validate(
        {**(await _fields(service, written, catalog)), "coded_entry": CodedEntryDoc.of(written.coded_entry)}
    )


@router.post(
    "/{case_id}/sessions",
    response_model=SessionResultDoc,
    status_code=status.HTTP_201_CREATED,
    responses=problem_openapi(401, 403, 404, 409, 422),
)
async def record_session(
    case_id: CaseId,
    body: SessionIn,
    service: Writer,
    _idempotency: IdempotencyDep,
    catalog: CatalogDep,
    response: Response,
) -> SessionResultDoc:
    """A session (samtal/träff). Past the committee's cap: 409 `session-cap-reached` — further support
    needs a needs-assessed intervention (behovsprövad insats). For an identified person the cap
    counts their sessions of the intervention in every case of the unit opened within
    `IUB_SESSION_CAP_WINDOW_MONTHS` (12), so a new case does not start it again."""
    written = await service.record_session(case_id, body)
    assert written.session is not None
    response.headers["Location"] = _case_url(written)
    return SessionResultDoc.model_validate(
        {**(await _fields(service, written, catalog)), "session": SessionDoc.of(written.session)}
    )


@router.post("/{case_id}/close", response_model=CaseDoc, responses=problem_openapi(401, 403, 404, 409, 422))
async def close_case(
    case_id: CaseId, body: CloseIn, service: Writer, _idempotency: IdempotencyDep, catalog: CatalogDep
) -> CaseDoc:
    """Close the case (avslut): reason, end assessment, the participant's view; for an early end
    (`ended_early`) the coded `early_termination_reason` (`moved`, `declined_to_continue`,
    `referred_to_needs_assessed`, `no_show`, `other`) and `early_termination_note` (required for
    `other`; scrubbed like all text of an exempted case).

    An identified case shows its person's file's disposal dates (`disposal_due_on`, five years after
    the file's last entry, SoL 16 kap. 1 §, once no case of the file is open) and `disposal_action`.
    """
    written = await service.close(case_id, body)
    return CaseDoc.model_validate(await _fields(service, written, catalog))


@units_router.get("/me/process", response_model=UnitProcessDoc, responses=problem_openapi(401, 403))
async def get_process(service: Reader, caller: ReadCaller) -> UnitProcessDoc:
    """The calling unit's process: three steps or all five (seed 004); default three."""
    return UnitProcessDoc(unit=caller.unit, process_steps=await service.process_steps())


@units_router.put("/me/process", response_model=UnitProcessDoc, responses=problem_openapi(401, 403, 422))
async def set_process(body: UnitProcessIn, service: Writer, caller: WriteCaller) -> UnitProcessDoc:
    """Choose three or five process steps for cases opened from now on (open cases keep theirs)."""
    await service.set_process_steps(body.process_steps)
    return UnitProcessDoc(unit=caller.unit, process_steps=body.process_steps)
