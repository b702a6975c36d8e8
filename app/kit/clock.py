"""The service's notion of today: Swedish local time, replaceable in tests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """The date in Sweden (a request at 00:30 Swedish time belongs to that Swedish day)."""
    return dt.datetime.now(STOCKHOLM).date()
