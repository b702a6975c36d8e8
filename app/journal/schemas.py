"""The JSON of an operator's actions on outbox events (skip, retry) and of their record."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from app.cases.redaction import KnownIdentity, scrub_text
from app.core.inbound import RequestModel
from app.journal.models import OutboxAction
from app.journal.operator import RetryReason, SkipReason

NOTE_MAX = 200

_NOTE = Field(
    None,
    min_length=1,
    max_length=NOTE_MAX,
    description="A short note for the record, e.g. a ticket reference. Never personal data: a note that "
    "holds a personnummer, a phone number, an e-mail or a street address is refused; never write a name.",
)


def _no_identity(note: str | None) -> str | None:
    if note is None:
        return None
    _, found = scrub_text(note, KnownIdentity(), path="note", rule="outbox")
    if found:
        # Name the kinds found, never the values.
        raise ValueError(f"must not hold personal data (found: {', '.join(sorted({r.kind for r in found}))})")
    return note


class SkipIn(RequestModel):
    reason: SkipReason = Field(
        description="`superseded`: a later event of the same record carries the change (e.g. a corrected "
        "plan); `entered_manually`: it was registered in the journal system by hand; `not_for_journal`: it "
        "must not reach the journal system; `other`: say why in `note`."
    )
    note: str | None = _NOTE

    _check_note = field_validator("note")(_no_identity)


class RetryIn(RequestModel):
    reencode: bool = Field(
        False,
        description="Rebuild the payload before retrying: fitted to the journal contract's limits, and a "
        "plan taken as it is now (after a correction through the API).",
    )
    reason: RetryReason | None = Field(
        None,
        description="`data_corrected`: the data was corrected through the API; `journal_system_fixed`: the "
        "cause was on the journal system's side; `other`.",
    )
    note: str | None = _NOTE

    _check_note = field_validator("note")(_no_identity)


class OutboxActionDoc(BaseModel):
    """An operator's action on the event, as recorded."""

    action: Literal["skip", "retry"]
    reason: str | None = Field(description="The reason code given.")
    note: str | None
    reencoded: bool = Field(description="A retry that rebuilt the payload.")
    payload_changed: bool = Field(description="The rebuilt payload differed from the stored one.")
    status_before: str = Field(description="The event's status when the action was taken.")
    error_before: str | None = Field(description="The event's `last_error` then: codes only.")
    by: str = Field(description="The token's `sub`.")
    by_committee: str
    by_unit: str
    at: dt.datetime

    @classmethod
    def of(cls, row: OutboxAction) -> OutboxActionDoc:
        at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=dt.UTC)
        return cls(
            action="skip" if row.action == "skip" else "retry",
            reason=row.reason,
            note=row.note,
            reencoded=row.reencoded,
            payload_changed=row.payload_changed,
            status_before=row.status_before,
            error_before=row.error_before,
            by=row.actor,
            by_committee=row.actor_committee,
            by_unit=row.actor_unit,
            at=at,
        )
