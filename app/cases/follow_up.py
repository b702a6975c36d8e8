"""Unit-level follow-up (uppföljning på verksamhetsnivå): the case data as counts, never as records.

Seeds 001–003: even where identity is exempted, the number of participants, their age and
gender, wellbeing at start and end, why participants ended early and how they perceived the
intervention are documented "för att kunna följa upp effekt". This module is the one way
another package reads that data: aggregate counts per unit, intervention and calendar quarter,
computed in the database. It selects no identity column (no person, no participant code, no
free text), and identified and exempted cases are counted alike.

Each count also carries the sum of its cases' random `record_key`s, which the cell key method
of disclosure control turns into a cell key (statistics only; the key says nothing about anyone).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Integer, and_, case, cast, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.cases.models import CaseRow
from app.cases.policy import _BANDS
from app.journal.port import ClosingReason

# The categories the counts use. Anything else a column may hold falls into the last, catch-all one.
GENDERS: Final = ("female", "male", "other", "unknown")  # unknown: declined to say, not stated, not recorded
AGE_BANDS: Final = (*(f"{low}-{high}" for low, high in _BANDS), "unknown")  # age only in bands, never a date
INFORMED: Final = ("yes", "no")
CLOSING_REASONS: Final = tuple(r.value for r in ClosingReason)
EARLY_TERMINATION_REASONS: Final = (
    "moved",
    "declined_to_continue",
    "referred_to_needs_assessed",
    "no_show",
    "other",
    "not_coded",  # ended early before the reason was a code
)
WELLBEING_CHANGES: Final = ("down_2_or_more", "down_1", "unchanged", "up_1", "up_2_or_more", "not_assessed")
SATISFACTION: Final = ("1", "2", "3", "4", "5", "not_given")
SESSIONS_USED: Final = ("0", "1", "2-3", "4-5", "6-10", "11+")


@dataclass(frozen=True, slots=True)
class FollowUpCount:
    """How many cases of one unit and intervention share the categories named, in one quarter.

    `measure` is `started` (opened in the quarter) or `closed` (closed in it). `quarter` is
    year * 4 + (quarter - 1). `categories` pairs a dimension with a category, e.g.
    `(("gender", "female"), ("age_band", "30-49"), ("informed", "yes"))`.
    """

    measure: str
    unit: str
    intervention_id: str
    quarter: int
    categories: tuple[tuple[str, str], ...]
    cases: int
    key_sum: int


def _int(value: Any) -> int:
    return int(value)


def _quarter(column: Any) -> ColumnElement[int]:
    year = cast(extract("year", column), Integer)
    month = cast(extract("month", column), Integer)
    return year * 4 + case((month <= 3, 0), (month <= 6, 1), (month <= 9, 2), else_=3)


def _gender() -> ColumnElement[str]:
    column = CaseRow.participant_gender
    return case((column.in_(GENDERS[:-1]), column), else_="unknown")


def _age_band() -> ColumnElement[str]:
    age = CaseRow.participant_age
    whens = [(age <= high, f"{low}-{high}") for low, high in _BANDS]
    return case((age.is_(None), "unknown"), *whens, else_="unknown")


def _early_reason() -> ColumnElement[str]:
    column = CaseRow.early_termination_reason
    return case(
        (CaseRow.closing_reason != ClosingReason.ended_early.value, ""),
        (column.in_(EARLY_TERMINATION_REASONS[:-1]), column),
        else_="not_coded",
    )


def _wellbeing_change() -> ColumnElement[str]:
    start, end = CaseRow.start_wellbeing, CaseRow.end_wellbeing
    change = end - start
    return case(
        (start.is_(None) | end.is_(None), "not_assessed"),
        (change <= -2, "down_2_or_more"),
        (change == -1, "down_1"),
        (change == 0, "unchanged"),
        (change == 1, "up_1"),
        else_="up_2_or_more",
    )


def _satisfaction() -> ColumnElement[str]:
    column = CaseRow.participant_satisfaction
    whens = [(column == int(s), s) for s in SATISFACTION[:-1]]
    return case(*whens, else_="not_given")


def _sessions_used() -> ColumnElement[str]:
    n = CaseRow.session_count
    return case((n <= 0, "0"), (n == 1, "1"), (n <= 3, "2-3"), (n <= 5, "4-5"), (n <= 10, "6-10"), else_="11+")


# What is counted of closed cases, one dimension per query (their combinations are not needed).
_CLOSED_DIMENSIONS: Final = (
    (("reason", lambda: CaseRow.closing_reason), ("early_termination_reason", _early_reason)),
    (("wellbeing_change", _wellbeing_change),),
    (("satisfaction", _satisfaction),),
    (("sessions_used", _sessions_used),),
)


async def follow_up_counts(session: AsyncSession, committee: str, *, through: dt.date) -> list[FollowUpCount]:
    """The committee's cases, counted per unit, intervention and quarter, up to and including `through`.

    Started cases are counted by gender, age band and whether they were told of the right to apply
    (SoL 11:6); closed cases by closing reason and coded early-termination reason, change in
    wellbeing, the participant's view and sessions used.
    """
    counts: list[FollowUpCount] = []
    # Computed columns are grouped by their labels: PostgreSQL would not match two renderings
    # of one expression whose constants are separate bind parameters.
    opened_q = _quarter(CaseRow.opened_on).label("quarter")
    gender, band = _gender().label("gender"), _age_band().label("age_band")
    started = (
        select(
            CaseRow.unit,
            CaseRow.intervention_id,
            opened_q,
            gender,
            band,
            CaseRow.informed_of_right_to_apply,
            func.count(),
            func.coalesce(func.sum(CaseRow.record_key), 0),
        )
        .where(CaseRow.committee == committee, CaseRow.opened_on <= through)
        .group_by(CaseRow.unit, CaseRow.intervention_id, opened_q, gender, band, CaseRow.informed_of_right_to_apply)
    )
    for unit, intervention, quarter, g, b, informed, n, keys in (await session.execute(started)).all():
        started_in: tuple[tuple[str, str], ...] = (
            ("gender", g),
            ("age_band", b),
            ("informed", "yes" if informed else "no"),
        )
        counts.append(FollowUpCount("started", unit, intervention, int(quarter), started_in, int(n), int(keys)))

    closed_q = _quarter(CaseRow.closed_on).label("quarter")
    is_closed = and_(CaseRow.committee == committee, CaseRow.closed_on.is_not(None), CaseRow.closed_on <= through)
    for dimensions in _CLOSED_DIMENSIONS:
        expressions = [make().label(name) for name, make in dimensions]
        query = (
            select(
                CaseRow.unit,
                CaseRow.intervention_id,
                closed_q,
                *expressions,
                func.count(),
                func.coalesce(func.sum(CaseRow.record_key), 0),
            )
            .where(is_closed)
            .group_by(CaseRow.unit, CaseRow.intervention_id, closed_q, *expressions)
        )
        for row in (await session.execute(query)).all():
            unit, intervention, quarter = row[0], row[1], int(row[2])
            values = row[3 : 3 + len(dimensions)]
            categories = tuple((name, str(value)) for (name, _), value in zip(dimensions, values, strict=True))
            n, key_sum = _int(row[-2]), _int(row[-1])
            counts.append(FollowUpCount("closed", unit, intervention, quarter, categories, n, key_sum))
    return counts
