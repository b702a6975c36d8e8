"""Prometheus metrics of the outbox: counters kept by the dispatcher, gauges read at scrape time.

No label ever carries an identity value or an id: the only labels are the event kind (a fixed
vocabulary; anything else is counted as "other"), the outcome and the status.

- `iub_outbox_deliveries_total{kind}`: events delivered (in this process).
- `iub_outbox_failures_total{kind, outcome}`: failed attempts, `outcome` = `retry` | `dead`.
- `iub_outbox_leases_lost_total`: outcomes dropped because another worker took the events.
- `iub_outbox_leases_expired_total`: events claimed again after their lease expired.
- `iub_outbox_backlog{status}` (gauge, `pending` | `in_flight` | `dead`), computed per scrape.
- `iub_outbox_oldest_pending_age_seconds` (gauge): age of the oldest undelivered, not dead event.
- `iub_outbox_dead_letters` (gauge): dead events waiting for an admin.
- `iub_outbox_skipped` (gauge): events an operator skipped (until `iub purge` removes them).
- `iub_outbox_operator_actions_total{action, reason}`: operators' skips and retries, from their
  record in the database (so every API process reports them all); `reason` is the reason
  code, `none` for a retry without one.

Counters live in the process that delivers: the API process when the dispatcher runs
in-process, else the worker (`iub worker --metrics-port`). The gauges come from the database,
so any API process reports them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.journal.events import EventKind
from app.journal.models import OutboxAction, OutboxEvent
from app.journal.operator import RetryReason, SkipReason

if TYPE_CHECKING:
    from app.journal.dispatcher import Outcome

_KINDS = frozenset(str(kind) for kind in EventKind)
_ACTIONS = frozenset({"skip", "retry"})
_REASONS = frozenset({*(str(r) for r in SkipReason), *(str(r) for r in RetryReason)})

DELIVERIES = Counter("iub_outbox_deliveries", "Outbox events delivered to the journal system.", ["kind"])
FAILURES = Counter(
    "iub_outbox_failures", "Failed delivery attempts, by what happens next (retry or dead).", ["kind", "outcome"]
)
LEASES_LOST = Counter("iub_outbox_leases_lost", "Outcomes dropped: another worker had taken the events.")
LEASES_EXPIRED = Counter("iub_outbox_leases_expired", "Events claimed again after their lease expired.")


def _kind_label(kind: str) -> str:
    return kind if kind in _KINDS else "other"


def record_outcomes(outcomes: Sequence[Outcome], *, lease_lost: int = 0, reclaimed: int = 0) -> None:
    for outcome in outcomes:
        kind = _kind_label(outcome.event.kind)
        if outcome.kind == "delivered":
            DELIVERIES.labels(kind).inc()
        elif outcome.kind in ("retry", "dead"):
            FAILURES.labels(kind, outcome.kind).inc()
    if lease_lost:
        LEASES_LOST.inc(lease_lost)
    if reclaimed:
        LEASES_EXPIRED.inc(reclaimed)


async def outbox_gauges(session: AsyncSession, now: dt.datetime) -> list[Metric]:
    """The backlog, the oldest pending event's age, the dead letters and the skipped events (one
    query), and the operators' actions (one more)."""
    events = OutboxEvent.__table__
    undelivered = events.c.status.in_(("pending", "in_flight"))
    row = (
        await session.execute(
            select(
                func.count().filter(events.c.status == "pending"),
                func.count().filter(events.c.status == "in_flight"),
                func.count().filter(events.c.status == "dead"),
                func.count().filter(events.c.status == "skipped"),
                func.min(case((undelivered, events.c.created_at))),
            )
            # Two partial indexes (open events, held events): never the delivered history.
            .where(or_(undelivered, events.c.status.in_(("dead", "skipped"))))
        )
    ).one()
    pending, in_flight, dead, skipped, oldest = row
    backlog = GaugeMetricFamily("iub_outbox_backlog", "Outbox events not yet delivered, by status.", labels=["status"])
    for status, count in (("pending", pending), ("in_flight", in_flight), ("dead", dead)):
        backlog.add_metric([status], float(count or 0))
    age = 0.0
    if oldest is not None:
        if isinstance(oldest, str):  # SQLite may hand back text from an aggregate
            oldest = dt.datetime.fromisoformat(oldest)
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.UTC)
        age = max(0.0, (now - oldest).total_seconds())
    oldest_age = GaugeMetricFamily(
        "iub_outbox_oldest_pending_age_seconds", "Age of the oldest undelivered (not dead) outbox event."
    )
    oldest_age.add_metric([], age)
    dead_letters = GaugeMetricFamily("iub_outbox_dead_letters", "Dead-lettered outbox events awaiting an admin.")
    dead_letters.add_metric([], float(dead or 0))
    skipped_events = GaugeMetricFamily("iub_outbox_skipped", "Outbox events an operator skipped (until purged).")
    skipped_events.add_metric([], float(skipped or 0))
    by_reason = (OutboxAction.action, OutboxAction.reason)
    actions = await session.execute(select(*by_reason, func.count()).group_by(*by_reason))
    operator = CounterMetricFamily(
        "iub_outbox_operator_actions", "Operators' skips and retries of outbox events.", labels=["action", "reason"]
    )
    counts: dict[tuple[str, str], float] = {}
    for action, reason, count in actions.all():
        labels = (action if action in _ACTIONS else "other", reason if reason in _REASONS else "none")
        counts[labels] = counts.get(labels, 0.0) + float(count)
    for labels, count in sorted(counts.items()):
        operator.add_metric(list(labels), count)
    return [backlog, oldest_age, dead_letters, skipped_events, operator]


class _Fixed:
    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self._metrics


def exposition(gauges: Iterable[Metric], registry: Any = REGISTRY) -> bytes:
    """The Prometheus text: the process registry (counters) plus this scrape's gauges."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Fixed(gauges))
    return bytes(generate_latest(registry)) + bytes(generate_latest(scrape))
