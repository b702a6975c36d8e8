"""The law at the door: one running case per person, consent, coded closing and entries, plan history.

- `cases`: a partial unique index keeps one running case per identified person (the child, for a
  parent-targeted case) and intervention in a unit; the guardian's consent (SoL 21:2);
  `early_termination_reason` becomes a code and the free text moves to `early_termination_note`
  (earlier free text is kept there with the code `other`); gender `not_stated` becomes `unknown`.
- `case_plan_versions`: every version of the plan, with who and when (the current plans are
  copied in as their first recorded version).
- `case_coded_entries`: `concern_reported`, `referred_to_needs_assessed`.
- `decisions.risk_analysis_reference`, `audit_records.basis`.

Every change to an existing table is an ALTER TABLE that SQLite runs natively: no table is
rebuilt, so no foreign key cascade and no trigger (the audit trail's) is disturbed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNNING_CASE_INDEX = "uq_cases_running_person_intervention"
RUNNING = "status <> 'closed'"
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("decisions", sa.Column("risk_analysis_reference", sa.String(length=300), nullable=True))
    op.add_column("audit_records", sa.Column("basis", sa.String(length=40), nullable=True))

    op.add_column("cases", sa.Column("guardian_consent", sa.Boolean(), nullable=True))
    op.add_column("cases", sa.Column("guardian_consents", JSON, nullable=True))
    op.add_column("cases", sa.Column("early_termination_code", sa.String(length=40), nullable=True))
    op.add_column("cases", sa.Column("early_termination_note", sa.Text(), nullable=True))
    op.execute(
        "UPDATE cases SET early_termination_note = early_termination_reason, early_termination_code = 'other' "
        "WHERE early_termination_reason IS NOT NULL"
    )
    op.drop_column("cases", "early_termination_reason")
    op.execute("ALTER TABLE cases RENAME COLUMN early_termination_code TO early_termination_reason")
    op.execute("UPDATE cases SET participant_gender = 'unknown' WHERE participant_gender = 'not_stated'")

    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT count(*) FROM (SELECT 1 FROM cases WHERE person_id IS NOT NULL AND {RUNNING} "
                "GROUP BY committee, unit, intervention_id, person_id HAVING count(*) > 1) AS d"
            )
        )
        .scalar()
    )
    if duplicates:
        raise RuntimeError(
            f"{duplicates} person(s) have more than one running case of the same intervention in a unit: "
            "close the later case(s) before upgrading (one running case per person and intervention)."
        )
    op.create_index(
        RUNNING_CASE_INDEX,
        "cases",
        ["committee", "unit", "intervention_id", "person_id"],
        unique=True,
        postgresql_where=sa.text(RUNNING),
        sqlite_where=sa.text(RUNNING),
    )

    op.create_table(
        "case_plan_versions",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("drawn_up_on", sa.Date(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("time_frame", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("responsible_contact", sa.Text(), nullable=False),
        sa.Column("reason_for_seeking", sa.Text(), nullable=True),
        sa.Column("goals", sa.Text(), nullable=True),
        sa.Column("form", sa.Text(), nullable=True),
        sa.Column("frequency", sa.Text(), nullable=True),
        sa.Column("follow_up", sa.Text(), nullable=True),
        sa.Column("reason_for_closing", sa.Text(), nullable=True),
        sa.Column("personal", JSON, nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_plan_versions_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "version", name=op.f("pk_case_plan_versions")),
    )
    columns = (
        "case_id, version, drawn_up_on, starts_on, follow_up_on, time_frame, description, responsible_contact, "
        "reason_for_seeking, goals, form, frequency, follow_up, reason_for_closing, personal"
    )
    # Earlier versions were overwritten: the current one is the first the history knows.
    op.execute(
        f"INSERT INTO case_plan_versions ({columns}, recorded_by, recorded_at) "
        f"SELECT {columns}, 'unknown', updated_at FROM case_plans"
    )

    op.create_table(
        "case_coded_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_coded_entries_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_coded_entries")),
    )
    op.create_index(op.f("ix_case_coded_entries_case_id"), "case_coded_entries", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_case_coded_entries_case_id"), table_name="case_coded_entries")
    op.drop_table("case_coded_entries")
    op.drop_table("case_plan_versions")
    op.drop_index(RUNNING_CASE_INDEX, table_name="cases")
    op.execute("UPDATE cases SET participant_gender = 'not_stated' WHERE participant_gender = 'unknown'")
    op.add_column("cases", sa.Column("early_termination_text", sa.Text(), nullable=True))
    op.execute(
        "UPDATE cases SET early_termination_text = COALESCE(early_termination_note, early_termination_reason) "
        "WHERE early_termination_reason IS NOT NULL"
    )
    op.drop_column("cases", "early_termination_note")
    op.drop_column("cases", "early_termination_reason")
    op.execute("ALTER TABLE cases RENAME COLUMN early_termination_text TO early_termination_reason")
    op.drop_column("cases", "guardian_consents")
    op.drop_column("cases", "guardian_consent")
    op.drop_column("audit_records", "basis")
    op.drop_column("decisions", "risk_analysis_reference")
