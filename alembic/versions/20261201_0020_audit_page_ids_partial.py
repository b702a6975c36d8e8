"""The audit trail's page-row id lists indexed only where a row has them.

0016's GIN indexes over `case_ids` and `person_ids` hold an entry for every audit row, also for
the far more numerous rows without lists (a null item each): every audit row written, and every
de-identified copy disposal writes (thousands per batch), goes into both. Partial (`IS NOT
NULL`: `@>` and `&&` imply it, so both still find the page rows) they hold the page rows only;
`fastupdate = off` as 0019 set it. PostgreSQL only (SQLite's plain indexes stay).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("case_ids", "person_ids")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.drop_index(f"ix_audit_records_{column}", table_name="audit_records")
        op.create_index(
            f"ix_audit_records_{column}",
            "audit_records",
            [column],
            postgresql_using="gin",
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
            postgresql_with={"fastupdate": "off"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.drop_index(f"ix_audit_records_{column}", table_name="audit_records")
        op.create_index(f"ix_audit_records_{column}", "audit_records", [column], postgresql_using="gin")
