"""The fixed periods the statistics answer: calendar quarters and calendar years. Pure.

Only periods that have ended are answered: a period still running changes from one day to the
next, and two answers a day apart would tell who came in between. The periods are fixed, not
chosen by the caller, so that overlapping ranges cannot be subtracted from each other
("January–June minus January–May").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final

PATTERN: Final = r"^(19|20)[0-9]{2}(Q[1-4])?$"
_PARSE: Final = re.compile(PATTERN)


def quarter_index(day: dt.date) -> int:
    """year * 4 + (quarter - 1): consecutive quarters are consecutive numbers."""
    return day.year * 4 + (day.month - 1) // 3


@dataclass(frozen=True, slots=True, order=True)
class Period:
    year: int
    quarter: int | None = None  # 1-4; None: the whole year

    @classmethod
    def parse(cls, text: str) -> Period:
        if not _PARSE.match(text):
            raise ValueError("a period is a year (2026) or a quarter (2026Q1)")
        return cls(int(text[:4]), int(text[5]) if len(text) > 4 else None)

    @classmethod
    def of_index(cls, index: int) -> Period:
        return cls(index // 4, index % 4 + 1)

    def __str__(self) -> str:
        return f"{self.year}" if self.quarter is None else f"{self.year}Q{self.quarter}"

    @property
    def is_year(self) -> bool:
        return self.quarter is None

    @property
    def quarter_indices(self) -> range:
        """The quarters the period is made of."""
        if self.quarter is None:
            return range(self.year * 4, self.year * 4 + 4)
        index = self.year * 4 + self.quarter - 1
        return range(index, index + 1)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 1 if self.quarter is None else 3 * self.quarter - 2, 1)

    @property
    def last_day(self) -> dt.date:
        month = 12 if self.quarter is None else 3 * self.quarter
        following = dt.date(self.year + (month == 12), month % 12 + 1, 1)
        return following - dt.timedelta(days=1)

    def ended_by(self, today: dt.date) -> bool:
        return self.last_day < today


def last_ended_quarter(today: dt.date) -> int:
    return quarter_index(today) - 1


def quarters_of_year(year: int) -> list[Period]:
    return [Period(year, q) for q in range(1, 5)]
