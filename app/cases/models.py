"""Case tables. Identity lives in `persons` only, and only identified cases reference it.

The tables of case data (`cases`, `case_notes`, `case_plans`, `case_plan_versions`,
`case_sessions`, `case_coded_entries`) have no identity column: an exempted case (SoL 14:4,
14:5) cannot hold a name or a personnummer because there is nowhere to put one. No hash of a
personnummer is stored anywhere.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, IdArray, JsonDoc, Uuid
from app.core.utc import UtcDateTime
from app.kit.clock import now


class PersonRow(Base):
    """An identified person in one committee's register.

    Each social committee is its own controller with its own register, so a person row belongs
    to one committee (unique on committee and personnummer). Within the committee the row is
    shared by the units that have a case with the person, as the journal system shares it
    (seed 004). Contact details are not here: each unit records its own (`PersonContactRow`).
    The current name carries who recorded it and when; earlier and differing names are kept as
    versions (`PersonNameRow`).
    """

    __tablename__ = "persons"
    __table_args__ = (UniqueConstraint("committee", "personnummer", name="uq_persons_committee_personnummer"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    committee: Mapped[str] = mapped_column(String(64))
    personnummer: Mapped[str] = mapped_column(String(12))  # 12 digits, canonical
    name: Mapped[str] = mapped_column(String(200))
    name_source: Mapped[str] = mapped_column(String(20))  # registration | change
    name_recorded_by: Mapped[str] = mapped_column(String(200))  # the token's sub
    name_recorded_unit: Mapped[str] = mapped_column(String(100))
    name_recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now)
    protected_identity: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now, onupdate=now)

    def __repr__(self) -> str:  # never the values
        return f"PersonRow(id={self.id!r})"


class PersonContactRow(Base):
    """Contact details of a person as one unit recorded them.

    Shown to another unit only while that unit has a case with the person too; a protected
    person's phone and e-mail only to the unit that recorded them, and their address is never
    stored at all (OSL 22:1).
    """

    __tablename__ = "person_contacts"

    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    unit: Mapped[str] = mapped_column(String(100), primary_key=True)
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)  # never for protected persons
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now, onupdate=now)

    def __repr__(self) -> str:  # never the values
        return f"PersonContactRow(person_id={self.person_id!r}, unit={self.unit!r})"


class PersonNameRow(Base):
    """A name of the person that is not (or no longer) the register's current name.

    `source`: `registration` or `change` for a name that was current until `superseded_at`;
    `opening` for a different name an opening carried, recorded but not adopted (a case opening
    never renames the person: a change is an explicit `PATCH`).
    """

    __tablename__ = "person_names"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_unit: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    def __repr__(self) -> str:  # never the values
        return f"PersonNameRow(id={self.id!r})"


RUNNING_CASE_INDEX = "uq_cases_running_person_intervention"
# Identified cases only (NULLs never conflict anyway): a list of the unit's running cases by
# status does not imply this predicate, so a stale plan cannot walk this index and sort.
RUNNING = "person_id IS NOT NULL AND status <> 'closed'"


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(
            "identity = 'identified' OR (person_id IS NULL AND guardian_person_id IS NULL)",
            name="anonymous_has_no_person",
        ),
        CheckConstraint("identity = 'anonymous' OR person_id IS NOT NULL", name="identified_has_person"),
        Index("ix_cases_committee_unit_created_at_id", "committee", "unit", "created_at", "id"),
        # The unit's list filtered by status or by intervention, newest first.
        Index("ix_cases_committee_unit_status_created_at_id", "committee", "unit", "status", "created_at", "id"),
        Index(
            "ix_cases_committee_unit_intervention_id_created_at_id",
            "committee",
            "unit",
            "intervention_id",
            "created_at",
            "id",
        ),
        # One running case per identified person (the child, for a parent-targeted case) and
        # intervention in a unit: a second opening would restart the committee's session cap.
        # Race-safe: the database refuses the second row (exempted cases have no person).
        Index(
            RUNNING_CASE_INDEX,
            "committee",
            "unit",
            "intervention_id",
            "person_id",
            unique=True,
            postgresql_where=text(RUNNING),
            sqlite_where=text(RUNNING),
        ),
    )

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    committee: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(100))
    # The catalog at the opening date, snapshotted: it governs the case for life.
    intervention_id: Mapped[str] = mapped_column(String(100))
    intervention_name: Mapped[str] = mapped_column(String(300))
    decision_id: Mapped[str] = mapped_column(Uuid)
    documentation_rule: Mapped[str] = mapped_column(String(40))
    subject_rule: Mapped[str] = mapped_column(String(20))
    max_sessions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    process_steps: Mapped[int] = mapped_column(Integer)

    identity: Mapped[str] = mapped_column(String(20))  # identified | anonymous
    registered_on: Mapped[str | None] = mapped_column(String(20), nullable=True)  # subject | child
    # RESTRICT (as NO ACTION, without a lookup per deleted row: migration 0014): a person goes only
    # when no case refers to them.
    person_id: Mapped[str | None] = mapped_column(
        ForeignKey("persons.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    guardian_person_id: Mapped[str | None] = mapped_column(
        ForeignKey("persons.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    participant_code: Mapped[str | None] = mapped_column(String(20), nullable=True, unique=True)

    # De-identified data, documented under every rule (seeds 002/003).
    participant_gender: Mapped[str | None] = mapped_column(String(20), nullable=True)
    participant_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    participant_role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    start_wellbeing: Mapped[int | None] = mapped_column(Integer, nullable=True)
    start_social_situation: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    end_wellbeing: Mapped[int | None] = mapped_column(Integer, nullable=True)
    end_social_situation: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    participant_satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    participant_view: Mapped[str | None] = mapped_column(Text, nullable=True)
    informed_of_right_to_apply: Mapped[bool] = mapped_column(Boolean, default=False)
    informed_of_documentation: Mapped[bool] = mapped_column(Boolean, default=False)
    # SoL 21:2: the guardian's consent as recorded at opening; with two guardians, whose.
    guardian_consent: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    guardian_consents: Mapped[list[str] | None] = mapped_column(JsonDoc, nullable=True)

    status: Mapped[str] = mapped_column(String(20))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    closing_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    early_termination_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)  # a code
    early_termination_note: Mapped[str | None] = mapped_column(Text, nullable=True)  # scrubbed free text
    session_count: Mapped[int] = mapped_column(Integer, default=0)
    # A random number 0-255 for the cell key method of the statistics (never derived from anything).
    record_key: Mapped[int] = mapped_column(Integer, default=lambda: secrets.randbelow(256), server_default="0")
    last_entry_on: Mapped[dt.date] = mapped_column(Date)

    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now, onupdate=now)

    notes: Mapped[list[CaseNoteRow]] = relationship(
        back_populates="case",
        order_by="[CaseNoteRow.occurred_on, CaseNoteRow.created_at]",
        lazy="raise",
        cascade="all, delete-orphan",
    )
    sessions: Mapped[list[CaseSessionRow]] = relationship(
        order_by="CaseSessionRow.number", lazy="raise", cascade="all, delete-orphan"
    )
    plan: Mapped[CasePlanRow | None] = relationship(lazy="raise", cascade="all, delete-orphan")
    plan_versions: Mapped[list[CasePlanVersionRow]] = relationship(
        order_by="CasePlanVersionRow.version", lazy="raise", cascade="all, delete-orphan"
    )
    coded_entries: Mapped[list[CaseCodedEntryRow]] = relationship(
        order_by="[CaseCodedEntryRow.occurred_on, CaseCodedEntryRow.created_at]",
        lazy="raise",
        cascade="all, delete-orphan",
    )


class CaseNoteRow(Base):
    """A journal note (journalanteckning): facts and significant events, dated."""

    __tablename__ = "case_notes"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now)

    case: Mapped[CaseRow] = relationship(back_populates="notes", lazy="raise")


class CasePlanRow(Base):
    """The intervention plan (insatsplan, seed 004 bilaga 3) as it is now; every version is kept in
    `case_plan_versions`."""

    __tablename__ = "case_plans"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    drawn_up_on: Mapped[dt.date] = mapped_column(Date)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    follow_up_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    time_frame: Mapped[str | None] = mapped_column(Text, nullable=True)
    description: Mapped[str] = mapped_column(Text)
    responsible_contact: Mapped[str] = mapped_column(Text)
    reason_for_seeking: Mapped[str | None] = mapped_column(Text, nullable=True)
    goals: Mapped[str | None] = mapped_column(Text, nullable=True)
    form: Mapped[str | None] = mapped_column(Text, nullable=True)
    frequency: Mapped[str | None] = mapped_column(Text, nullable=True)
    follow_up: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason_for_closing: Mapped[str | None] = mapped_column(Text, nullable=True)
    # 1. Personuppgifter: only for identified cases; name, personnummer and contact come from the person.
    personal: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now, onupdate=now)


class CasePlanVersionRow(Base):
    """Every version of the plan as it was set (seed 004 bilaga 3 keeps its history): who and when.

    Append-only: `case_plans` holds the current version, this table each one ever set.
    """

    __tablename__ = "case_plan_versions"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    drawn_up_on: Mapped[dt.date] = mapped_column(Date)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    follow_up_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    time_frame: Mapped[str | None] = mapped_column(Text, nullable=True)
    description: Mapped[str] = mapped_column(Text)
    responsible_contact: Mapped[str] = mapped_column(Text)
    reason_for_seeking: Mapped[str | None] = mapped_column(Text, nullable=True)
    goals: Mapped[str | None] = mapped_column(Text, nullable=True)
    form: Mapped[str | None] = mapped_column(Text, nullable=True)
    frequency: Mapped[str | None] = mapped_column(Text, nullable=True)
    follow_up: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason_for_closing: Mapped[str | None] = mapped_column(Text, nullable=True)
    personal: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now)


class CaseCodedEntryRow(Base):
    """A coded entry (seed 004): a concern reported for a child, or help to reach the needs-assessed route.

    A code and a date only: no free text, so nothing identifying can be written here.
    """

    __tablename__ = "case_coded_entries"

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now)


class CaseSessionRow(Base):
    """A session (samtal/träff) counted against the committee's cap."""

    __tablename__ = "case_sessions"
    __table_args__ = (UniqueConstraint("case_id", "number", name="uq_case_sessions_case_id_number"),)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    held_on: Mapped[dt.date] = mapped_column(Date)
    form: Mapped[str] = mapped_column(String(20))  # conversation | meeting | group_meeting
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now)


class UnitProcessRow(Base):
    """The unit's choice of three or all five process steps (seed 004)."""

    __tablename__ = "unit_processes"

    committee: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit: Mapped[str] = mapped_column(String(100), primary_key=True)
    process_steps: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now, onupdate=now)


class AuditRecordRow(Base):
    """Append-only: who read or wrote an identified case or person, and why (SoLPUL 10 §).

    No foreign keys: the trail outlives what it names. Ids only, never a personnummer.
    """

    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_records_committee_unit_at_id", "committee", "unit", "at", "id"),
        Index("ix_audit_records_committee_at_id", "committee", "at", "id"),  # the committee-wide trail
        Index("ix_audit_records_case_id", "case_id"),
        Index("ix_audit_records_person_id", "person_id"),
        # A page row's ids: GIN on PostgreSQL (`@>` and `&&` find the rows naming an id), over the
        # rows that have lists only (0020) and without a pending list (0019: lookups never scan
        # one, which grows while autovacuum is off); on SQLite a plain index that narrows an id's
        # search to the page rows.
        *(
            Index(
                f"ix_audit_records_{column}",
                column,
                postgresql_using="gin",
                postgresql_where=text(f"{column} IS NOT NULL"),
                postgresql_with={"fastupdate": "off"},
            )
            for column in ("case_ids", "person_ids")
        ),
    )

    id: Mapped[str] = mapped_column(Uuid, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=now)
    actor: Mapped[str] = mapped_column(String(200))  # the token's sub
    committee: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[str | None] = mapped_column(Uuid, nullable=True)
    person_id: Mapped[str | None] = mapped_column(Uuid, nullable=True)
    # A read of a page of cases is ONE row naming every identified case on the page and every
    # person of theirs (`case_id` and `person_id` are then null); null on every other row.
    case_ids: Mapped[list[str] | None] = mapped_column(IdArray, nullable=True)
    person_ids: Mapped[list[str] | None] = mapped_column(IdArray, nullable=True)
    why_code: Mapped[str] = mapped_column(String(40))
    # The legal basis the asker stated (a registry occurrence question), as a code.
    basis: Mapped[str | None] = mapped_column(String(40), nullable=True)


class AuditDeleteGrantRow(Base):
    """A permission to delete audit records, inside one transaction (migration 0017).

    The database refuses a DELETE on `audit_records` unless its transaction sees a grant; the two
    sanctioned paths (`app/cases/audit_deletion.py`) insert one and remove it before committing,
    so no other transaction ever sees it.
    """

    __tablename__ = "audit_delete_grants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reason: Mapped[str] = mapped_column(String(20))  # disposal | retention
