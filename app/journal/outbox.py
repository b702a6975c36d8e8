"""Writing outbox events: called by services inside their transaction, never after commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import new_id
from app.journal.models import OutboxEvent


def enqueue(
    session: AsyncSession,
    *,
    aggregate_type: str,
    aggregate_id: str,
    kind: str,
    payload: dict[str, Any],
) -> str:
    """Add an event to the caller's transaction; returns its id (the Idempotency-Key)."""
    event_id = new_id()
    session.add(
        OutboxEvent(
            id=event_id,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            kind=kind,
            payload=payload,
            status="pending",
            attempts=0,
        )
    )
    return event_id
