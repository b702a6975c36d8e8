"""The problem types of group meetings and statistics. Never echo values."""

from __future__ import annotations

from app.core.errors import problem_type

PERIOD_NOT_ENDED = problem_type(
    "period-not-ended",
    422,
    "The period has not ended",
    "Statistics answer calendar quarters and years once they have ended: a running period changes from day "
    "to day, and two answers a day apart would tell who came in between.",
)
COMMITTEE_NOT_PERMITTED = problem_type(
    "committee-not-permitted",
    403,
    "Another committee's statistics",
    "A token answers for one committee (its `committee` claim); each committee is its own controller of its follow-up.",
)
NOT_A_GROUP_INTERVENTION = problem_type(
    "not-a-group-intervention",
    422,
    "The intervention is not given in groups",
    "Group meetings are recorded for interventions the committee offers as group support (delivery form "
    "`group` or `individual_or_group`) on the meeting's date.",
)
