"""Unit-level follow-up: group meetings, published statistics, and a record key on cases.

`cases.record_key` is a random number 0-255 per case for the cell key method of disclosure
control; existing cases get one here.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("record_key", sa.Integer(), server_default="0", nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE cases SET record_key = floor(random() * 256)::int")
    else:
        op.execute("UPDATE cases SET record_key = abs(random()) % 256")

    op.create_table(
        "group_meetings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("committee", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("group_id", sa.String(length=100), nullable=False),
        sa.Column("intervention_id", sa.String(length=100), nullable=False),
        sa.Column("documentation_rule", sa.String(length=40), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("participants", JSON, nullable=False),
        sa.Column("age_bands", JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("record_key", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_meetings")),
    )
    with op.batch_alter_table("group_meetings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_group_meetings_committee_unit_group_id_held_on",
            ["committee", "unit", "group_id", "held_on"],
            unique=False,
        )
        batch_op.create_index("ix_group_meetings_committee_held_on", ["committee", "held_on"], unique=False)

    op.create_table(
        "stats_snapshots",
        sa.Column("committee", sa.String(length=64), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("first_quarter", sa.Integer(), nullable=False),
        sa.Column("last_quarter", sa.Integer(), nullable=False),
        sa.Column("rows", JSON, nullable=False),
        sa.PrimaryKeyConstraint("committee", name=op.f("pk_stats_snapshots")),
    )
    op.create_table(
        "stats_cells",
        sa.Column("committee", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=6), nullable=False),
        sa.Column("row", sa.String(length=120), nullable=False),
        sa.Column("var", sa.String(length=80), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("committee", "period", "row", "var", name=op.f("pk_stats_cells")),
    )


def downgrade() -> None:
    op.drop_table("stats_cells")
    op.drop_table("stats_snapshots")
    with op.batch_alter_table("group_meetings", schema=None) as batch_op:
        batch_op.drop_index("ix_group_meetings_committee_held_on")
        batch_op.drop_index("ix_group_meetings_committee_unit_group_id_held_on")
    op.drop_table("group_meetings")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("record_key")
