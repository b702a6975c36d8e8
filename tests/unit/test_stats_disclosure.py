"""Disclosure control on generated data: the published counts agree with the records, no published
count is small, no single subtraction uncovers a hidden one, and the same data give the same answer."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cases.follow_up import (
    AGE_BANDS,
    CLOSING_REASONS,
    EARLY_TERMINATION_REASONS,
    GENDERS,
    SATISFACTION,
    SESSIONS_USED,
    WELLBEING_CHANGES,
    FollowUpCount,
)
from app.stats.disclosure import MAX_PERTURBATION, Method, cell_key_count, perturbation
from app.stats.periods import Period, last_ended_quarter, quarter_index
from app.stats.tables import COMMITTEE_ROW, MeetingFact, build_cube, publish, relations
from tests.stats.differencing import subtraction_leaks

LAST = quarter_index(dt.date(2026, 9, 30))
FIRST = quarter_index(dt.date(2025, 7, 1))

case = st.fixed_dictionaries(
    {
        "unit": st.sampled_from(["unit-a", "unit-b", "unit-c"]),
        "intervention": st.sampled_from(["komet", "krisstod", "anhorigstod", "repulse"]),
        "opened": st.integers(FIRST, LAST),
        "duration": st.one_of(st.none(), st.integers(0, 3)),
        "gender": st.sampled_from(GENDERS),
        "age_band": st.sampled_from(AGE_BANDS),
        "informed": st.booleans(),
        "reason": st.sampled_from(CLOSING_REASONS),
        "early": st.sampled_from(EARLY_TERMINATION_REASONS),
        "wellbeing": st.sampled_from(WELLBEING_CHANGES),
        "satisfaction": st.sampled_from(SATISFACTION),
        "sessions": st.sampled_from(SESSIONS_USED),
        "key": st.integers(0, 255),
    }
)
meeting = st.fixed_dictionaries(
    {
        "unit": st.sampled_from(["unit-a", "unit-b"]),
        "intervention": st.sampled_from(["komet", "anhorigstod"]),
        "quarter": st.integers(FIRST, LAST),
        "female": st.integers(0, 12),
        "male": st.integers(0, 12),
        "young": st.integers(0, 3),
        "key": st.integers(0, 255),
    }
)


def counts_of(cases: list[dict]) -> list[FollowUpCount]:
    """What `app.cases.follow_up` answers for these cases (one count per case: the sums are the test)."""
    out = []
    for c in cases:
        started = (("gender", c["gender"]), ("age_band", c["age_band"]), ("informed", "yes" if c["informed"] else "no"))
        out.append(FollowUpCount("started", c["unit"], c["intervention"], c["opened"], started, 1, c["key"]))
        if c["duration"] is not None and c["opened"] + c["duration"] <= LAST:
            closed_q = c["opened"] + c["duration"]
            early = c["early"] if c["reason"] == "ended_early" else ""
            for categories in (
                (("reason", c["reason"]), ("early_termination_reason", early)),
                (("wellbeing_change", c["wellbeing"]),),
                (("satisfaction", c["satisfaction"]),),
                (("sessions_used", c["sessions"]),),
            ):
                out.append(FollowUpCount("closed", c["unit"], c["intervention"], closed_q, categories, 1, c["key"]))
    return out


def meetings_of(meetings: list[dict]) -> list[MeetingFact]:
    return [
        MeetingFact(
            m["unit"],
            m["intervention"],
            m["quarter"],
            {"female": m["female"] + 1, "male": m["male"]},
            {"13-17": m["young"]},
            m["key"],
        )
        for m in meetings
    ]


def raw_totals(cases: list[dict], period: Period) -> dict[str, int]:
    """The committee's started, closed and ongoing, counted straight from the generated records."""
    quarters = set(period.quarter_indices)
    end = max(quarters)
    closed_q = [c["opened"] + c["duration"] if c["duration"] is not None else None for c in cases]
    return {
        "started": sum(c["opened"] in quarters for c in cases),
        "closed": sum(q is not None and q in quarters and q <= LAST for q in closed_q),
        "ongoing": sum(
            c["opened"] <= end and (q is None or q > end or q > LAST) for c, q in zip(cases, closed_q, strict=True)
        ),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases=st.lists(case, max_size=120), meetings=st.lists(meeting, max_size=20), threshold=st.integers(3, 6))
def test_suppression_totals_agree_nothing_small_and_no_subtraction_uncovers_a_hidden_count(cases, meetings, threshold):
    cube = build_cube(counts_of(cases), meetings_of(meetings), last_quarter=LAST)
    published = publish(cube, Method.suppression, threshold)
    for period in cube.periods:
        raw = raw_totals(cases, period)
        for var, n in raw.items():
            assert cube.value((str(period), COMMITTEE_ROW, var)) == n
            shown = published.get(_canonical(str(period), var), 0)
            assert shown is None or shown == n  # published counts are the records' counts
    assert all(v is None or v == 0 or v >= threshold for v in published.values())
    assert subtraction_leaks(published, relations(cube), threshold) == []
    assert publish(cube, Method.suppression, threshold) == published  # the same question, the same answer


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases=st.lists(case, max_size=120), meetings=st.lists(meeting, max_size=20), threshold=st.integers(3, 5))
def test_cell_key_within_bounds_nothing_small_and_no_subtraction_uncovers_a_hidden_count(cases, meetings, threshold):
    cube = build_cube(counts_of(cases), meetings_of(meetings), last_quarter=LAST)
    published = publish(cube, Method.cell_key, threshold)
    for cell, n in cube.values.items():
        shown = published[cell]
        assert shown is None or abs(shown - n) <= MAX_PERTURBATION or cell[2] == "groups.meetings"
    assert all(v is None or v == 0 or v >= threshold for v in published.values())
    leaks = subtraction_leaks(published, relations(cube), threshold, noise=MAX_PERTURBATION)
    assert leaks == []
    assert publish(cube, Method.cell_key, threshold) == published


def _canonical(period: str, var: str) -> tuple[str, str, str]:
    if var == "ongoing" and len(period) == 4:
        return (f"{period}Q4", COMMITTEE_ROW, var)
    return (period, COMMITTEE_ROW, var)


def test_cell_key_perturbation_is_bounded_symmetric_and_keyed():
    noises = [perturbation(k) for k in range(256)]
    assert set(noises) == {-2, -1, 0, 1, 2}
    assert sum(noises) == 0
    assert [perturbation(k) for k in range(256)] == noises  # fixed: asking again changes nothing
    assert cell_key_count(0, 17, 5) == 0
    assert all(cell_key_count(n, k, 5) is None for n in range(1, 5) for k in range(256))
    assert all(cell_key_count(n, k, 5) in (None, *range(5, 13)) for n in range(5, 11) for k in range(256))


def test_periods_are_calendar_quarters_and_years_once_ended():
    assert str(Period.parse("2026Q1")) == "2026Q1" and Period.parse("2026").is_year
    assert Period.parse("2026Q1").last_day == dt.date(2026, 3, 31)
    assert Period.parse("2024").last_day == dt.date(2024, 12, 31)
    assert not Period.parse("2026Q4").ended_by(dt.date(2026, 12, 1))
    assert Period.parse("2026Q3").ended_by(dt.date(2026, 10, 1))
    assert Period.of_index(last_ended_quarter(dt.date(2026, 1, 15))) == Period(2025, 4)
    for bad in ("2026Q5", "26Q1", "2026-01", "2026q1", "", "0000"):
        try:
            Period.parse(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
