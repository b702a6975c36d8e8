"""A stored idempotent response records the ids it names, so that disposal finds it by id.

(And the GIN indexes of 0016's audit lists get `fastupdate = off`, as this one.)

Disposal deleted the stored responses naming a disposed case or person by scanning the text of
every stored body for every id of a batch (`LIKE ANY` of thousands of patterns, and never the
headers, such as `Location`). `names` lists every UUID of the body and the stored headers, taken
when the response is stored; disposal deletes where `names` overlaps the batch's ids (a GIN index
on PostgreSQL). The rows stored before this migration get theirs here (the table holds a day of
responses: `IUB_IDEMPOTENCY_TTL_HOURS`).

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-01
"""

import base64
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0019"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDS = sa.JSON().with_variant(ARRAY(sa.String(36)), "postgresql")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)

keys = sa.table(
    "idempotency_keys",
    sa.column("caller", sa.String()),
    sa.column("key_hmac", sa.String()),
    sa.column("response_body", sa.JSON()),
    sa.column("response_headers", sa.JSON()),
    sa.column("names", IDS),
)


def _named(body: dict[str, object] | None, headers: dict[str, str] | None) -> list[str]:
    # As app/kit/idempotency_erasure.py `ids_named` (copied: a migration does not import the app).
    parts = list((headers or {}).values())
    if body and "text" in body:
        parts.append(str(body["text"]))
    elif body and "base64" in body:
        parts.append(base64.b64decode(str(body["base64"])).decode("utf-8", errors="replace"))
    return sorted({m.lower() for part in parts for m in _UUID.findall(part)})


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("names", IDS, nullable=True))
    # fastupdate off, here and on 0016's audit lists: with it on, new entries wait in a pending
    # list that every lookup scans, and that only vacuum empties (autovacuum may be off): a
    # disposal batch's lookup of thousands of ids took seconds.
    op.create_index(
        "ix_idempotency_keys_names",
        "idempotency_keys",
        ["names"],
        postgresql_using="gin",
        postgresql_with={"fastupdate": "off"},
    )
    if op.get_bind().dialect.name == "postgresql":
        for index in ("ix_audit_records_case_ids", "ix_audit_records_person_ids"):
            op.execute(f"ALTER INDEX {index} SET (fastupdate = off)")
    bind = op.get_bind()
    stored = bind.execute(
        sa.select(keys.c.caller, keys.c.key_hmac, keys.c.response_body, keys.c.response_headers).where(
            keys.c.response_body.is_not(None)
        )
    ).all()
    for caller, key_hmac, body, headers in stored:
        bind.execute(
            sa.update(keys)
            .where(keys.c.caller == caller, keys.c.key_hmac == key_hmac)
            .values(names=_named(body, headers))
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for index in ("ix_audit_records_case_ids", "ix_audit_records_person_ids"):
            op.execute(f"ALTER INDEX {index} RESET (fastupdate)")
    op.drop_index("ix_idempotency_keys_names", table_name="idempotency_keys")
    op.drop_column("idempotency_keys", "names")
