"""The transactional outbox: journal-system events written in the same transaction as the change.

Only identified records (the standard documentation rule, SoL 14:3) ever get an event: an
exempted case has no identity to send and never leaves the service. The table has no
column for identity; the payload of an identified record's event carries what the journal
system may see, and nothing else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JsonDoc, Uuid
from app.core.utc import UtcDateTime

# The dispatcher's claim scans undelivered events in `seq` order; this partial index holds
# only those, so a claim never walks the (ever growing) delivered history.
OPEN_EVENTS = text("status IN ('pending', 'in_flight')")
# Partial on PostgreSQL only: SQLite takes a partial index only where a query states its predicate
# with the same constants (these queries bind statuses as parameters), so there they are full.
# Events held back (an operator's to resolve, or resolved by a skip): the operator's lists by
# status, the gauges. Delivered events are indexed only by delivery time, for the purge.
HELD_EVENTS = text("status IN ('dead', 'skipped')")
UNFINISHED_EVENTS = text("status NOT IN ('delivered', 'skipped')")
DELIVERED_EVENTS = text("status = 'delivered'")
# The complement of UNFINISHED_EVENTS: disposal removes every event of a disposed file's cases,
# finished ones by this index, the others by the unfinished one.
FINISHED_EVENTS = text("status IN ('delivered', 'skipped')")
# Statuses an event leaves the queue with (`skipped`: an operator decided it is not sent);
# neither holds up the events of its aggregate after it.
FINISHED = ("delivered", "skipped")


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index(
            "ix_outbox_events_held_status_seq",
            "status",
            "seq",
            postgresql_where=HELD_EVENTS,
        ),
        Index(
            "ix_outbox_events_delivered_at",
            "delivered_at",
            postgresql_where=DELIVERED_EVENTS,
        ),
        # Every query by aggregate asks for its unfinished events only.
        Index(
            "ix_outbox_events_unfinished_aggregate_id_seq",
            "aggregate_id",
            "seq",
            postgresql_where=UNFINISHED_EVENTS,
        ),
        Index("ix_outbox_events_open_seq", "seq", postgresql_where=OPEN_EVENTS, sqlite_where=OPEN_EVENTS),
        # Disposal only (migration 0015): the finished events of the cases it removes.
        Index("ix_outbox_events_finished_aggregate_id", "aggregate_id", postgresql_where=FINISHED_EVENTS),
    )

    # Global insertion order; per-aggregate delivery order follows it.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Also the Idempotency-Key sent to the journal system.
    id: Mapped[str] = mapped_column(Uuid, unique=True)
    aggregate_type: Mapped[str] = mapped_column(String(20))  # "case" | "person"
    aggregate_id: Mapped[str] = mapped_column(Uuid)
    # The committee whose record the event carries (`outbox:admin` is scoped by it). NULL only for
    # events whose committee could not be told: those are seen only with `outbox:admin:all`.
    committee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|in_flight|delivered|dead|skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    lease_token: Mapped[str | None] = mapped_column(Uuid, nullable=True)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)  # codes and statuses, never data
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class JournalLink(Base):
    """Our record's counterpart in the journal system: its reference and the delivery state.

    One row per identified case or person (`aggregate_type`, `aggregate_id`), written with the
    first outbox event and updated by the dispatcher: `sync_state` pending → delivered, or
    failed when an event was dead-lettered.
    """

    __tablename__ = "journal_links"

    aggregate_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    aggregate_id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sync_state: Mapped[str] = mapped_column(String(20), default="pending")
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now(), onupdate=func.now())


class OutboxAction(Base):
    """An operator's action on an outbox event (`skip` or `retry`): who, when, why — never data.

    Kept after the event itself is purged: the record of how a dead letter was resolved. The
    reason is a code, the note short text checked to hold no personal data; `actor` is the
    token's `sub`, as in the audit records.
    """

    __tablename__ = "outbox_actions"
    __table_args__ = (Index("ix_outbox_actions_event_id_at", "event_id", "at"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    event_id: Mapped[str] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(20))  # skip | retry
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reencoded: Mapped[bool] = mapped_column(Boolean, default=False)  # a retry that rebuilt the payload
    payload_changed: Mapped[bool] = mapped_column(Boolean, default=False)
    status_before: Mapped[str] = mapped_column(String(20))
    error_before: Mapped[str | None] = mapped_column(Text, nullable=True)  # the event's last_error: codes only
    actor: Mapped[str] = mapped_column(String(200))
    actor_committee: Mapped[str] = mapped_column(String(64))
    actor_unit: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
