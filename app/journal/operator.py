"""An operator's way out of a dead letter: skip the event, or retry it (re-encoded), recorded.

A dead event holds up its case's (or person's) later events, because sending them without it
would misrepresent the record. Two actions end that, each recorded in `outbox_actions` (who,
when, the reason code and a note without personal data, what the event was before):

- **skip**: the event is marked `skipped` and never sent; the record's later events flow. For
  a change the journal system does not need (`superseded` by a later event of the same record,
  `entered_manually` there) or must not get (`not_for_journal`). Skipping a case's
  registration skips the case's other undelivered events too: without the registration the
  journal system has no case to put them in.
- **retry**: the event is due again with its attempts reset. With `reencode`, its payload is
  first rebuilt: fitted to the journal contract's limits (an event written before the API's
  limits were the contract's), and for a plan taken from the rows as it is now (after the
  operator corrected it through the API). A person corrected through the API is sent by the
  correction's own event: skip the dead one as superseded.

A dead, a pending, or an in-flight event whose lease expired (its worker died) can be acted
on; an event being delivered or already finished cannot (409). Never commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Caller
from app.core.db import new_id
from app.journal import events
from app.journal.events import EventKind
from app.journal.models import UNFINISHED_EVENTS, JournalLink, OutboxAction, OutboxEvent
from app.kit.clock import now as utcnow

# Rebuilds an event's payload from the current rows: (session, kind, payload) -> payload or None.
Rebuild = Callable[[AsyncSession, str, dict[str, Any]], Awaitable[dict[str, Any] | None]]


class SkipReason(StrEnum):
    superseded = "superseded"  # a later event of the same record carries the change
    entered_manually = "entered_manually"  # registered in the journal system by hand
    not_for_journal = "not_for_journal"  # must not reach the journal system (e.g. recorded in error)
    other = "other"


class RetryReason(StrEnum):
    data_corrected = "data_corrected"  # corrected through the API (retry with reencode)
    journal_system_fixed = "journal_system_fixed"  # the cause was on the journal system's side
    other = "other"


def actionable(event: OutboxEvent, at: dt.datetime) -> bool:
    """Dead, pending, or in flight under a lease that expired (its worker died)."""
    if event.status in ("dead", "pending"):
        return True
    expires = event.lease_expires_at
    if event.status != "in_flight" or expires is None:
        return False
    return (expires if expires.tzinfo is not None else expires.replace(tzinfo=dt.UTC)) <= at


class PayloadNotReadable(Exception):
    """The stored payload cannot be decoded, so it cannot be re-encoded."""


class OutboxOperator:
    def __init__(
        self,
        session: AsyncSession,
        caller: Caller,
        *,
        rebuild: Rebuild | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.session = session
        self.caller = caller
        self.rebuild = rebuild
        self.clock = clock

    async def skip(self, event: OutboxEvent, reason: SkipReason, note: str | None) -> list[OutboxEvent]:
        """Mark the event skipped (and, for a registration, the case's undelivered rest); the
        events skipped, in order. The caller holds `event` locked and checked `actionable`."""
        at = self.clock()
        skipped = [event]
        if event.kind == EventKind.case_registered:
            skipped += (
                await self.session.scalars(
                    select(OutboxEvent)
                    .where(
                        OutboxEvent.aggregate_type == event.aggregate_type,
                        OutboxEvent.aggregate_id == event.aggregate_id,
                        OutboxEvent.seq > event.seq,
                        UNFINISHED_EVENTS,  # a literal, so a generic plan can use the partial index
                    )
                    .order_by(OutboxEvent.seq)
                    .with_for_update()
                )
            ).all()
        for row in skipped:
            self._record(row, "skip", reason, note, at)
            row.status = "skipped"
            row.lease_token = None
            row.lease_expires_at = None
        await self.session.flush()
        await self._resync_link(event)
        return skipped

    async def retry(self, event: OutboxEvent, reason: RetryReason | None, note: str | None, *, reencode: bool) -> None:
        """Make the event due now, attempts reset; with `reencode`, rebuild its payload first."""
        at = self.clock()
        action = self._record(event, "retry", reason, note, at)
        if reencode:
            payload = await self._reencoded(event)
            action.reencoded = True
            action.payload_changed = payload != event.payload
            if action.payload_changed:
                event.payload = payload
        event.status = "pending"
        event.attempts = 0
        event.next_attempt_at = at
        event.lease_token = None
        event.lease_expires_at = None
        await self.session.flush()
        await self._resync_link(event)

    async def _reencoded(self, event: OutboxEvent) -> dict[str, Any]:
        try:
            payload = events.refit(event.payload)
        except (KeyError, TypeError, ValueError) as exc:
            raise PayloadNotReadable(type(exc).__name__) from None
        if self.rebuild is not None:
            current = await self.rebuild(self.session, event.kind, payload)
            if current is not None:
                payload = current
        return payload

    def _record(
        self, event: OutboxEvent, action: str, reason: StrEnum | None, note: str | None, at: dt.datetime
    ) -> OutboxAction:
        row = OutboxAction(
            id=new_id(),
            event_id=event.id,
            action=action,
            reason=None if reason is None else str(reason),
            note=note,
            reencoded=False,
            payload_changed=False,
            status_before=event.status,
            error_before=event.last_error,
            actor=self.caller.sub,
            actor_committee=self.caller.committee,
            actor_unit=self.caller.unit,
            at=at,
        )
        self.session.add(row)
        return row

    async def _resync_link(self, event: OutboxEvent) -> None:
        """The record's delivery state after the action: failed while an event is dead, pending
        while one waits, else delivered (everything that is to go has gone)."""
        statuses = set(
            (
                await self.session.scalars(
                    select(OutboxEvent.status)
                    .where(
                        OutboxEvent.aggregate_type == event.aggregate_type,
                        OutboxEvent.aggregate_id == event.aggregate_id,
                        UNFINISHED_EVENTS,  # a literal, so a generic plan can use the partial index
                    )
                    .distinct()
                )
            ).all()
        )
        state = "failed" if "dead" in statuses else ("pending" if statuses else "delivered")
        await self.session.execute(
            update(JournalLink)
            .where(JournalLink.aggregate_type == event.aggregate_type, JournalLink.aggregate_id == event.aggregate_id)
            .values(sync_state=state, updated_at=self.clock())
        )


async def actions_of(session: AsyncSession, event_ids: Sequence[str]) -> dict[str, list[OutboxAction]]:
    """The recorded actions of these events, oldest first, in one query."""
    if not event_ids:
        return {}
    rows = await session.scalars(
        select(OutboxAction).where(OutboxAction.event_id.in_(list(event_ids))).order_by(OutboxAction.at)
    )
    out: dict[str, list[OutboxAction]] = {}
    for row in rows:
        out.setdefault(row.event_id, []).append(row)
    return out
