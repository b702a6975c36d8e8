"""The journal system's view of our records: delivery state and references, for the services.

`journal_status` answers for many records in one query. The state is derived from the outbox
itself, so it is right the moment a change is committed (no wait for the dispatcher):

- `failed`: an event of the record is dead-lettered (its later events wait for an admin);
- `pending`: an event of the record is waiting or being delivered;
- `delivered`: everything written so far has arrived (the `JournalLink` row says so).

The reference is the journal system's (case ref or person ref), None until the registration
has been delivered. Ids with neither events nor a link (e.g. an exempted case, which never
leaves the service) are absent from the answer.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal, TypeAlias

from sqlalchemy import Select, String, bindparam, case, exists, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.journal.models import JournalLink, OutboxEvent

SyncState: TypeAlias = Literal["pending", "delivered", "failed"]


async def journal_status(
    session: AsyncSession, aggregate_type: str, ids: Collection[str]
) -> dict[str, tuple[SyncState, str | None]]:
    """`{id: (sync_state, external_ref)}` for the given cases or persons (`aggregate_type`
    "case" or "person"), in one query."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    events = OutboxEvent.__table__
    links = JournalLink.__table__
    dead = func.sum(case((events.c.status == "dead", 1), else_=0))
    from_events = (
        select(
            events.c.aggregate_id.label("aggregate_id"),
            literal("events", String()).label("source"),
            dead.label("dead"),
            null().label("sync_state"),
            null().label("external_ref"),
        )
        .where(
            events.c.aggregate_type == aggregate_type,
            events.c.aggregate_id.in_(wanted),
            events.c.status.in_(("pending", "in_flight", "dead")),
        )
        .group_by(events.c.aggregate_id)
    )
    from_links = select(
        links.c.aggregate_id.label("aggregate_id"),
        literal("link", String()).label("source"),
        literal(0).label("dead"),
        links.c.sync_state,
        links.c.external_ref,
    ).where(links.c.aggregate_type == aggregate_type, links.c.aggregate_id.in_(wanted))
    rows = (await session.execute(union_all(from_events, from_links))).all()
    open_events: dict[str, bool] = {}  # id -> has a dead event
    link_rows: dict[str, tuple[str, str | None]] = {}
    for row in rows:
        if row.source == "events":
            open_events[row.aggregate_id] = bool(row.dead)
        else:
            link_rows[row.aggregate_id] = (row.sync_state, row.external_ref)
    out: dict[str, tuple[SyncState, str | None]] = {}
    for record_id in wanted:
        link_state, ref = link_rows.get(record_id, (None, None))
        if record_id in open_events:
            out[record_id] = ("failed" if open_events[record_id] else "pending", ref)
        elif link_state is not None:
            out[record_id] = ("failed" if link_state == "failed" else "delivered", ref)
    return out


def _state_after_an_event() -> Select[tuple[str | None, bool]]:
    events = OutboxEvent.__table__
    links = JournalLink.__table__
    aggregate_type = bindparam("journal_aggregate_type", type_=String())
    aggregate_id = bindparam("journal_aggregate_id", type_=String())
    ref = (
        select(links.c.external_ref)
        .where(links.c.aggregate_type == aggregate_type, links.c.aggregate_id == aggregate_id)
        .scalar_subquery()
    )
    dead = exists().where(
        events.c.aggregate_type == aggregate_type,
        events.c.aggregate_id == aggregate_id,
        events.c.status == "dead",
    )
    return select(ref.label("external_ref"), dead.label("dead"))


# A record's delivery state once the request adds an event to it: `failed` while an earlier
# event is dead, else `pending`; with the journal system's reference. Built once; run in the
# statement that writes the event (it sees the outbox as it was), it costs no round trip.
STATE_AFTER_AN_EVENT = _state_after_an_event()


def state_params(aggregate_type: str, aggregate_id: str) -> dict[str, str]:
    """The values of `STATE_AFTER_AN_EVENT`."""
    return {"journal_aggregate_type": aggregate_type, "journal_aggregate_id": aggregate_id}


def state_of(row: Any) -> tuple[SyncState, str | None]:
    """The answer of `STATE_AFTER_AN_EVENT`."""
    return ("failed" if row.dead else "pending", row.external_ref)
