"""Removing a disposed file's journal-system traces: its outbox events (delivered, pending or
dead-lettered: their payloads carry identity) and its journal links. Bulk, by aggregate id."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.journal.models import FINISHED_EVENTS, UNFINISHED_EVENTS, JournalLink, OutboxEvent
from app.kit.bulk import in_ids


async def erase_aggregates(session: AsyncSession, case_ids: Collection[str], person_ids: Collection[str]) -> int:
    removed = 0
    for model in (OutboxEvent, JournalLink):
        conditions = []
        if case_ids:
            conditions.append(and_(model.aggregate_type == "case", in_ids(session, model.aggregate_id, case_ids)))
        if person_ids:
            conditions.append(and_(model.aggregate_type == "person", in_ids(session, model.aggregate_id, person_ids)))
        if not conditions:
            return 0
        where = or_(*conditions)
        if model is OutboxEvent and session.get_bind().dialect.name == "postgresql":
            # The outbox's indexes by aggregate are partial (unfinished / finished events): each
            # half of the condition states one's predicate, so both are used (never a table scan).
            where = or_(and_(UNFINISHED_EVENTS, where), and_(FINISHED_EVENTS, where))
        result = await session.execute(delete(model).where(where).execution_options(synchronize_session=False))
        removed += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return removed


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
