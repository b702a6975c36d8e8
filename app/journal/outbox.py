"""Writing outbox events: called by services inside their transaction, never after commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import new_id
from app.journal.models import OutboxAction, OutboxEvent


def enqueue(
    session: AsyncSession,
    *,
    aggregate_type: str,
    aggregate_id: str,
    kind: str,
    payload: dict[str, Any],
    committee: str | None = None,
) -> str:
    """Add an event to the caller's transaction; returns its id (the Idempotency-Key). `committee`
    is whose record it carries (what `outbox:admin` is scoped by)."""
    event_id = new_id()
    session.add(
        OutboxEvent(
            id=event_id,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            kind=kind,
            payload=payload,
            committee=committee,
            status="pending",
            attempts=0,
        )
    )
    return event_id


async def purge_delivered(session: AsyncSession, before: dt.datetime) -> int:
    """Delete events delivered before `before` (their effect lives in the journal system and in
    `JournalLink`), and events an operator skipped before `before` (their payload will never be
    sent; the record of the skip stays in `outbox_actions`); pending and dead events are never
    purged. The caller commits."""
    # Two statements, each on its own partial index (`ix_outbox_events_delivered_at`, and the
    # undelivered events by status): an OR of the two would scan the whole table.
    delivered = await session.execute(
        delete(OutboxEvent)
        .where(OutboxEvent.status == "delivered", OutboxEvent.delivered_at < before)
        .execution_options(synchronize_session=False)
    )
    skipped_before = select(OutboxAction.event_id).where(OutboxAction.action == "skip", OutboxAction.at < before)
    skipped = await session.execute(
        delete(OutboxEvent)
        .where(OutboxEvent.status == "skipped", OutboxEvent.id.in_(skipped_before))
        .execution_options(synchronize_session=False)
    )
    return sum(max(int(getattr(result, "rowcount", 0) or 0), 0) for result in (delivered, skipped))
