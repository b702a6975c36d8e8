"""Audit records are append-only in the database too: an UPDATE is refused.

SoLPUL 10 § / SoLPUF 15 §: access must be documented and checkable, so a recorded access can
never be rewritten. Rows leave only by deletion (disposal of the log after its retention).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit_records are append-only"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_records_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}';
            END;
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_records_append_only BEFORE UPDATE ON audit_records "
            "FOR EACH ROW EXECUTE FUNCTION audit_records_refuse_update()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_records_append_only BEFORE UPDATE ON audit_records "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS audit_records_append_only"
        + (" ON audit_records" if op.get_bind().dialect.name == "postgresql" else "")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_records_refuse_update()")
