"""Disposal rules' configuration: a committee's research exemption and records plan, units' provider kind.

`committees.research_exemption` (SoL 16 kap. 4 §, SoF 13 kap. 1 §): existing committees get
`all`, so that nothing is destroyed until a committee records otherwise.
`committees.records_plan_retention_years`: the records plan's retention of exempted records
(SoL 14 kap. 4-5 §§); NULL keeps them. `committee_units`: units run by a private provider
(SoL 17 kap.); a unit without a row is municipal.

`cases.disposal_due_on` goes: the date is the file's (every case of the person at the
committee), computed when read from each case's `last_entry_on`, not stored per case.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("committees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("research_exemption", sa.String(length=30), server_default="all", nullable=False))
        batch_op.add_column(sa.Column("records_plan_retention_years", sa.Integer(), nullable=True))
    op.create_table(
        "committee_units",
        sa.Column("committee_id", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("provider_kind", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["committee_id"],
            ["committees.id"],
            name=op.f("fk_committee_units_committee_id_committees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("committee_id", "unit", name=op.f("pk_committee_units")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("disposal_due_on")


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disposal_due_on", sa.Date(), nullable=True))
    op.drop_table("committee_units")
    with op.batch_alter_table("committees", schema=None) as batch_op:
        batch_op.drop_column("records_plan_retention_years")
        batch_op.drop_column("research_exemption")
