"""Removing a disposed file's journal-system traces: its outbox events (delivered, pending or
dead-lettered: their payloads carry identity) and its journal links. Bulk, by aggregate id."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Delete, and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.journal.models import FINISHED_EVENTS, UNFINISHED_EVENTS, JournalLink, OutboxEvent
from app.kit.bulk import in_ids


async def erase_aggregates(session: AsyncSession, case_ids: Collection[str], person_ids: Collection[str]) -> int:
    """One statement per aggregate type (and, for the outbox on PostgreSQL, per partial index by
    aggregate), each of the shape its index answers. An OR of them is not: PostgreSQL folds
    `(unfinished AND x) OR (finished AND x)` into `x`, which neither partial index covers, and
    scanned the whole outbox for every batch (a quadratic disposal)."""
    removed = 0
    postgresql = session.get_bind().dialect.name == "postgresql"
    for aggregate_type, ids in (("case", case_ids), ("person", person_ids)):
        if not ids:
            continue
        halves = (UNFINISHED_EVENTS, FINISHED_EVENTS) if postgresql else (None,)
        for half in halves:
            where = and_(OutboxEvent.aggregate_type == aggregate_type, in_ids(session, OutboxEvent.aggregate_id, ids))
            if half is not None:
                where = and_(half, where)
            removed += await _delete(session, delete(OutboxEvent).where(where))
        removed += await _delete(
            session,
            delete(JournalLink).where(
                JournalLink.aggregate_type == aggregate_type, in_ids(session, JournalLink.aggregate_id, ids)
            ),
        )
    return removed


async def _delete(session: AsyncSession, statement: Delete) -> int:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def case_refs(session: AsyncSession, case_ids: Collection[str]) -> dict[str, str]:
    """The journal system's refs of those cases that reached it (our case id -> its case ref)."""
    if not case_ids:
        return {}
    rows = await session.execute(
        select(JournalLink.aggregate_id, JournalLink.external_ref).where(
            JournalLink.aggregate_type == "case",
            in_ids(session, JournalLink.aggregate_id, case_ids),
            JournalLink.external_ref.is_not(None),
        )
    )
    return {case_id: ref for case_id, ref in rows.all() if ref}
