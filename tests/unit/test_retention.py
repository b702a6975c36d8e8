"""Retention of case records (SoL 16 kap. 1 §): pure rules."""

from __future__ import annotations

import datetime as dt

import pytest

from app.cases.retention import add_years, disposal_due_on, last_entry_on
from app.catalog.domain import DocumentationRule

D = dt.date


def test_sol_16_1_disposal_due_five_years_after_last_entry():
    assert disposal_due_on(D(2026, 9, 10), DocumentationRule.standard) == D(2031, 9, 10)


def test_sol_16_1_leap_day_moves_to_28_february():
    assert disposal_due_on(D(2028, 2, 29), DocumentationRule.standard) == D(2033, 2, 28)
    assert add_years(D(2028, 2, 29), 4) == D(2032, 2, 29)


@pytest.mark.parametrize("rule", [DocumentationRule.identity_exempt, DocumentationRule.counselling_exempt])
def test_sol_16_1_does_not_govern_exempted_records(rule):
    # No identity, no personakt in a register: the committee's records plan applies instead.
    assert disposal_due_on(D(2026, 9, 10), rule) is None


def test_last_entry_is_the_latest_of_all_entry_dates():
    assert last_entry_on([D(2026, 9, 1), None, D(2026, 10, 3), D(2026, 9, 20)]) == D(2026, 10, 3)
    with pytest.raises(ValueError):
        last_entry_on([None])
