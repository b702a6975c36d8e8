"""Retention of case records: the last entry and the disposal due date. Pure.

SoL 16 kap. 1 §: data in a personakt belonging to a register is disposed of five years after
the last entry in the file. That governs identified cases only. Records of exempted
interventions hold no identity, are no personakt in a register, and follow the committee's
records plan instead (legal brief, "Disposal"): their due date is not set here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final

from app.catalog.domain import DocumentationRule

RETENTION_YEARS: Final = 5


def last_entry_on(dates: Iterable[dt.date | None]) -> dt.date:
    """The latest of the entries' dates (opening, notes, sessions, plan, closing)."""
    found = [d for d in dates if d is not None]
    if not found:
        raise ValueError("a case has at least its opening date")
    return max(found)


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# SoL 16:1 — five years after the last entry; exempted records follow the records plan.
def disposal_due_on(last_entry: dt.date, rule: DocumentationRule) -> dt.date | None:
    if not rule.keeps_identity:
        return None
    return add_years(last_entry, RETENTION_YEARS)
