"""Indexes for every query on a growing table, chosen to stay right with stale statistics.

- `audit_records`: the committee-wide trail, newest first (`committee, at, id`); the unit's own
  trail already has `committee, unit, at, id`.
- `cases`: the unit's list filtered by status, and by intervention, newest first. The
  running-case partial unique index now holds identified cases only (`person_id IS NOT NULL`,
  which it enforced anyway: NULLs never conflict): its old predicate, `status <> 'closed'`, is
  implied by a list's running status, so with stale statistics the planner walked it and
  sorted the unit's running cases; the lookups it serves name the person, which implies the
  new one.
- `outbox_events`: the full `(status, next_attempt_at)` index is replaced by partial ones, so
  the delivered history (most of the table) is in none of them but the purge's: the events
  held back (`dead`, `skipped`) by status and `seq` (the operator's lists, the gauges), and
  delivered events by delivery time (the purge). Pending and in-flight events stay in
  `ix_outbox_events_open_seq` alone, in `seq` order: the dispatcher's claim reads them off it
  in order (an index that also held them by status would tempt the planner, with stale
  statistics, to gather all of them and sort). Every query by aggregate asks for its unfinished
  events only, so `(aggregate_id, seq)` holds those only: small, and chosen whatever the
  statistics say (a full index by aggregate let a stale plan scan the table instead).

The outbox indexes are partial on PostgreSQL only: SQLite uses a partial index only where the
query states its predicate with the same constants, and the queries bind their statuses as
parameters, so on SQLite they are full indexes (as the ones they replace were).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD = "status IN ('dead', 'skipped')"
UNFINISHED = "status NOT IN ('delivered', 'skipped')"
RUNNING_CASE_INDEX = "uq_cases_running_person_intervention"
RUNNING_BEFORE = "status <> 'closed'"
RUNNING = "person_id IS NOT NULL AND status <> 'closed'"


def _running_index(where: str) -> None:
    op.create_index(
        RUNNING_CASE_INDEX,
        "cases",
        ["committee", "unit", "intervention_id", "person_id"],
        unique=True,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )


DELIVERED = "status = 'delivered'"


def upgrade() -> None:
    op.create_index("ix_audit_records_committee_at_id", "audit_records", ["committee", "at", "id"])
    op.create_index(
        "ix_cases_committee_unit_status_created_at_id", "cases", ["committee", "unit", "status", "created_at", "id"]
    )
    op.create_index(
        "ix_cases_committee_unit_intervention_id_created_at_id",
        "cases",
        ["committee", "unit", "intervention_id", "created_at", "id"],
    )
    op.drop_index(RUNNING_CASE_INDEX, table_name="cases")
    _running_index(RUNNING)
    op.drop_index("ix_outbox_events_status_next_attempt_at", table_name="outbox_events")
    op.drop_index("ix_outbox_events_aggregate_id_seq", table_name="outbox_events")
    op.create_index(
        "ix_outbox_events_unfinished_aggregate_id_seq",
        "outbox_events",
        ["aggregate_id", "seq"],
        postgresql_where=sa.text(UNFINISHED),
    )
    op.create_index(
        "ix_outbox_events_held_status_seq",
        "outbox_events",
        ["status", "seq"],
        postgresql_where=sa.text(HELD),
    )
    op.create_index(
        "ix_outbox_events_delivered_at",
        "outbox_events",
        ["delivered_at"],
        postgresql_where=sa.text(DELIVERED),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_events_delivered_at", table_name="outbox_events")
    op.drop_index("ix_outbox_events_held_status_seq", table_name="outbox_events")
    op.drop_index("ix_outbox_events_unfinished_aggregate_id_seq", table_name="outbox_events")
    op.create_index("ix_outbox_events_aggregate_id_seq", "outbox_events", ["aggregate_id", "seq"])
    op.create_index("ix_outbox_events_status_next_attempt_at", "outbox_events", ["status", "next_attempt_at"])
    op.drop_index(RUNNING_CASE_INDEX, table_name="cases")
    _running_index(RUNNING_BEFORE)
    op.drop_index("ix_cases_committee_unit_intervention_id_created_at_id", table_name="cases")
    op.drop_index("ix_cases_committee_unit_status_created_at_id", table_name="cases")
    op.drop_index("ix_audit_records_committee_at_id", table_name="audit_records")
