"""A read of a page of cases is one audit row naming every case and person on the page.

Listing 50 cases wrote 50 audit rows (one per case and person). The page row names them in two
id lists instead: a PostgreSQL array with a GIN index, so a case's or a person's trail still
finds the page rows naming them (`@>`) and disposal finds the rows to de-identify (`&&`); on
SQLite a JSON array (no array type there) with a plain index that narrows a search to page rows.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDS = sa.JSON().with_variant(ARRAY(sa.String(36)), "postgresql")


def upgrade() -> None:
    op.add_column("audit_records", sa.Column("case_ids", IDS, nullable=True))
    op.add_column("audit_records", sa.Column("person_ids", IDS, nullable=True))
    op.create_index("ix_audit_records_case_ids", "audit_records", ["case_ids"], postgresql_using="gin")
    op.create_index("ix_audit_records_person_ids", "audit_records", ["person_ids"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_audit_records_person_ids", table_name="audit_records")
    op.drop_index("ix_audit_records_case_ids", table_name="audit_records")
    op.drop_column("audit_records", "person_ids")
    op.drop_column("audit_records", "case_ids")
