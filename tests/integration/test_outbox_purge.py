"""Delivered outbox events are purged after the retention; pending and dead ones never are."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from app.core.db import Database
from app.journal.models import OutboxEvent
from app.journal.outbox import enqueue, purge_delivered


async def test_only_long_delivered_events_are_purged(db: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    async with db.sessions() as session, session.begin():
        ids = [
            enqueue(session, aggregate_type="case", aggregate_id=f"00000000-0000-4000-8000-00000000000{i}",
                    kind="case.note_added", payload={})
            for i in range(4)
        ]  # fmt: skip
    async with db.sessions() as session, session.begin():
        old, recent, dead, _pending = ids
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == old)
            .values(status="delivered", delivered_at=now - dt.timedelta(days=40))
        )
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.id == recent).values(status="delivered", delivered_at=now)
        )
        await session.execute(update(OutboxEvent).where(OutboxEvent.id == dead).values(status="dead"))
    async with db.sessions() as session, session.begin():
        assert await purge_delivered(session, now - dt.timedelta(days=30)) == 1
    async with db.sessions() as session:
        left = set((await session.scalars(select(OutboxEvent.id))).all())
    assert left == set(ids) - {ids[0]}
