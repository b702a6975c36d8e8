"""Retention of case records: a case's last entry (the rules are tested in test_disposal_rules)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.cases.retention import last_entry_on

D = dt.date


def test_last_entry_is_the_latest_of_all_entry_dates():
    assert last_entry_on([D(2026, 9, 1), None, D(2026, 10, 3), D(2026, 9, 20)]) == D(2026, 10, 3)
    with pytest.raises(ValueError):
        last_entry_on([None])
