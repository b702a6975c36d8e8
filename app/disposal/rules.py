"""Disposal (gallring) rules: when a file is due, by when it must be done, and what happens to it.

Pure: no I/O, no framework, no clock. Each rule names its paragraph. SoL = socialtjänstlagen
(2025:400), SoF = socialtjänstförordningen (2025:468).

The unit of disposal is the person's file (personakt) at the committee: every identified case
registered on the person (a parent-targeted case is registered on the child, so it is in the
child's file), with its notes, plans, sessions and coded entries, whichever unit wrote them.
Records of exempted interventions (SoL 14:4, 14:5) hold no identity, are no personakt in a
register, and follow the committee's records plan instead.

`due_on` is the first day the file may be disposed of; `deadline_on` the last day by which it
must have been. `due_on` None means "not due": never (action `keep`), or not yet, while a case of
the file is still open (the register data of an ongoing intervention stays, and a file is not
disposed of while the person's register data remains, SoL 16:1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from app.kit.personnummer import InvalidIdentityNumber, parse_identity_number

__all__ = [
    "PERSON_FILE_YEARS",
    "PRIVATE_FILE_YEARS",
    "RECORDS_PLAN_YEARS_MAX",
    "RECORDS_PLAN_YEARS_MIN",
    "RESEARCH_BIRTH_DAYS",
    "CaseActivity",
    "CommitteeDisposalPolicy",
    "DisposalAction",
    "FileCategory",
    "ProviderKind",
    "ResearchExemption",
    "RetentionBasis",
    "Verdict",
    "add_years",
    "deadline_for",
    "exempted_record_verdict",
    "file_last_entry_on",
    "file_provider",
    "in_research_sample",
    "is_due",
    "last_entry_in_file",
    "number_birth_day",
    "person_file_verdict",
]

PERSON_FILE_YEARS: Final = 5  # SoL 16:1
PRIVATE_FILE_YEARS: Final = 2  # SoL 17:2
RESEARCH_BIRTH_DAYS: Final = frozenset({5, 15, 25})  # SoF 13:1
RECORDS_PLAN_YEARS_MIN: Final = 1  # a records plan's retention of exempted records, in years
RECORDS_PLAN_YEARS_MAX: Final = 100


class ResearchExemption(StrEnum):
    """Which files a committee keeps for research instead of destroying (SoL 16:4, SoF 13:1)."""

    ALL = "all"  # Östergötlands, Gotlands and Västernorrlands län, Göteborgs kommun: nothing destroyed
    BIRTHDAYS_5_15_25 = "birthdays_5_15_25"  # elsewhere: persons born on the 5th, 15th, 25th
    NONE = "none"  # no research sample (SoF 13:1 gives every municipality at least the birthdays)


class ProviderKind(StrEnum):
    MUNICIPAL = "municipal"  # the committee's own file: SoL 16 kap.
    PRIVATE = "private"  # a private provider's file: SoL 17 kap.


class DisposalAction(StrEnum):
    DESTROY = "destroy"  # gallring: the records are removed for good
    ARCHIVE_TRANSFER = "archive_transfer"  # avställning: the records leave for the archive, never destroyed
    KEEP = "keep"  # never disposed of (or, for a records plan, kept until the plan says otherwise)


class RetentionBasis(StrEnum):
    """The paragraph (or plan) that sets the file's dates."""

    SOL_16_1 = "sol_16_1"  # a personakt in the committee's register
    SOL_16_2 = "sol_16_2"  # a category never disposed of
    SOL_17_2 = "sol_17_2"  # a private provider's personakt
    RECORDS_PLAN = "records_plan"  # exempted records (SoL 14:4, 14:5): the committee's records plan


class FileCategory(StrEnum):
    """What a file is about. Only `ordinary` occurs in IUB today; the others are never disposed
    of (SoL 16:2) and exist so that the engine knows them."""

    ORDINARY = "ordinary"
    PARENTHOOD = "parenthood"  # faderskap / föräldraskap
    ADOPTION = "adoption"
    CHILD_PLACEMENT = "child_placement"  # placering av barn


@dataclass(frozen=True, slots=True)
class Verdict:
    basis: RetentionBasis
    due_on: dt.date | None  # None: not due (never, or not while a case of the file is open)
    deadline_on: dt.date | None  # 31 December of the year after due_on
    action: DisposalAction
    rule: str  # a stable code for counts and certificates, e.g. "sol_16_4_research_all"


# --- dates ----------------------------------------------------------------------------------


# Lag (1930:173) om beräkning av lagstadgad tid, 1 §: a period counted in years ends on the day
# with the same number in the final month; where the final month has no such day, on its last
# day. So 29 February + 5 years is 28 February (never 1 March) when that year is not a leap year.
def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)


# SoL 16:1 (and 17:2): the disposal must be finished by the end of the calendar year after the
# year in which it became due. (Lag 1930:173 2 § would move a deadline on nyårsafton to the next
# weekday; the service keeps 31 December, the stricter day.)
def deadline_for(due_on: dt.date) -> dt.date:
    return dt.date(due_on.year + 1, 12, 31)


# SoL 16:1: the period runs from the last entry in the file, so any entry anywhere in the file
# (a case opened or closed, a note, a plan version, a session, a coded entry, in any of the
# person's cases, a parent-targeted case included) moves it.
def last_entry_in_file(entry_dates: Iterable[dt.date | None]) -> dt.date:
    found = [d for d in entry_dates if d is not None]
    if not found:
        raise ValueError("a file has at least one entry (its first case's opening)")
    return max(found)


@dataclass(frozen=True, slots=True)
class CaseActivity:
    """One case of a file as the file's date needs it: its last entry, and whether it is open."""

    last_entry_on: dt.date
    open: bool


# SoL 16:1: the file is not disposed of while the person's register data remains, and register
# data goes five years after the circumstances ended: an open case (an ongoing intervention)
# keeps the whole file. None while any case is open; else the last entry across all cases.
def file_last_entry_on(cases: Iterable[CaseActivity]) -> dt.date | None:
    items = list(cases)
    if any(c.open for c in items):
        return None
    return last_entry_in_file(c.last_entry_on for c in items)


# SoL 17:2 shortens the period to two years only for a private provider's file. A file that a
# municipal unit wrote to is also the committee's register data, which keeps the whole file
# (SoL 16:1): the file is private only when every case of it is at a private unit.
def file_provider(case_providers: Iterable[ProviderKind]) -> ProviderKind:
    kinds = set(case_providers)
    if not kinds:
        raise ValueError("a file has at least one case")
    return ProviderKind.PRIVATE if kinds == {ProviderKind.PRIVATE} else ProviderKind.MUNICIPAL


# --- the research sample --------------------------------------------------------------------


def number_birth_day(personnummer: str) -> int:
    """The day of the month in the number (12 digits). For a samordningsnummer, the day minus 60
    (lag 2022:1697, 2 kap. 8 §). It is the number's day: for some people Skatteverket assigned a
    nearby day, and the sample follows the number, not the real birthday."""
    if len(personnummer) != 12 or not personnummer.isdigit():
        raise InvalidIdentityNumber("the disposal rules need the 12-digit stored form")
    # The 12-digit form has its century; dt.date.max only disables the "not in the future" check.
    return parse_identity_number(personnummer, today=dt.date.max).birth_date.day


# SoL 16:4 with SoF 13:1: which files are kept for research.
def in_research_sample(personnummer: str, exemption: ResearchExemption) -> bool:
    if exemption is ResearchExemption.ALL:
        return True
    if exemption is ResearchExemption.BIRTHDAYS_5_15_25:
        return number_birth_day(personnummer) in RESEARCH_BIRTH_DAYS
    return False


# --- verdicts -------------------------------------------------------------------------------


def person_file_verdict(
    *,
    last_entry_on: dt.date | None,
    personnummer: str,
    exemption: ResearchExemption,
    provider: ProviderKind,
    category: FileCategory = FileCategory.ORDINARY,
) -> Verdict:
    """The verdict on a person's file. `last_entry_on` None: a case of the file is still open."""
    sampled = in_research_sample(personnummer, exemption)
    never = category is not FileCategory.ORDINARY

    if provider is ProviderKind.PRIVATE:
        # SoL 17:2-5: a private provider's file is due two years after the last entry; files of
        # the never-disposed categories and the research sample are handed over to the committee
        # instead of being destroyed; the committee keeps them for research in its
        # archive (archive transfer), the rest are destroyed.
        due = None if last_entry_on is None else add_years(last_entry_on, PRIVATE_FILE_YEARS)
        if sampled or never:
            return _verdict(RetentionBasis.SOL_17_2, due, DisposalAction.ARCHIVE_TRANSFER, "sol_17_2_private_handover")
        return _verdict(RetentionBasis.SOL_17_2, due, DisposalAction.DESTROY, "sol_17_2_private")

    if never:
        # SoL 16:2: paternity/parenthood, adoption and child placement files are never disposed of.
        return Verdict(RetentionBasis.SOL_16_2, None, None, DisposalAction.KEEP, "sol_16_2_never")

    # SoL 16:1: five years after the last entry in the file.
    due = None if last_entry_on is None else add_years(last_entry_on, PERSON_FILE_YEARS)
    if exemption is ResearchExemption.ALL:
        # SoL 16:4, SoF 13:1: nothing is destroyed; the file leaves the active system for the archive.
        return _verdict(RetentionBasis.SOL_16_1, due, DisposalAction.ARCHIVE_TRANSFER, "sol_16_4_research_all")
    if sampled:
        # SoL 16:4, SoF 13:1: persons born on the 5th, 15th or 25th are kept for research.
        return _verdict(RetentionBasis.SOL_16_1, due, DisposalAction.ARCHIVE_TRANSFER, "sol_16_4_birthday")
    return _verdict(RetentionBasis.SOL_16_1, due, DisposalAction.DESTROY, "sol_16_1_destroy")


# SoL 14:4, 14:5: exempted records hold no identity and are no personakt in a register, so
# 16 kap. does not govern them: the committee's records plan does. No retention set: kept.
def exempted_record_verdict(*, last_entry_on: dt.date | None, retention_years: int | None) -> Verdict:
    if retention_years is None:
        return Verdict(RetentionBasis.RECORDS_PLAN, None, None, DisposalAction.KEEP, "records_plan_keep")
    due = None if last_entry_on is None else add_years(last_entry_on, retention_years)
    return _verdict(RetentionBasis.RECORDS_PLAN, due, DisposalAction.DESTROY, "records_plan")


def is_due(verdict: Verdict, as_of: dt.date) -> bool:
    """True from the due date on, for every action but `keep`."""
    return verdict.action is not DisposalAction.KEEP and verdict.due_on is not None and verdict.due_on <= as_of


def _verdict(basis: RetentionBasis, due: dt.date | None, action: DisposalAction, rule: str) -> Verdict:
    return Verdict(basis, due, None if due is None else deadline_for(due), action, rule)


# --- a committee's configuration ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommitteeDisposalPolicy:
    """What the rules read from a committee's configuration (`app.disposal.policy.load_policies`).

    Defaults: nothing is destroyed until the committee says otherwise (`all`; a destroyed file
    cannot come back, a transferred one can still be weeded in the archive), exempted records are
    kept (no records plan retention), and every unit is municipal.
    """

    exemption: ResearchExemption = ResearchExemption.ALL
    retention_years: int | None = None  # the records plan's, for exempted records
    providers: Mapping[str, ProviderKind] = field(default_factory=dict)  # unit id -> kind; absent: municipal

    def provider(self, unit: str) -> ProviderKind:
        return self.providers.get(unit, ProviderKind.MUNICIPAL)

    def file_provider(self, units: Iterable[str]) -> ProviderKind:
        """The provider kind of a file whose cases are at these units."""
        return file_provider(self.provider(u) for u in units)

    def person_file(
        self,
        *,
        units: Iterable[str],
        last_entry_on: dt.date | None,
        personnummer: str,
        category: FileCategory = FileCategory.ORDINARY,
    ) -> Verdict:
        return person_file_verdict(
            last_entry_on=last_entry_on,
            personnummer=personnummer,
            exemption=self.exemption,
            provider=self.file_provider(units),
            category=category,
        )

    def exempted_record(self, *, last_entry_on: dt.date | None) -> Verdict:
        return exempted_record_verdict(last_entry_on=last_entry_on, retention_years=self.retention_years)
