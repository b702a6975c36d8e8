"""Prometheus counters of disposal (in the process that runs it: `iub worker` or `iub disposal run`).

No label carries an identity value or an id: the action, the rule (a fixed vocabulary of codes;
anything else is counted as "other") and why a file was left.

- `iub_disposal_files_total{action, rule}`: files removed (destroyed or transferred).
- `iub_disposal_files_left_total{reason}`: files left at execution, `held` or `changed`.
- `iub_disposal_batches_total`: batches committed.
- `iub_disposal_packages_total`, `iub_disposal_package_bytes_total`: archive packages delivered.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from prometheus_client import Counter

if TYPE_CHECKING:
    from app.disposal.execution import _BatchOutcome

_CODE = re.compile(r"^[a-z0-9_]{1,40}$")
_ACTIONS = frozenset({"destroy", "archive_transfer"})

FILES = Counter("iub_disposal_files", "Files removed by disposal, by action and rule.", ["action", "rule"])
LEFT = Counter("iub_disposal_files_left", "Files left at execution (held, or no longer due as listed).", ["reason"])
BATCHES = Counter("iub_disposal_batches", "Disposal batches committed.")
PACKAGES = Counter("iub_disposal_packages", "Archive packages delivered by disposal.")
PACKAGE_BYTES = Counter("iub_disposal_package_bytes", "Bytes of archive packages delivered by disposal.")


def record_batch(outcome: _BatchOutcome) -> None:
    BATCHES.inc()
    for (action, rule), n in outcome.done.items():
        FILES.labels(action if action in _ACTIONS else "other", rule if _CODE.match(rule) else "other").inc(n)
    if outcome.held:
        LEFT.labels("held").inc(outcome.held)
    if outcome.changed:
        LEFT.labels("changed").inc(outcome.changed)
    if outcome.package is not None:
        PACKAGES.inc()
        PACKAGE_BYTES.inc(outcome.package_bytes)
