"""Catalog tables: committees, their decisions, and the interventions each decision offers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, JsonDoc, Uuid
from app.core.utc import UtcDateTime


class CommitteeRow(Base):
    __tablename__ = "committees"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Disposal configuration (app.disposal.rules): SoL 16:4 research exemption, records plan.
    research_exemption: Mapped[str] = mapped_column(String(30), default="all", server_default="all")
    records_plan_retention_years: Mapped[int | None] = mapped_column(Integer, nullable=True)


class CommitteeUnitRow(Base):
    """A unit of the committee whose provider is not municipal (SoL 17 kap.); absent units are municipal."""

    __tablename__ = "committee_units"

    committee_id: Mapped[str] = mapped_column(ForeignKey("committees.id", ondelete="CASCADE"), primary_key=True)
    unit: Mapped[str] = mapped_column(String(100), primary_key=True)
    provider_kind: Mapped[str] = mapped_column(String(20))


class DecisionRow(Base):
    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("committee_id", "reference", name="uq_decisions_committee_reference"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    committee_id: Mapped[str] = mapped_column(ForeignKey("committees.id"), index=True)
    decided_on: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(100))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    withdrawn: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    risk_analysis_reference: Mapped[str | None] = mapped_column(String(300), nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now())

    interventions: Mapped[list[InterventionRow]] = relationship(
        back_populates="decision", order_by="InterventionRow.position", cascade="all, delete-orphan"
    )


class InterventionRow(Base):
    """One intervention as one decision offers it. Rows are never updated: history stays."""

    __tablename__ = "interventions"
    __table_args__ = (UniqueConstraint("decision_id", "slug", name="uq_interventions_decision_slug"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    area: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    delivery_form: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(60))
    target_group: Mapped[str] = mapped_column(Text)
    conditions: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    delivered_in_home: Mapped[bool] = mapped_column(Boolean)
    subject_rule: Mapped[str] = mapped_column(String(20))
    documentation_rule: Mapped[str] = mapped_column(String(40))
    special_reasons: Mapped[str | None] = mapped_column(Text, nullable=True)

    decision: Mapped[DecisionRow] = relationship(back_populates="interventions")
