"""HTTP for persons, the registry occurrence question (förekomst) and the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query

from app.cases.audit import AuditRepository, AuditTrail, Purpose
from app.cases.cursor import decode_cursor, encode_cursor
from app.cases.persons import PersonRegistry
from app.cases.policy import CaseStatus
from app.cases.schemas import (
    AuditPageDoc,
    AuditRecordDoc,
    OccurrenceCaseDoc,
    OccurrenceDetail,
    OccurrenceDoc,
    OccurrenceQueryIn,
    PersonDoc,
    PersonPatchIn,
)
from app.core.auth import Caller, require
from app.core.db import SessionDep
from app.core.errors import problem_openapi
from app.core.inbound import Instant

persons_router = APIRouter(prefix="/v1/persons", tags=["persons"])
registry_router = APIRouter(prefix="/v1/registry", tags=["registry"])
audit_router = APIRouter(prefix="/v1/audit", tags=["audit"])

PurposeHeader = Annotated[
    Purpose | None, Header(alias="X-Purpose", description="Why the data is accessed (recorded in the audit trail).")
]
PersonId = Annotated[str, Path(max_length=36, description="The person id (never a personnummer).")]


ReadCaller = Annotated[Caller, Depends(require("cases:read"))]
WriteCaller = Annotated[Caller, Depends(require("cases:write"))]
RegistryCaller = Annotated[Caller, Depends(require("registry:read"))]


async def _person_reader(session: SessionDep, caller: ReadCaller, purpose: PurposeHeader = None) -> PersonRegistry:
    return PersonRegistry(session, caller, AuditTrail(session, caller, purpose))


async def _person_writer(session: SessionDep, caller: WriteCaller, purpose: PurposeHeader = None) -> PersonRegistry:
    return PersonRegistry(session, caller, AuditTrail(session, caller, purpose))


async def _registry_reader(
    session: SessionDep, caller: RegistryCaller, purpose: PurposeHeader = None
) -> PersonRegistry:
    return PersonRegistry(session, caller, AuditTrail(session, caller, purpose))


PersonReader = Annotated[PersonRegistry, Depends(_person_reader)]
PersonWriter = Annotated[PersonRegistry, Depends(_person_writer)]
RegistryReader = Annotated[PersonRegistry, Depends(_registry_reader)]


@persons_router.get("/{person_id}", response_model=PersonDoc, responses=problem_openapi(401, 403, 404, 422))
async def get_person(person_id: PersonId, registry: PersonReader) -> PersonDoc:
    """A person of the caller's committee while the calling unit has a case with them, as case
    subject or guardian (audited); otherwise 404, as for a person that does not exist.

    `address`, `phone` and `email` are what the calling unit recorded; `other_units_contacts`
    what other units with a case recorded — never a protected person's (whose phone and e-mail
    only the recording unit sees, and whose address is not stored at all).
    """
    return PersonDoc.of(await registry.get(person_id))


@persons_router.patch("/{person_id}", response_model=PersonDoc, responses=problem_openapi(401, 403, 404, 422))
async def patch_person(person_id: PersonId, body: PersonPatchIn, registry: PersonWriter) -> PersonDoc:
    """Change the person while the calling unit has a case with them.

    `name` and `protected_identity` are the committee's register data: they apply to every case
    (as in the journal system). A new name is a new version (who, when; see `names`).
    `protected_identity` can be raised by any unit with a case, which deletes every stored
    address; clearing it needs the scope `persons:protect` (403 without) and is audited.
    `address`, `phone` and `email` change the calling unit's own contact record; an address
    sent for a protected person is not stored (`redactions` says so).
    """
    person, redactions = await registry.patch(person_id, body)
    return PersonDoc.of(person, redactions)


@registry_router.post("/occurrences", response_model=OccurrenceDoc, responses=problem_openapi(401, 403, 422))
async def registry_occurrence(body: OccurrenceQueryIn, registry: RegistryReader) -> OccurrenceDoc:
    """Förekomst: whether the person has or had identified IUB cases in any unit of the committee.

    Answers at the granularity the asker states (`detail`): `exists` (found or not), `ongoing`
    (also whether a case runs now) — neither names an intervention or a unit — or `cases`
    (intervention, unit, dates and status; never notes). The stated legal `basis` is recorded in
    the audit trail. Exempted cases (SoL 14 kap. 4–5 §§) hold no identity and can never be found.
    The personnummer travels in the body, never the URL.
    """
    person, cases = await registry.occurrences(body.personnummer, body.basis.value)
    found = bool(cases)
    ongoing = any(c.status != CaseStatus.closed for c in cases)
    if body.detail is OccurrenceDetail.exists:
        return OccurrenceDoc(detail=body.detail, found=found, ongoing=None, cases=None)
    if body.detail is OccurrenceDetail.ongoing:
        return OccurrenceDoc(detail=body.detail, found=found, ongoing=ongoing, cases=None)
    items = [
        OccurrenceCaseDoc(
            case_id=c.id,
            intervention_id=c.intervention_id,
            intervention_name=c.intervention_name,
            unit=c.unit,
            role="registered" if person is not None and c.person_id == person.id else "guardian",
            opened_on=c.opened_on,
            closed_on=c.closed_on,
            status=CaseStatus(c.status),
        )
        for c in cases
    ]
    return OccurrenceDoc(detail=body.detail, found=found, ongoing=ongoing, cases=items)


@audit_router.get("", response_model=AuditPageDoc, responses=problem_openapi(401, 403, 422))
async def list_audit(
    session: SessionDep,
    caller: Annotated[Caller, Depends(require("audit:read"))],
    case_id: Annotated[str | None, Query(max_length=36)] = None,
    person_id: Annotated[str | None, Query(max_length=36)] = None,
    since: Annotated[Instant | None, Query(description="Only records at or after this moment.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> AuditPageDoc:
    """The audit trail of the caller's unit, newest first. With the scope `audit:committee` as well, the
    trail of every unit of the caller's committee."""
    rows = await AuditRepository(session).page(
        caller, case_id=case_id, person_id=person_id, since=since, after=decode_cursor(cursor), limit=limit + 1
    )
    more, rows = len(rows) > limit, rows[:limit]
    return AuditPageDoc(
        items=[
            AuditRecordDoc(
                id=r.id,
                at=r.at,
                actor=r.actor,
                committee=r.committee,
                unit=r.unit,
                action=r.action,
                case_id=r.case_id,
                person_id=r.person_id,
                case_ids=r.case_ids or [],
                person_ids=r.person_ids or [],
                why_code=r.why_code,
                basis=r.basis,
            )
            for r in rows
        ],
        next_cursor=encode_cursor(rows[-1].at, rows[-1].id) if more and rows else None,
    )
