"""Disposal (gallring): legal holds, disposal lists and their items, runs and their packages.

The run with its packages is the disposal certificate (gallringsprotokoll). A hold has foreign
keys to the person or case it holds, so that a hold set while a batch removes the file makes one
of the two transactions fail.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "disposal_lists",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("committee", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("held_count", sa.Integer(), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("proposed_by", sa.String(length=200), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_version", sa.Integer(), nullable=True),
        sa.Column("approved_digest", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_lists")),
    )
    with op.batch_alter_table("disposal_lists", schema=None) as batch_op:
        batch_op.create_index(
            "ix_disposal_lists_committee_proposed_at_id", ["committee", "proposed_at", "id"], unique=False
        )

    op.create_table(
        "disposal_list_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("list_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=True),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["disposal_lists.id"],
            name=op.f("fk_disposal_list_items_list_id_disposal_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_list_items")),
    )
    with op.batch_alter_table("disposal_list_items", schema=None) as batch_op:
        batch_op.create_index("ix_disposal_list_items_list_id_status_id", ["list_id", "status", "id"], unique=False)

    op.create_table(
        "disposal_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("list_id", sa.String(length=36), nullable=False),
        sa.Column("committee", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("list_version", sa.Integer(), nullable=False),
        sa.Column("list_digest", sa.String(length=64), nullable=False),
        sa.Column("proposed_by", sa.String(length=200), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"], ["disposal_lists.id"], name=op.f("fk_disposal_runs_list_id_disposal_lists")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_runs")),
        sa.UniqueConstraint("list_id", name="uq_disposal_runs_list_id"),
    )
    with op.batch_alter_table("disposal_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_disposal_runs_committee_started_at_id", ["committee", "started_at", "id"], unique=False
        )

    op.create_table(
        "disposal_holds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("committee", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=True),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("(person_id IS NULL) <> (case_id IS NULL)", name=op.f("ck_disposal_holds_one_target")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_disposal_holds_case_id_cases")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_disposal_holds_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_holds")),
    )
    with op.batch_alter_table("disposal_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disposal_holds_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_disposal_holds_committee_created_at_id", ["committee", "created_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_disposal_holds_person_id"), ["person_id"], unique=False)

    op.create_table(
        "disposal_packages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["disposal_runs.id"], name=op.f("fk_disposal_packages_run_id_disposal_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_packages")),
        sa.UniqueConstraint("run_id", "batch", name="uq_disposal_packages_run_id_batch"),
    )
    with op.batch_alter_table("disposal_packages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disposal_packages_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("disposal_packages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disposal_packages_run_id"))

    op.drop_table("disposal_packages")
    with op.batch_alter_table("disposal_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disposal_holds_person_id"))
        batch_op.drop_index("ix_disposal_holds_committee_created_at_id")
        batch_op.drop_index(batch_op.f("ix_disposal_holds_case_id"))

    op.drop_table("disposal_holds")
    with op.batch_alter_table("disposal_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_disposal_runs_committee_started_at_id")

    op.drop_table("disposal_runs")
    with op.batch_alter_table("disposal_list_items", schema=None) as batch_op:
        batch_op.drop_index("ix_disposal_list_items_list_id_status_id")

    op.drop_table("disposal_list_items")
    with op.batch_alter_table("disposal_lists", schema=None) as batch_op:
        batch_op.drop_index("ix_disposal_lists_committee_proposed_at_id")

    op.drop_table("disposal_lists")
