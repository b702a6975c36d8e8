"""Prometheus metrics of the HTTP surface and the database pool (`GET /metrics`).

- `iub_http_requests_total{method, route, status}`: requests answered, by route *template*
  (`/v1/cases/{case_id}`, never the raw path: a path can hold an id), `unmatched` for no route.
- `iub_http_request_duration_seconds{method, route}` (histogram): from the first byte of the
  request to the end of the answer, as the request-context middleware measures it.
- `iub_db_pool_connections{state}` (gauge, `checked_out` | `idle`), `iub_db_pool_size`,
  `iub_db_pool_overflow`: the SQLAlchemy pool of this process, read at scrape time.

No label carries an identity value or an id: methods are a fixed set (others count as `OTHER`),
routes are the application's templates, statuses are numbers.

Counters are per process. Under `iub serve --workers N` each scrape reaches one process: run
one process per container and scale by replicas where metrics matter (see deploy/).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.pool import QueuePool

from app.core.db import Database

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter("iub_http_requests", "HTTP requests answered, by route template.", ["method", "route", "status"])
DURATION = Histogram(
    "iub_http_request_duration_seconds",
    "HTTP request duration, by route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


# The labelled series of each (method, route, status) seen, so that a request costs no label
# lookup (`labels()` takes a lock and builds a key). Routes are templates and statuses numbers, so
# the set is small; it is bounded all the same (past the bound, series are looked up as before).
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_MAX_SERIES = 4096


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """One answered request; `route` is the matched route's template (or `unmatched`)."""
    key = (method, route, status)
    series = _SERIES.get(key)
    if series is None:
        label = method if method in _METHODS else "OTHER"
        series = (REQUESTS.labels(label, route, str(status)), DURATION.labels(label, route))
        if len(_SERIES) < _MAX_SERIES:
            _SERIES[key] = series
    series[0].inc()
    series[1].observe(seconds)


def pool_gauges(db: Database) -> list[Metric]:
    """The pool's state now (a SQLite file or a pool that does not count gives none)."""
    pool = db.engine.sync_engine.pool
    if not isinstance(pool, QueuePool):
        return []
    connections = GaugeMetricFamily(
        "iub_db_pool_connections", "Database connections of this process's pool, by state.", labels=["state"]
    )
    connections.add_metric(["checked_out"], float(pool.checkedout()))
    connections.add_metric(["idle"], float(pool.checkedin()))
    size = GaugeMetricFamily("iub_db_pool_size", "Configured size of the database pool (without overflow).")
    size.add_metric([], float(pool.size()))
    overflow = GaugeMetricFamily(
        "iub_db_pool_overflow", "Connections beyond the pool size now (negative: not all of the pool is open)."
    )
    overflow.add_metric([], float(pool.overflow()))
    return [connections, size, overflow]
