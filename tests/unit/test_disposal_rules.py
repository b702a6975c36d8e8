"""Disposal rules (SoL 16 kap. 1-4 §§, 17 kap. 2-5 §§, SoF 13 kap. 1 §): pure, no database.

Personnummer are Skatteverket's official test numbers (read from the shared list) and the two
official test samordningsnummer. Other samordningsnummer are derived at run time from official
test numbers of the 1890s (day plus 60, check digit recomputed); none is written here.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.disposal.rules import (
    CaseActivity,
    CommitteeDisposalPolicy,
    DisposalAction,
    FileCategory,
    ProviderKind,
    ResearchExemption,
    RetentionBasis,
    add_years,
    deadline_for,
    exempted_record_verdict,
    file_last_entry_on,
    file_provider,
    in_research_sample,
    is_due,
    last_entry_in_file,
    number_birth_day,
    person_file_verdict,
)
from app.kit.personnummer import InvalidIdentityNumber

D = dt.date
OFFICIAL_LIST = Path(__file__).resolve().parents[2].parent / "shared" / "domain" / "test-personnummer.txt"
OFFICIAL_SAMORDNINGSNUMMER = ("191401682396", "191403702390")  # days 08 and 10
PNR_DAY_2 = "198112022382"  # Skatteverket's test numbers
dates = st.dates(min_value=D(1990, 1, 1), max_value=D(2200, 12, 31))
leap_days = (
    st.integers(min_value=1992, max_value=2196).filter(lambda y: y % 4 == 0 and y % 100 != 0).map(lambda y: D(y, 2, 29))
)
entry_dates = dates | leap_days


@cache
def official_numbers() -> tuple[str, ...]:
    if not OFFICIAL_LIST.exists():
        pytest.skip("the shared list of official test personnummer is not beside the repository")
    return tuple(line.strip() for line in OFFICIAL_LIST.read_text(encoding="ascii").splitlines() if line.strip())


def luhn_digit(nine: str) -> str:
    total = 0
    for i, ch in enumerate(nine):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return str((10 - total % 10) % 10)


def as_samordningsnummer(personnummer: str) -> str:
    """The same digits with 60 added to the day and the check digit recomputed."""
    eleven = f"{personnummer[:6]}{int(personnummer[6:8]) + 60:02d}{personnummer[8:11]}"
    return eleven + luhn_digit(eleven[2:])


def verdict(last: dt.date | None, pnr: str = PNR_DAY_2, **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "last_entry_on": last,
        "personnummer": pnr,
        "exemption": ResearchExemption.NONE,
        "provider": ProviderKind.MUNICIPAL,
    }
    args.update(kw)
    return person_file_verdict(**args)  # type: ignore[arg-type]


# --- SoL 16:1: five years after the last entry, done by 31 December of the following year --------


@given(entry_dates)
@example(D(2028, 2, 29))
@example(D(2026, 12, 31))
def test_sol_16_1_file_due_five_years_after_last_entry(last: dt.date) -> None:
    v = verdict(last)
    assert v.basis is RetentionBasis.SOL_16_1
    assert v.due_on is not None
    assert v.due_on.year == last.year + 5
    if (last.month, last.day) == (2, 29) and v.due_on.year % 4 != 0:
        # Lag (1930:173) 1 §: no 29 February in the final year, so its month's last day.
        assert (v.due_on.month, v.due_on.day) == (2, 28)
    else:
        assert (v.due_on.month, v.due_on.day) == (last.month, last.day)
    # Never a day early: five full years have passed.
    assert v.due_on > last
    assert v.due_on - last >= dt.timedelta(days=5 * 365)


@given(entry_dates)
def test_sol_16_1_deadline_is_31_december_of_the_year_after_due(last: dt.date) -> None:
    v = verdict(last)
    assert v.due_on is not None
    assert v.deadline_on == D(v.due_on.year + 1, 12, 31)
    assert v.deadline_on == deadline_for(v.due_on)
    assert v.deadline_on > v.due_on


def test_sol_16_1_leap_day_plus_five_years_is_28_february() -> None:
    assert add_years(D(2028, 2, 29), 5) == D(2033, 2, 28)
    assert add_years(D(2028, 2, 29), 4) == D(2032, 2, 29)  # a leap year keeps the 29th
    assert verdict(D(2028, 2, 29)).due_on == D(2033, 2, 28)
    assert verdict(D(2028, 2, 29)).deadline_on == D(2034, 12, 31)


@given(entry_dates, st.sampled_from(ResearchExemption), st.sampled_from(ProviderKind))
def test_is_due_from_the_due_date_on(last: dt.date, exemption: ResearchExemption, provider: ProviderKind) -> None:
    v = verdict(last, exemption=exemption, provider=provider)
    assert v.due_on is not None
    assert not is_due(v, v.due_on - dt.timedelta(days=1))
    assert is_due(v, v.due_on)
    assert is_due(v, v.deadline_on or v.due_on)


# --- SoL 16:1: the last entry anywhere in the file moves the date ------------------------------


@st.composite
def person_files(draw: st.DrawFn) -> list[list[dt.date]]:
    """A person's file: one or more cases (a parent-targeted case is registered on the child, so
    it is one of these), each with its entries' dates (opening, notes, plan versions, sessions,
    coded entries, closing)."""
    return draw(st.lists(st.lists(entry_dates, min_size=1, max_size=8), min_size=1, max_size=5))


@given(person_files(), entry_dates, st.data())
def test_sol_16_1_new_entry_anywhere_in_the_file_moves_the_date(
    cases: list[list[dt.date]], new_entry: dt.date, data: st.DataObject
) -> None:
    before = last_entry_in_file(d for case in cases for d in case)
    assert before == max(max(case) for case in cases)
    where = data.draw(st.integers(0, len(cases) - 1))  # any case of the file
    cases[where].append(new_entry)
    after = last_entry_in_file(d for case in cases for d in case)
    assert after == max(before, new_entry)
    due_before, due_after = verdict(before).due_on, verdict(after).due_on
    assert due_before is not None and due_after is not None
    assert (due_after > due_before) == (new_entry > before)
    assert due_after >= due_before


@given(st.lists(st.tuples(entry_dates, st.booleans()), min_size=1, max_size=6))
def test_sol_16_1_open_case_keeps_the_whole_file(cases: list[tuple[dt.date, bool]]) -> None:
    # A file is not disposed of while the person's register data remains (an ongoing intervention).
    activity = [CaseActivity(last_entry_on=d, open=o) for d, o in cases]
    last = file_last_entry_on(activity)
    if any(o for _, o in cases):
        assert last is None
        v = verdict(last)
        assert v.due_on is None and v.deadline_on is None
        assert not is_due(v, D(9999, 12, 31))
    else:
        assert last == max(d for d, _ in cases)


def test_a_file_has_at_least_one_entry() -> None:
    with pytest.raises(ValueError):
        last_entry_in_file([None])


# --- SoL 16:4, SoF 13:1: the research exemption --------------------------------------------------


@given(st.data())
def test_sof_13_1_birthday_rule_matches_the_numbers_day(data: st.DataObject) -> None:
    pnr = data.draw(st.sampled_from(official_numbers()))
    day = int(pnr[6:8])
    assert number_birth_day(pnr) == day
    kept = day in {5, 15, 25}
    assert in_research_sample(pnr, ResearchExemption.BIRTHDAYS_5_15_25) is kept
    v = verdict(D(2026, 9, 1), pnr, exemption=ResearchExemption.BIRTHDAYS_5_15_25)
    if kept:
        assert (v.action, v.rule) == (DisposalAction.ARCHIVE_TRANSFER, "sol_16_4_birthday")
    else:
        assert (v.action, v.rule) == (DisposalAction.DESTROY, "sol_16_1_destroy")


@given(st.data())
def test_sof_13_1_samordningsnummer_day_is_the_numbers_day_minus_60(data: st.DataObject) -> None:
    # Derived from official test numbers of the 1890s (nobody alive was given these).
    base = data.draw(st.sampled_from([n for n in official_numbers() if n.startswith("189")]))
    samordningsnummer = as_samordningsnummer(base)
    day = int(base[6:8])
    assert int(samordningsnummer[6:8]) == day + 60
    assert number_birth_day(samordningsnummer) == day
    assert in_research_sample(samordningsnummer, ResearchExemption.BIRTHDAYS_5_15_25) is (day in {5, 15, 25})


@pytest.mark.parametrize(("number", "day"), [(OFFICIAL_SAMORDNINGSNUMMER[0], 8), (OFFICIAL_SAMORDNINGSNUMMER[1], 10)])
def test_sof_13_1_official_samordningsnummer(number: str, day: int) -> None:
    assert number_birth_day(number) == day
    assert not in_research_sample(number, ResearchExemption.BIRTHDAYS_5_15_25)


def test_sof_13_1_samordningsnummer_on_the_5th_is_kept() -> None:
    on_the_5th = next(n for n in official_numbers() if n.startswith("1890") and n[6:8] == "05")
    assert in_research_sample(as_samordningsnummer(on_the_5th), ResearchExemption.BIRTHDAYS_5_15_25)


@given(entry_dates, st.data())
def test_sol_16_4_all_transfers_every_file_to_the_archive(last: dt.date, data: st.DataObject) -> None:
    # Göteborg and the three counties: nothing is destroyed; the date is not a destruction date.
    pnr = data.draw(st.sampled_from(official_numbers()))
    v = verdict(last, pnr, exemption=ResearchExemption.ALL)
    assert (v.basis, v.action, v.rule) == (
        RetentionBasis.SOL_16_1,
        DisposalAction.ARCHIVE_TRANSFER,
        "sol_16_4_research_all",
    )
    assert v.due_on == add_years(last, 5)


@given(entry_dates, st.data())
def test_sol_16_4_none_destroys(last: dt.date, data: st.DataObject) -> None:
    pnr = data.draw(st.sampled_from(official_numbers()))
    v = verdict(last, pnr, exemption=ResearchExemption.NONE)
    assert (v.action, v.rule) == (DisposalAction.DESTROY, "sol_16_1_destroy")


def test_the_rules_need_the_twelve_digit_form() -> None:
    with pytest.raises(InvalidIdentityNumber):
        number_birth_day("8112022382")


# --- SoL 16:2: never disposed --------------------------------------------------------------------


@pytest.mark.parametrize("category", [c for c in FileCategory if c is not FileCategory.ORDINARY])
@pytest.mark.parametrize("exemption", list(ResearchExemption))
def test_sol_16_2_never_disposed_categories_are_kept(category: FileCategory, exemption: ResearchExemption) -> None:
    v = verdict(D(2026, 1, 1), exemption=exemption, category=category)
    assert (v.basis, v.due_on, v.deadline_on, v.action, v.rule) == (
        RetentionBasis.SOL_16_2,
        None,
        None,
        DisposalAction.KEEP,
        "sol_16_2_never",
    )
    assert not is_due(v, D(9999, 12, 31))


# --- SoL 17:2-5: private providers ---------------------------------------------------------------


@given(entry_dates, st.data())
def test_sol_17_2_private_file_due_two_years_after_last_entry(last: dt.date, data: st.DataObject) -> None:
    pnr = data.draw(st.sampled_from(official_numbers()))
    exemption = data.draw(st.sampled_from(ResearchExemption))
    v = verdict(last, pnr, exemption=exemption, provider=ProviderKind.PRIVATE)
    assert v.basis is RetentionBasis.SOL_17_2
    assert v.due_on == add_years(last, 2)
    assert v.deadline_on == D(add_years(last, 2).year + 1, 12, 31)
    if in_research_sample(pnr, exemption):
        # The research sample is handed over to the committee instead of being destroyed.
        assert (v.action, v.rule) == (DisposalAction.ARCHIVE_TRANSFER, "sol_17_2_private_handover")
    else:
        assert (v.action, v.rule) == (DisposalAction.DESTROY, "sol_17_2_private")


def test_sol_17_2_private_never_disposed_category_goes_to_the_committee() -> None:
    v = verdict(D(2026, 1, 1), provider=ProviderKind.PRIVATE, category=FileCategory.CHILD_PLACEMENT)
    assert (v.due_on, v.action, v.rule) == (D(2028, 1, 1), DisposalAction.ARCHIVE_TRANSFER, "sol_17_2_private_handover")


@given(st.lists(st.sampled_from(ProviderKind), min_size=1, max_size=6))
def test_sol_17_2_file_is_private_only_when_every_case_is_at_a_private_unit(kinds: list[ProviderKind]) -> None:
    expected = ProviderKind.PRIVATE if all(k is ProviderKind.PRIVATE for k in kinds) else ProviderKind.MUNICIPAL
    assert file_provider(kinds) is expected
    with pytest.raises(ValueError):
        file_provider([])


# --- SoL 14:4, 14:5: exempted records follow the records plan ----------------------------------


@given(entry_dates)
def test_sol_14_exempted_records_kept_without_a_records_plan_retention(last: dt.date) -> None:
    v = exempted_record_verdict(last_entry_on=last, retention_years=None)
    assert (v.basis, v.due_on, v.deadline_on, v.action) == (
        RetentionBasis.RECORDS_PLAN,
        None,
        None,
        DisposalAction.KEEP,
    )


@given(entry_dates, st.integers(min_value=1, max_value=100))
def test_sol_14_exempted_records_follow_the_records_plan(last: dt.date, years: int) -> None:
    v = exempted_record_verdict(last_entry_on=last, retention_years=years)
    assert (v.basis, v.action, v.rule) == (RetentionBasis.RECORDS_PLAN, DisposalAction.DESTROY, "records_plan")
    assert v.due_on == add_years(last, years)
    assert v.deadline_on == D(v.due_on.year + 1, 12, 31)
    assert exempted_record_verdict(last_entry_on=None, retention_years=years).due_on is None


# --- the committee's policy ---------------------------------------------------------------------


def test_policy_defaults_destroy_nothing() -> None:
    policy = CommitteeDisposalPolicy()
    assert policy.exemption is ResearchExemption.ALL
    assert policy.provider("any-unit") is ProviderKind.MUNICIPAL
    verdict = policy.person_file(units=["u"], last_entry_on=D(2026, 1, 1), personnummer=PNR_DAY_2)
    assert verdict.action is DisposalAction.ARCHIVE_TRANSFER
    assert policy.exempted_record(last_entry_on=D(2026, 1, 1)).action is DisposalAction.KEEP


def test_policy_reads_the_units_provider_kind() -> None:
    policy = CommitteeDisposalPolicy(
        ResearchExemption.NONE, retention_years=3, providers={"unit-p": ProviderKind.PRIVATE}
    )
    last = D(2026, 1, 1)
    assert policy.person_file(units=["unit-p"], last_entry_on=last, personnummer=PNR_DAY_2).due_on == D(2028, 1, 1)
    assert policy.person_file(units=["unit-m"], last_entry_on=last, personnummer=PNR_DAY_2).due_on == D(2031, 1, 1)
    both = policy.person_file(units=["unit-p", "unit-m"], last_entry_on=last, personnummer=PNR_DAY_2)
    assert (both.basis, both.due_on) == (RetentionBasis.SOL_16_1, D(2031, 1, 1))
    assert policy.exempted_record(last_entry_on=last).due_on == D(2029, 1, 1)
