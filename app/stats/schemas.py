"""JSON of group meetings and statistics tables."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from app.cases.follow_up import AGE_BANDS
from app.cases.redaction import Redaction
from app.cases.schemas import RedactionDoc
from app.core.inbound import RequestModel
from app.stats.models import GroupMeetingRow

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
MAX_PER_CATEGORY = 1000

BANDS = [band for band in AGE_BANDS if band != "unknown"]


class _In(RequestModel):
    pass


class ParticipantCountsIn(_In):
    """How many took part, by gender. `unknown`: not stated or declined to say."""

    female: int = Field(0, ge=0, le=MAX_PER_CATEGORY)
    male: int = Field(0, ge=0, le=MAX_PER_CATEGORY)
    other: int = Field(0, ge=0, le=MAX_PER_CATEGORY)
    unknown: int = Field(0, ge=0, le=MAX_PER_CATEGORY)

    @model_validator(mode="after")
    def _someone(self) -> ParticipantCountsIn:
        if self.total < 1:
            raise ValueError("at least one participant")
        return self

    @property
    def total(self) -> int:
        return self.female + self.male + self.other + self.unknown


class MeetingIn(_In):
    intervention_id: str = Field(pattern=SLUG, max_length=100)
    held_on: dt.date
    participants: ParticipantCountsIn = Field(description='Counts by gender, e.g. `{"female": 6, "male": 4}`.')
    age_bands: dict[str, Annotated[int, Field(ge=0, le=MAX_PER_CATEGORY)]] | None = Field(
        None,
        max_length=len(BANDS),
        json_schema_extra={"propertyNames": {"enum": list(BANDS)}},
        description='Optional counts by age band (e.g. `{"30-49": 5}`); they may count fewer than took part '
        "(the rest: age not known), never more.",
    )
    note: str | None = Field(
        None,
        max_length=2_000,
        description="A short de-identified note; scrubbed of anything identifying before it is stored.",
    )

    @model_validator(mode="after")
    def _bands_within_participants(self) -> MeetingIn:
        if any(band not in BANDS for band in self.age_bands or {}):
            raise ValueError("age bands are " + ", ".join(BANDS))
        counts = list((self.age_bands or {}).values())
        if any(n < 0 or n > MAX_PER_CATEGORY for n in counts):
            raise ValueError(f"age band counts are from 0 to {MAX_PER_CATEGORY}")
        if sum(counts) > self.participants.total:
            raise ValueError("the age bands count more people than took part")
        return self


class MeetingDoc(BaseModel):
    id: str
    group_id: str
    intervention_id: str
    held_on: dt.date
    participants: dict[str, int]
    age_bands: dict[str, int]
    participant_count: int
    note: str | None
    redactions: list[RedactionDoc] = Field(description="What was removed from the note; never the values.")

    @classmethod
    def of(cls, row: GroupMeetingRow, redactions: list[Redaction] | None = None) -> MeetingDoc:
        return cls(
            id=row.id,
            group_id=row.group_id,
            intervention_id=row.intervention_id,
            held_on=row.held_on,
            participants=dict(row.participants),
            age_bands=dict(row.age_bands),
            participant_count=sum(row.participants.values()),
            note=row.note,
            redactions=[RedactionDoc.of(r) for r in redactions or []],
        )


class MeetingListDoc(BaseModel):
    items: list[MeetingDoc]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last page.")


# --- statistics ----------------------------------------------------------------------------


class ColumnDoc(BaseModel):
    key: str
    label: str
    label_sv: str
    part_of: str | None = Field(description="The column whose total this column is a part of.")


class TableInfoDoc(BaseModel):
    name: str
    title: str
    title_sv: str
    description: str
    counts: str = Field(description="What a cell counts: `participants` or `attendances`.")
    columns: list[ColumnDoc]


class TableListDoc(BaseModel):
    tables: list[TableInfoDoc]
    periods: str = Field(description="Calendar quarters (`2026Q1`) and years (`2026`), once ended.")
    method: Literal["cell_key", "suppression"]
    threshold: int


class RowDoc(BaseModel):
    level: Literal["committee", "unit", "intervention"]
    key: str
    label: str
    values: dict[str, int | float | None] = Field(description="By column key; null: not published.")


class TableDoc(TableInfoDoc):
    committee: str
    period: str
    as_of: dt.datetime = Field(description="When the counts were taken from the records.")
    method: Literal["cell_key", "suppression"]
    threshold: int
    rows: list[RowDoc]
