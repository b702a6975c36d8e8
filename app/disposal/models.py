"""Disposal tables: legal holds, disposal lists (proposed, approved), runs and their packages.

Nothing here holds an identity value. A list item names the person's or the record's id while it
waits; once the file is gone, the item keeps only its rule and action (the ids are cleared), and
the run with its packages is the disposal certificate (gallringsprotokoll).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JsonDoc, Uuid
from app.core.utc import UtcDateTime
from app.kit.clock import now


class HoldRow(Base):
    """A legal hold on a person's file or on one case (a request for public documents under review,
    a court case, a supervision matter). A held file is never disposed of.

    The foreign keys are the guard at execution too: a hold set while a batch removes the file
    makes one of the two transactions fail, never both succeed. A released hold stays (who and
    when) until its file goes.
    """

    __tablename__ = "disposal_holds"
    __table_args__ = (
        CheckConstraint("(person_id IS NULL) <> (case_id IS NULL)", name="one_target"),
        Index("ix_disposal_holds_committee_created_at_id", "committee", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    committee: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(100))  # the case's unit; for a person hold the setter's
    # RESTRICT: a hold set while a batch removes the file fails one of the two (migration 0014).
    person_id: Mapped[str | None] = mapped_column(
        ForeignKey("persons.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), nullable=True, index=True)
    reason: Mapped[str] = mapped_column(String(40))  # a code
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True)  # e.g. a diary number
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now)
    released_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    released_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class DisposalListRow(Base):
    """A disposal list (gallringslista): the files due on `as_of`, proposed by one person and
    approved by another, bound to one version (`digest`) of its items."""

    __tablename__ = "disposal_lists"
    __table_args__ = (Index("ix_disposal_lists_committee_proposed_at_id", "committee", "proposed_at", "id"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    committee: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # proposed | approved | executing | executed
    version: Mapped[int] = mapped_column(Integer, default=1)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the items
    item_count: Mapped[int] = mapped_column(Integer)
    held_count: Mapped[int] = mapped_column(Integer, default=0)  # due but held when proposed
    counts: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # {action: {rule: files}}
    proposed_by: Mapped[str] = mapped_column(String(200))
    proposed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    approved_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approved_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)


class DisposalListItemRow(Base):
    """One file on a list: a person's file (`kind` = `person_file`) or one exempted record
    (`exempted_record`, a case without identity). Ids only; cleared once the item is done."""

    __tablename__ = "disposal_list_items"
    __table_args__ = (Index("ix_disposal_list_items_list_id_status_id", "list_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list_id: Mapped[str] = mapped_column(ForeignKey("disposal_lists.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # person_file | exempted_record
    person_id: Mapped[str | None] = mapped_column(Uuid, nullable=True)
    case_id: Mapped[str | None] = mapped_column(Uuid, nullable=True)
    action: Mapped[str] = mapped_column(String(20))  # destroy | archive_transfer
    rule: Mapped[str] = mapped_column(String(40))
    due_on: Mapped[dt.date] = mapped_column(Date)
    # pending → done (removed), held (a hold at execution) or changed (no longer due as listed)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    batch: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DisposalRunOrderRow(Base):
    """A pending item's place in its run's execution: the order of its file's rows on disk, so a
    batch's files share pages (migration 0022). Written when the run starts; each batch deletes
    its items' rows. No foreign keys: checked per row, they would cost a million lookups when a
    run starts, and the rows hold only item ids while the run runs."""

    __tablename__ = "disposal_run_order"

    list_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    item_id: Mapped[int] = mapped_column(Integer)


class DisposalRunRow(Base):
    """The execution of one approved list, and its disposal certificate (gallringsprotokoll):
    who proposed and approved, when, the files per action and rule, the packages. No identity."""

    __tablename__ = "disposal_runs"
    __table_args__ = (
        UniqueConstraint("list_id", name="uq_disposal_runs_list_id"),
        Index("ix_disposal_runs_committee_started_at_id", "committee", "started_at", "id"),
    )

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    list_id: Mapped[str] = mapped_column(ForeignKey("disposal_lists.id"))
    committee: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[dt.date] = mapped_column(Date)
    list_version: Mapped[int] = mapped_column(Integer)
    list_digest: Mapped[str] = mapped_column(String(64))
    proposed_by: Mapped[str] = mapped_column(String(200))
    approved_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # running | finished
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    # {"done": {action: {rule: files}}, "held": {rule: files}, "changed": {rule: files}}
    counts: Mapped[dict[str, Any]] = mapped_column(JsonDoc)


class DisposalPackageRow(Base):
    """An archive package a run delivered (one per batch with transfers): name and SHA-256."""

    __tablename__ = "disposal_packages"
    __table_args__ = (UniqueConstraint("run_id", "batch", name="uq_disposal_packages_run_id_batch"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("disposal_runs.id"), index=True)
    batch: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    file_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now)
