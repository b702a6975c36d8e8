"""The transactional outbox of journal-system events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:05:19.883417
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox_events',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('aggregate_type', sa.String(length=20), nullable=False),
    sa.Column('aggregate_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('lease_token', sa.String(length=36), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_outbox_events')),
    sa.UniqueConstraint('id', name=op.f('uq_outbox_events_id'))
    )
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_events_aggregate_id_seq', ['aggregate_id', 'seq'], unique=False)
        batch_op.create_index('ix_outbox_events_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        # Undelivered events only: the dispatcher's claim scans them in seq order.
        batch_op.create_index(
            'ix_outbox_events_open_seq', ['seq'], unique=False,
            postgresql_where=sa.text("status IN ('pending', 'in_flight')"),
            sqlite_where=sa.text("status IN ('pending', 'in_flight')"),
        )



    op.create_table('journal_links',
    sa.Column('aggregate_type', sa.String(length=20), nullable=False),
    sa.Column('aggregate_id', sa.String(length=36), nullable=False),
    sa.Column('external_ref', sa.String(length=200), nullable=True),
    sa.Column('sync_state', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('aggregate_type', 'aggregate_id', name=op.f('pk_journal_links'))
    )


def downgrade() -> None:
    op.drop_table('journal_links')
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_events_open_seq')
        batch_op.drop_index('ix_outbox_events_status_next_attempt_at')
        batch_op.drop_index('ix_outbox_events_aggregate_id_seq')

    op.drop_table('outbox_events')
