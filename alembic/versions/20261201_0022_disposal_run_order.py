"""Disposal executes a list's items in the order of their files' rows on disk, not of their ids.

A list's items are sorted by subject id: random UUIDs, so a batch of 2,000 files in that order
touched some 2,000 pages scattered over each table of the files (cases, notes, plans, sessions,
persons, the audit trail...), a page per file and table, in tables far larger than the server's
buffer cache: each read, dirtied and, the first time after a checkpoint, written whole to the
WAL. When a run starts, `disposal_run_order` gets a row per pending item: its place in execution,
the order of its file's rows (a person's file by its person row, an exempted record by its case
row); batches claim their items in that order, so a batch removes files whose rows share pages.
Each batch deletes its items' rows, so a finished run leaves none. A table of its own, written by
one INSERT: setting a column of a million items rewrote every item row and its indexes.

No foreign keys: a key checked per inserted row would cost as much as the table saves, and the
rows live only while the run runs (item ids; no identity).

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "disposal_run_order",
        sa.Column("list_id", sa.String(36), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("list_id", "position", name=op.f("pk_disposal_run_order")),
    )


def downgrade() -> None:
    op.drop_table("disposal_run_order")
