"""Group meetings and the published statistics (a snapshot per committee, refreshed in the background)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JsonDoc, Uuid
from app.core.utc import UtcDateTime
from app.kit.clock import now


class GroupMeetingRow(Base):
    """One meeting of a group (stöd i grupp), recorded as counts: no person, no case."""

    __tablename__ = "group_meetings"
    __table_args__ = (
        Index("ix_group_meetings_committee_unit_group_id_held_on", "committee", "unit", "group_id", "held_on"),
        Index("ix_group_meetings_committee_held_on", "committee", "held_on"),
    )

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    committee: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(100))
    group_id: Mapped[str] = mapped_column(String(100))  # the unit's own opaque slug
    intervention_id: Mapped[str] = mapped_column(String(100))
    documentation_rule: Mapped[str] = mapped_column(String(40))
    held_on: Mapped[dt.date] = mapped_column(Date)
    participants: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # {gender: count}
    age_bands: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # {age band: count}, may count fewer
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Random 0-255, for the cell key method: each attendance at this meeting carries it.
    record_key: Mapped[int] = mapped_column(Integer, default=lambda: secrets.randbelow(256))
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now)


class StatsSnapshotRow(Base):
    """When a committee's statistics were last computed, how, and over which quarters."""

    __tablename__ = "stats_snapshots"

    committee: Mapped[str] = mapped_column(String(64), primary_key=True)
    taken_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    method: Mapped[str] = mapped_column(String(20))
    threshold: Mapped[int] = mapped_column(Integer)
    first_quarter: Mapped[int] = mapped_column(Integer)  # year * 4 + (quarter - 1)
    last_quarter: Mapped[int] = mapped_column(Integer)
    rows: Mapped[list[str]] = mapped_column(JsonDoc)


class StatsCellRow(Base):
    """A published count, after disclosure control; NULL: not published. A missing cell is 0.

    Only published values are stored: what the API answers, never the counts behind them.
    """

    __tablename__ = "stats_cells"

    committee: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(6), primary_key=True)
    row: Mapped[str] = mapped_column(String(120), primary_key=True)
    var: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int | None] = mapped_column(Integer, nullable=True)
