"""Audit records leave only by the sanctioned paths: the database refuses any other DELETE.

0005 refuses an UPDATE. A DELETE stayed possible for any statement, although only two paths may
remove a record: disposal (it replaces the records naming a disposed file with records without
it) and the retention purge (`iub purge`: records older than `IUB_AUDIT_RETENTION_YEARS`). Each
of them inserts a grant row into `audit_delete_grants` inside its own transaction and removes it
before committing, so no other transaction ever sees one; a DELETE without a grant in sight is
refused. PostgreSQL checks once per statement (a statement-level trigger: a disposal batch
deletes thousands of rows), SQLite once per row (it has no statement-level triggers).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit_records leave only by disposal or the retention purge"


def upgrade() -> None:
    op.create_table(
        "audit_delete_grants",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_delete_grants")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_records_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM audit_delete_grants) THEN
                    RAISE EXCEPTION '{MESSAGE}';
                END IF;
                RETURN NULL;
            END;
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_records_delete_guard BEFORE DELETE ON audit_records "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_records_refuse_delete()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_records_delete_guard BEFORE DELETE ON audit_records "
            f"WHEN NOT EXISTS (SELECT 1 FROM audit_delete_grants) BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute("DROP TRIGGER IF EXISTS audit_records_delete_guard" + (" ON audit_records" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS audit_records_refuse_delete()")
    op.drop_table("audit_delete_grants")
