"""Disposal request and response bodies. No identity: ids, codes, dates and counts."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator

from app.core.inbound import RequestModel
from app.disposal.models import DisposalListRow, DisposalPackageRow, DisposalRunRow, HoldRow

_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Counts = dict[str, dict[str, int]]


class HoldReason(StrEnum):
    """Why disposal must wait (MoReq2010's holds): a code, so that no free text can carry identity."""

    public_records_request = "public_records_request"  # a request for public documents under review
    court_case = "court_case"
    supervision = "supervision"  # a supervision matter (IVO, JO)
    other = "other"


class HoldIn(RequestModel):
    case_id: str | None = Field(default=None, pattern=_UUID, description="Hold the file this case belongs to.")
    person_id: str | None = Field(default=None, pattern=_UUID, description="Hold the person's file.")
    reason: HoldReason
    reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9ÅÄÖåäö][A-Za-z0-9ÅÄÖåäö ./:_-]*$",
        description="The matter's reference, e.g. a diary number (`KS 2026/123`); never a personnummer.",
    )

    @model_validator(mode="after")
    def _one_target(self) -> HoldIn:
        if (self.case_id is None) == (self.person_id is None):
            raise ValueError("give exactly one of case_id and person_id")
        if self.reference is not None and sum(c.isdigit() for c in self.reference) >= 10:
            raise ValueError("a reference of ten or more digits could be a personnummer")
        return self


class HoldDoc(BaseModel):
    id: str
    case_id: str | None
    person_id: str | None
    reason: HoldReason
    reference: str | None
    created_by: str
    created_at: dt.datetime
    released_by: str | None
    released_at: dt.datetime | None

    @classmethod
    def of(cls, row: HoldRow) -> HoldDoc:
        return cls(
            id=row.id,
            case_id=row.case_id,
            person_id=row.person_id,
            reason=HoldReason(row.reason),
            reference=row.reference,
            created_by=row.created_by,
            created_at=row.created_at,
            released_by=row.released_by,
            released_at=row.released_at,
        )


class HoldPage(BaseModel):
    items: list[HoldDoc]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null on the last page.")


class ListIn(RequestModel):
    as_of: dt.date = Field(description="The files due on this date (the date the list is executed as of).")


class ApproveIn(RequestModel):
    digest: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="The `digest` of the list version approved (as `GET` shows it)."
    )


class ListDoc(BaseModel):
    id: str
    as_of: dt.date
    status: str = Field(description="`proposed`, `approved`, `executing` or `executed`.")
    version: int = Field(description="Grows when a refresh changes the items; an approval binds one version.")
    digest: str = Field(description="SHA-256 of the items (kind, id, action, rule, due date) of this version.")
    item_count: int
    held_count: int = Field(description="Files due on `as_of` but held, left off the list.")
    counts: Counts = Field(description="Files per action (`destroy`, `archive_transfer`) and rule.")
    proposed_by: str
    proposed_at: dt.datetime
    approved_by: str | None
    approved_at: dt.datetime | None
    approved_version: int | None
    needs_approval: bool = Field(description="True until this exact version is approved.")

    @classmethod
    def of(cls, row: DisposalListRow) -> ListDoc:
        return cls(
            id=row.id,
            as_of=row.as_of,
            status=row.status,
            version=row.version,
            digest=row.digest,
            item_count=row.item_count,
            held_count=row.held_count,
            counts=row.counts,
            proposed_by=row.proposed_by,
            proposed_at=row.proposed_at,
            approved_by=row.approved_by,
            approved_at=row.approved_at,
            approved_version=row.approved_version,
            needs_approval=row.approved_digest != row.digest,
        )


class ListPage(BaseModel):
    items: list[ListDoc]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null on the last page.")


class DueDoc(BaseModel):
    before: dt.date
    total: int
    counts: Counts = Field(description="Files due before the date, per action and rule (held ones included).")
    by_due_year: dict[str, int] = Field(description="Files per year of their due date.")


class PackageDoc(BaseModel):
    name: str
    sha256: str
    size: int
    file_count: int
    batch: int

    @classmethod
    def of(cls, row: DisposalPackageRow) -> PackageDoc:
        return cls(name=row.name, sha256=row.sha256, size=row.size, file_count=row.file_count, batch=row.batch)


class RunDoc(BaseModel):
    """The disposal certificate (gallringsprotokoll): no identity of anyone whose file went."""

    id: str
    list_id: str
    as_of: dt.date
    list_version: int
    list_digest: str
    proposed_by: str
    approved_by: str
    status: str = Field(description="`running` or `finished`.")
    started_at: dt.datetime
    finished_at: dt.datetime | None
    batches: int
    counts: dict[str, Any] = Field(
        description="`done`: files removed per action and rule; `held`, `changed`: files left, per rule."
    )
    packages: list[PackageDoc]

    @classmethod
    def of(cls, row: DisposalRunRow, packages: list[DisposalPackageRow]) -> RunDoc:
        return cls(
            id=row.id,
            list_id=row.list_id,
            as_of=row.as_of,
            list_version=row.list_version,
            list_digest=row.list_digest,
            proposed_by=row.proposed_by,
            approved_by=row.approved_by,
            status=row.status,
            started_at=row.started_at,
            finished_at=row.finished_at,
            batches=row.batches,
            counts=row.counts,
            packages=[PackageDoc.of(p) for p in packages],
        )


class RunPage(BaseModel):
    items: list[RunDoc]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null on the last page.")
