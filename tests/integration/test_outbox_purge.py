"""Delivered and skipped outbox events are purged after the retention; pending and dead ones never are."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, update

from app.core.db import Database
from app.journal.models import OutboxAction, OutboxEvent
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


async def test_skipped_events_are_purged_after_the_retention_and_the_record_of_the_skip_stays(db: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    async with db.sessions() as session, session.begin():
        old, recent = (
            enqueue(session, aggregate_type="case", aggregate_id=f"00000000-0000-4000-8000-00000000001{i}",
                    kind="case.plan_set", payload={})
            for i in range(2)
        )  # fmt: skip
    async with db.sessions() as session, session.begin():
        await session.execute(update(OutboxEvent).values(status="skipped"))
        for event_id, at in ((old, now - dt.timedelta(days=40)), (recent, now)):
            session.add(
                OutboxAction(
                    id=str(uuid.uuid4()), event_id=event_id, action="skip", reason="superseded", note=None,
                    reencoded=False, payload_changed=False, status_before="dead", error_before=None,
                    actor="operator", actor_committee="sn-sydvast", actor_unit="unit-a", at=at,
                )
            )  # fmt: skip
    async with db.sessions() as session, session.begin():
        assert await purge_delivered(session, now - dt.timedelta(days=30)) == 1
    async with db.sessions() as session:
        assert set((await session.scalars(select(OutboxEvent.id))).all()) == {recent}
        assert set((await session.scalars(select(OutboxAction.event_id))).all()) == {old, recent}
