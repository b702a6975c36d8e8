"""The case rules as pure functions: identity, the status machine, the session cap, ages.

No I/O, no framework. Each legal rule names its paragraph.

Status machine (the unit's process, seed 004: three steps or all five):

- three steps: registered → in_progress → closed
- five steps:  registered → planned → in_progress → followed_up → closed

What each entry does to the status:

| entry                                   | three steps             | five steps                                |
|-----------------------------------------|-------------------------|-------------------------------------------|
| plan set, note `planning`               | unchanged               | registered → planned; later: unchanged    |
| session, note `execution`               | registered → in_progress| registered/planned/followed_up → in_progress |
| note `follow_up`                        | unchanged               | in_progress → followed_up; before the     |
|                                         |                         | carrying-out started: 409 illegal-transition |
| note `event`, note `closing`            | unchanged               | unchanged                                 |
| close                                   | any open → closed       | any open → closed (ending early may come  |
|                                         |                         | before anything was carried out)          |

A status never moves back, except that a session after a follow-up resumes the carrying-out
(followed_up → in_progress). Anything on a closed case is 409 case-closed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from enum import StrEnum
from typing import Final

from app.catalog.domain import DocumentationRule, SubjectRule
from app.journal.port import EntryKind
from app.kit.personnummer import age_on


class CaseStatus(StrEnum):
    registered = "registered"
    planned = "planned"  # five steps only
    in_progress = "in_progress"
    followed_up = "followed_up"  # five steps only
    closed = "closed"


class Identity(StrEnum):
    identified = "identified"
    anonymous = "anonymous"


class RegisteredOn(StrEnum):
    """On whose personnummer an identified case is registered (seed 004)."""

    subject = "subject"
    child = "child"


class JournalSync(StrEnum):
    pending = "pending"  # events wait in the outbox
    delivered = "delivered"  # the journal system has everything written so far
    failed = "failed"  # an event was dead-lettered: operations must look (GET /v1/outbox)
    not_applicable = "not_applicable"  # an exempted case never leaves the service


class Step(StrEnum):
    """What an entry asks of the status machine."""

    plan = "plan"
    carry_out = "carry_out"  # a session or an execution note
    follow_up = "follow_up"
    other = "other"
    close = "close"


PROCESS_STEPS: Final = (3, 5)


class EarlyTerminationReason(StrEnum):
    """Orsak till avbrott i förtid (seeds 002, 003: always documented, also under an exemption).

    Codes, so that the unit-level follow-up can count them; free text goes in the note.
    """

    moved = "moved"
    declined_to_continue = "declined_to_continue"
    referred_to_needs_assessed = "referred_to_needs_assessed"
    no_show = "no_show"
    other = "other"


EARLY_TERMINATION_LABELS: Final = {
    EarlyTerminationReason.moved: "Flyttat",
    EarlyTerminationReason.declined_to_continue: "Vill inte fortsätta",
    EarlyTerminationReason.referred_to_needs_assessed: "Hänvisad till behovsprövad insats",
    EarlyTerminationReason.no_show: "Uteblivit",
    EarlyTerminationReason.other: "Annan orsak",
}


class CodedEntry(StrEnum):
    """Coded entries on a case (seed 004): what the provider did beyond the intervention itself."""

    # The duty to report concern for a child to the social committee (anmälningsskyldighet).
    concern_reported = "concern_reported"
    # The provider helped the person towards a needs-assessed intervention (the bridge, seed 001).
    referred_to_needs_assessed = "referred_to_needs_assessed"


CODED_ENTRY_TEXTS: Final = {
    CodedEntry.concern_reported: "Orosanmälan om barn har gjorts till socialnämnden (anmälningsskyldighet).",
    CodedEntry.referred_to_needs_assessed: (
        "Den enskilde har fått hjälp att komma i kontakt med socialtjänsten för att ansöka om behovsprövad insats."
    ),
}


class CaseClosed(Exception):
    """The case is closed: it takes no entries."""


class IllegalTransition(Exception):
    """The entry does not fit the case's place in the process. Message: no values, only statuses."""


class SessionCapReached(Exception):
    """The committee capped the sessions (villkor); more needs a needs-assessed decision."""


# SoL 14:3 documents who the person is; SoL 14:4 and 14:5 exempt identity.
def identity_for(rule: DocumentationRule) -> Identity:
    return Identity.identified if rule.keeps_identity else Identity.anonymous


def registered_on(rule: DocumentationRule, subject_rule: SubjectRule) -> RegisteredOn | None:
    """Seed 004: a parent-targeted case is registered on the child's personnummer."""
    if not rule.keeps_identity:
        return None
    return RegisteredOn.child if subject_rule is SubjectRule.child else RegisteredOn.subject


def journal_sync_for(identity: Identity) -> JournalSync:
    # Only identified records go to the journal system (SoL 14:3); exempted ones never leave.
    return JournalSync.pending if identity is Identity.identified else JournalSync.not_applicable


def step_of_note(kind: EntryKind) -> Step:
    return {
        EntryKind.planning: Step.plan,
        EntryKind.execution: Step.carry_out,
        EntryKind.follow_up: Step.follow_up,
    }.get(kind, Step.other)


def next_status(current: CaseStatus, step: Step, process_steps: int) -> CaseStatus:
    """The status after an entry (see the module docstring). Raises CaseClosed, IllegalTransition."""
    if process_steps not in PROCESS_STEPS:
        raise ValueError("process_steps must be 3 or 5")
    if current is CaseStatus.closed:
        raise CaseClosed
    if step is Step.close:
        return CaseStatus.closed
    if step is Step.carry_out:
        return CaseStatus.in_progress
    if process_steps == 3 or step is Step.other:
        return current
    if step is Step.plan:
        return CaseStatus.planned if current is CaseStatus.registered else current
    # Step.follow_up in five steps: only once the carrying-out has started.
    if current in (CaseStatus.registered, CaseStatus.planned):
        raise IllegalTransition(f"a follow-up cannot be documented while the case is {current.value}")
    return CaseStatus.followed_up


def check_session_cap(sessions_so_far: int, max_sessions: int | None, earlier: int = 0) -> int:
    """The number of the next session in this case; raises SessionCapReached past the committee's cap.

    `earlier` counts the person's sessions of the same intervention in their other cases within
    the window (`cap_window_start`): a new case does not restart the cap.
    """
    number = sessions_so_far + 1
    if max_sessions is not None and earlier + number > max_sessions:
        raise SessionCapReached
    return number


def cap_window_start(on: dt.date, months: int) -> dt.date:
    """The first day of the window of `months` months that ends on `on` (cases opened on or after it count)."""
    month_index = on.year * 12 + on.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    # The same day of the month, or the month's last day when it has fewer days (31 March - 1 month).
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return dt.date(year, month, min(on.day, last_day))


# --- the participant, de-identified (seeds 002/003: age and gender are still documented) -------

_CODE_ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
_CODE_LENGTH: Final = 8


def new_participant_code() -> str:
    """A random code linking an anonymous case's entries without identity (never derived from one)."""
    return "IUB-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))


def age_from_birth_year(birth_year: int, on: dt.date) -> int:
    """The age reached during the year of `on` (the statistics convention: a birth year only)."""
    if birth_year > on.year:
        raise ValueError("the birth year is after the date")
    return on.year - birth_year


def age_from_birth_date(birth_date: dt.date, on: dt.date) -> int:
    return age_on(birth_date, on)


_BANDS: Final = ((0, 12), (13, 17), (18, 20), (21, 29), (30, 49), (50, 64), (65, 79), (80, 130))


def age_band(age: int | None) -> str | None:
    """A band for unit-level follow-up, e.g. "18-20"; the bands follow the catalog's age limits."""
    if age is None:
        return None
    for low, high in _BANDS:
        if low <= age <= high:
            return f"{low}-{high}"
    return None
