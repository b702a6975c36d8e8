"""Retention of case records: the last entry of a case, and the disposal date a case shows.

The rules themselves are `app.disposal.rules` (pure, with their paragraphs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from app.cases.models import CaseRow
from app.catalog.domain import DocumentationRule
from app.disposal.rules import PERSON_FILE_YEARS, add_years, last_entry_in_file


def last_entry_on(dates: Iterable[dt.date | None]) -> dt.date:
    """The latest of a case's entries' dates (opening, notes, sessions, plan, closing)."""
    return last_entry_in_file(dates)


# SoL 16:1 — five years after the last entry; exempted records follow the records plan.
def case_disposal_due_on(row: CaseRow) -> dt.date | None:
    if not DocumentationRule(row.documentation_rule).keeps_identity:
        return None
    return add_years(row.last_entry_on, PERSON_FILE_YEARS)
