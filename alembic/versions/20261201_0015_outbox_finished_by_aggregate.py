"""The outbox's finished events by aggregate, for disposal.

Disposal removes every outbox event of the cases it removes (their payloads carry identity),
delivered and skipped ones too. 0013's index by aggregate holds unfinished events only, so
without this one (its complement, partial on PostgreSQL) each disposal batch scanned the whole
outbox history. The disposal's delete states each half of the condition, so both are used.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINISHED = "status IN ('delivered', 'skipped')"


def upgrade() -> None:
    op.create_index(
        "ix_outbox_events_finished_aggregate_id",
        "outbox_events",
        ["aggregate_id"],
        postgresql_where=sa.text(FINISHED),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_events_finished_aggregate_id", table_name="outbox_events")
