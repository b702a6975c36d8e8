"""Operator actions on outbox events: a dead letter skipped or retried, recorded.

Who (the token's `sub`, committee and unit), when, which action and why (a reason code and a
short note without personal data), and for a retry whether the payload was re-encoded. A
skipped event's status is `skipped` (a value of the existing `status` column): it no longer
holds up its case's later events.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_actions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("reencoded", sa.Boolean(), nullable=False),
        sa.Column("payload_changed", sa.Boolean(), nullable=False),
        sa.Column("status_before", sa.String(length=20), nullable=False),
        sa.Column("error_before", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_committee", sa.String(length=64), nullable=False),
        sa.Column("actor_unit", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_actions")),
    )
    with op.batch_alter_table("outbox_actions", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_actions_event_id_at", ["event_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_actions_event_id_at")
    op.drop_table("outbox_actions")
