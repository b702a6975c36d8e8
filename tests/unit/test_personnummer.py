"""Personnummer and samordningsnummer: parsing, ages, finding and masking.

Literal numbers are Skatteverket's official test personnummer and the two test
samordningsnummer; every other number is generated at run time.
"""

from __future__ import annotations

import datetime as dt
import traceback

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.kit.personnummer import (
    IDENTITY_NUMBER_MASK,
    IdentityNumber,
    InvalidIdentityNumber,
    age_on,
    find_identity_numbers,
    identity_number_matches,
    mask_identity_numbers,
    parse_identity_number,
)

TODAY = dt.date(2025, 7, 1)


def luhn_digit(nine: str) -> str:
    """The check digit over YYMMDDNNN (weights 2, 1, 2, ...), written out independently."""
    total = 0
    for i, ch in enumerate(nine):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return str((10 - total % 10) % 10)


def with_check(eleven: str) -> str:
    """YYYYMMDDNNN plus its check digit: 12 digits."""
    return eleven + luhn_digit(eleven[2:])


def number(year: int, month: int, day: int, birth_number: int) -> str:
    """12 digits with a correct check digit, whatever the date."""
    return with_check(f"{year:04d}{month:02d}{day:02d}{birth_number:03d}")


def wrong_check(twelve: str) -> str:
    return twelve[:-1] + str((int(twelve[-1]) + 1) % 10)


# --- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "today", "digits", "birth_date", "coordination"),
    [
        ("198101012386", TODAY, "198101012386", dt.date(1981, 1, 1), False),
        ("19810101-2386", TODAY, "198101012386", dt.date(1981, 1, 1), False),
        ("19810101 2386", TODAY, "198101012386", dt.date(1981, 1, 1), False),
        ("810101-2386", TODAY, "198101012386", dt.date(1981, 1, 1), False),
        ("8101012386", TODAY, "198101012386", dt.date(1981, 1, 1), False),
        ("810101 2386", TODAY, "198101012386", dt.date(1981, 1, 1), False),
        ("  810101-2386\n", TODAY, "198101012386", dt.date(1981, 1, 1), False),
        ("810101\u20132386", TODAY, "198101012386", dt.date(1981, 1, 1), False),  # en dash
        # `+`: 100 or older on `today`.
        ("189001019802", TODAY, "189001019802", dt.date(1890, 1, 1), False),
        ("900101+9802", TODAY, "189001019802", dt.date(1890, 1, 1), False),
        ("991231+9812", TODAY, "189912319812", dt.date(1899, 12, 31), False),
        ("000101-9801", dt.date(1999, 12, 31), "190001019801", dt.date(1900, 1, 1), False),
        ("000101+9801", TODAY, "190001019801", dt.date(1900, 1, 1), False),
        ("250101+9216", TODAY, "192501019216", dt.date(1925, 1, 1), False),
        # `today` decides the century of the short form, to the day.
        ("250101-9216", dt.date(2024, 12, 31), "192501019216", dt.date(1925, 1, 1), False),
        ("231231-2388", dt.date(2023, 12, 31), "202312312388", dt.date(2023, 12, 31), False),
        ("231231-2388", dt.date(2024, 1, 1), "202312312388", dt.date(2023, 12, 31), False),
        # 29 February.
        ("200002292399", TODAY, "200002292399", dt.date(2000, 2, 29), False),
        ("000229-2399", TODAY, "200002292399", dt.date(2000, 2, 29), False),
        ("040229+9812", TODAY, "190402299812", dt.date(1904, 2, 29), False),
        ("960229-2386", TODAY, "199602292386", dt.date(1996, 2, 29), False),
        # Samordningsnummer: day plus 60.
        ("191401682396", TODAY, "191401682396", dt.date(1914, 1, 8), True),
        ("19140168-2396", TODAY, "191401682396", dt.date(1914, 1, 8), True),
        ("140168+2396", TODAY, "191401682396", dt.date(1914, 1, 8), True),
        ("191403702390", TODAY, "191403702390", dt.date(1914, 3, 10), True),
        ("140370+2390", TODAY, "191403702390", dt.date(1914, 3, 10), True),
    ],
)
def test_parse_official_test_numbers(
    value: str, today: dt.date, digits: str, birth_date: dt.date, coordination: bool
) -> None:
    number = parse_identity_number(value, today=today)
    assert number.digits == digits
    assert number.birth_date == birth_date
    assert number.is_coordination_number is coordination
    assert number.formatted() == f"{digits[:8]}-{digits[8:]}"
    assert number.age_on(today) == age_on(birth_date, today)


def test_short_form_century_follows_today_not_the_clock() -> None:
    # Born 1925-01-01 or 2025-01-01 depending on the day the short form is read.
    assert parse_identity_number("250101-9216", today=dt.date(2024, 12, 31)).birth_date.year == 1925
    assert parse_identity_number("250101-9216", today=dt.date(2025, 1, 1)).birth_date.year == 2025
    assert parse_identity_number("250101+9216", today=dt.date(2025, 1, 1)).birth_date.year == 1925


def test_twelve_digit_separator_is_punctuation() -> None:
    assert parse_identity_number("19140168+2396", today=TODAY).digits == "191401682396"


def test_ages_of_official_test_numbers() -> None:
    assert parse_identity_number("198101012386", today=TODAY).age_on(TODAY) == 44
    assert parse_identity_number("191401682396", today=TODAY).age_on(TODAY) == 111
    assert parse_identity_number("202312312388", today=TODAY).age_on(TODAY) == 1


def _rejected_values() -> list[str]:
    valid = "198101012386"
    return [
        wrong_check(valid),
        wrong_check(valid)[2:],
        valid[2:8] + "+" + wrong_check(valid)[8:],
        number(1981, 2, 30, 238),  # 30 February
        number(1981, 13, 1, 238),  # month 13
        number(1981, 1, 0, 238),  # day 0
        number(1981, 1, 32, 238),  # day 32
        number(1981, 1, 60, 238),  # day 60: neither kind
        number(1981, 1, 92, 238),  # samordningsnummer day beyond 91
        number(1981, 2, 29, 238),  # 29 February, not a leap year
        number(1900, 2, 29, 238),  # 1900 was not a leap year
        number(1981, 1, 1, 0),  # birth number 000
        "000229+2399",  # 1900-02-29 does not exist
        "",
        "   ",
        "19810101238",
        "1981010123866",
        "810101238",
        "81010123866",
        "8101-012386",
        "810101--2386",
        "810101 - 2386",
        "19810101_2386",
        "abcdefghijkl",
        "81O101-2386",
        "\u0661\u0669\u0668\u0661\u0660\u0661\u0660\u0661\u0662\u0663\u0668\u0666",  # Arabic-Indic
        "198101012386\n198101012386",
    ]


@pytest.mark.parametrize("value", _rejected_values())
def test_rejects_invalid_values(value: str) -> None:
    with pytest.raises(InvalidIdentityNumber):
        parse_identity_number(value, today=TODAY)


@pytest.mark.parametrize(
    ("value", "today"),
    [
        ("202312312388", dt.date(2023, 12, 30)),
        ("20231231-2388", dt.date(2020, 1, 1)),
        ("200002292399", dt.date(1999, 12, 31)),
    ],
)
def test_rejects_birth_date_after_today(value: str, today: dt.date) -> None:
    with pytest.raises(InvalidIdentityNumber, match="future"):
        parse_identity_number(value, today=today)


def test_rejects_non_text() -> None:
    with pytest.raises(InvalidIdentityNumber):
        parse_identity_number(198101012386, today=TODAY)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", _rejected_values())
def test_error_never_carries_the_value(value: str) -> None:
    with pytest.raises(InvalidIdentityNumber) as caught:
        parse_identity_number(value, today=TODAY)
    error = caught.value
    rendered = "".join(traceback.format_exception(error))
    assert not any(ch.isdigit() for ch in str(error))
    if value.strip():
        assert value.strip() not in rendered
    # Not chained to the library's exception, whose message holds the value.
    assert error.__cause__ is None
    assert error.__context__ is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789+- \u2013abc", max_size=16))
def test_error_message_has_no_digits_for_any_input(value: str) -> None:
    try:
        parse_identity_number(value, today=TODAY)
    except InvalidIdentityNumber as error:
        assert not any(ch.isdigit() for ch in str(error))
        assert error.__context__ is None


def test_identity_number_masks_itself() -> None:
    number = parse_identity_number("198101012386", today=TODAY)
    for shown in (repr(number), str(number), f"{number}", f"{number!r}", repr([number]), repr({"n": number})):
        assert "8101" not in shown
        assert "2386" not in shown
    assert repr(number) == "IdentityNumber(****)"


def test_identity_number_is_frozen() -> None:
    number = parse_identity_number("198101012386", today=TODAY)
    with pytest.raises(AttributeError):
        number.digits = "189001019802"  # type: ignore[misc]
    assert isinstance(number, IdentityNumber)


# --- age ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (dt.date(1981, 1, 1), dt.date(2025, 1, 1), 44),
        (dt.date(1981, 1, 2), dt.date(2025, 1, 1), 43),
        (dt.date(2000, 2, 29), dt.date(2001, 2, 28), 0),  # not yet: turns 1 on 1 March
        (dt.date(2000, 2, 29), dt.date(2001, 3, 1), 1),
        (dt.date(2000, 2, 29), dt.date(2004, 2, 28), 3),
        (dt.date(2000, 2, 29), dt.date(2004, 2, 29), 4),  # leap year: on the day
        (dt.date(1904, 2, 29), dt.date(2005, 3, 1), 101),
        (dt.date(2023, 12, 31), dt.date(2023, 12, 31), 0),
    ],
)
def test_age_on(birth: dt.date, day: dt.date, age: int) -> None:
    assert age_on(birth, day) == age


def test_age_on_before_birth_is_an_error() -> None:
    with pytest.raises(ValueError):
        age_on(dt.date(2000, 1, 2), dt.date(2000, 1, 1))


def _birthday_in(birth: dt.date, year: int) -> dt.date:
    """The day the person gets a year older in `year` (1 March for 29 February, non-leap)."""
    try:
        return birth.replace(year=year)
    except ValueError:
        return dt.date(year, 3, 1)


def _reference_age(birth: dt.date, day: dt.date) -> int:
    """Count birthdays passed: an oracle independent of the tuple comparison."""
    return sum(1 for year in range(birth.year + 1, day.year + 1) if _birthday_in(birth, year) <= day)


# Birth dates across 1890-2023, with the century boundaries and 29 February weighted in.
_SPECIAL_BIRTHS = [
    dt.date(1890, 1, 1),
    dt.date(1899, 12, 31),
    dt.date(1900, 1, 1),
    dt.date(1900, 2, 28),
    dt.date(1900, 3, 1),
    dt.date(1904, 2, 29),
    dt.date(1925, 7, 1),
    dt.date(1996, 2, 29),
    dt.date(1999, 12, 31),
    dt.date(2000, 1, 1),
    dt.date(2000, 2, 29),
    dt.date(2020, 2, 29),
    dt.date(2023, 12, 31),
]
births = st.one_of(
    st.dates(dt.date(1890, 1, 1), dt.date(2023, 12, 31)),
    st.sampled_from(_SPECIAL_BIRTHS),
    st.integers(1892, 2020).filter(lambda y: y % 4 == 0 and y != 1900).map(lambda y: dt.date(y, 2, 29)),
)


@st.composite
def birth_and_day(draw: st.DrawFn) -> tuple[dt.date, dt.date]:
    """A birth date and a day on which the person is 0-199 years old (short form works)."""
    birth = draw(births)
    if draw(st.booleans()):
        day = birth + dt.timedelta(days=draw(st.integers(0, 199 * 365)))
    else:  # around a birthday, often the 100th (where `-` becomes `+`)
        years = draw(st.one_of(st.just(100), st.integers(1, 199)))
        day = _birthday_in(birth, birth.year + years) + dt.timedelta(days=draw(st.integers(-1, 1)))
    return birth, day


@settings(max_examples=300, deadline=None)
@given(birth_and_day())
def test_age_on_counts_birthdays(pair: tuple[dt.date, dt.date]) -> None:
    birth, day = pair
    assert age_on(birth, day) == _reference_age(birth, day)


@settings(max_examples=400, deadline=None)
@given(birth_and_day(), st.integers(1, 999), st.booleans())
def test_age_from_any_valid_number_in_any_form(
    pair: tuple[dt.date, dt.date], birth_number: int, coordination: bool
) -> None:
    birth, day = pair
    number_day = birth.day + 60 if coordination else birth.day
    twelve = with_check(f"{birth:%Y%m}{number_day:02d}{birth_number:03d}")
    expected_age = age_on(birth, day)
    sep = "+" if expected_age >= 100 else "-"
    forms = [twelve, f"{twelve[:8]}-{twelve[8:]}", f"{twelve[2:8]}{sep}{twelve[8:]}"]
    if expected_age < 100:
        forms += [twelve[2:], f"{twelve[2:8]} {twelve[8:]}"]
    for form in forms:
        number = parse_identity_number(form, today=day)
        assert number.digits == twelve
        assert number.birth_date == birth
        assert number.is_coordination_number is coordination
        assert number.age_on(day) == expected_age


# --- finding and masking in free text ----------------------------------------------------


def test_find_identity_numbers_in_text() -> None:
    text = "Pnr 198101012386, kort 810101-2386, luckor 810101 2386, sam 140168+2396 slut."
    spans = find_identity_numbers(text)
    assert [text[a:b] for a, b in spans] == ["198101012386", "810101-2386", "810101 2386", "140168+2396"]


def test_find_skips_wrong_check_digit_dates_and_longer_runs() -> None:
    bad = wrong_check("198101012386")
    text = f"{bad} 2025-07-01 kl 10.30, 34 år, 7 av 10 träffar, 1{'198101012386'}, {'198101012386'}0"
    assert find_identity_numbers(text) == []


def test_find_does_not_let_a_rejected_candidate_hide_a_valid_one() -> None:
    bad = wrong_check("198101012386")[2:8]  # a date-like six digits, then the real number
    text = f"{bad} 810101-2386"
    assert [text[a:b] for a, b in find_identity_numbers(text)] == ["810101-2386"]


@pytest.mark.parametrize(
    "value",
    ["198101012386", "19810101-2386", "8101012386", "810101-2386", "810101+2386", "810101 2386", "191401682396"],
)
def test_mask_identity_numbers_masks_every_form(value: str) -> None:
    masked = mask_identity_numbers(f"user={value} done")
    assert masked == f"user={IDENTITY_NUMBER_MASK} done"


def test_mask_over_masks_wrong_check_digit() -> None:
    bad = wrong_check("198101012386")
    assert mask_identity_numbers(f"a {bad} b {bad[2:]}") == "a [personnummer] b [personnummer]"


def test_mask_leaves_ordinary_log_lines_alone() -> None:
    line = "2025-07-01T10:30:00Z GET /cases/42 200 13 ms request_id=9f8e7d6c5b4a 1234567890123"
    assert mask_identity_numbers(line) == line


@settings(max_examples=200, deadline=None)
@given(births, st.integers(1, 999), st.booleans(), st.text(max_size=30), st.text(max_size=30))
def test_mask_and_find_cover_generated_numbers(
    birth: dt.date, birth_number: int, coordination: bool, before: str, after: str
) -> None:
    number_day = birth.day + 60 if coordination else birth.day
    twelve = with_check(f"{birth:%Y%m}{number_day:02d}{birth_number:03d}")
    for form in (twelve, f"{twelve[:8]}-{twelve[8:]}", twelve[2:], f"{twelve[2:8]}+{twelve[8:]}"):
        text = f"{before} {form} {after}"
        masked = mask_identity_numbers(text)
        assert form not in masked
        assert IDENTITY_NUMBER_MASK in masked
        start = len(before) + 1
        assert (start, start + len(form)) in find_identity_numbers(text)


# --- the forms people write, after normalisation --------------------------------------------

SPREAD_FORMS = [
    "81 01 01 - 23 86",
    "81 01 01 23 86",
    "1981-01-01-2386",
    "19 81 01 01-23 86",
    "810101/2386",
    "810101_2386",
    "810101\u200b-2386",
    "８１０１０１－２３８６",
    "810101\u22122386",
]


@pytest.mark.parametrize("form", SPREAD_FORMS)
def test_find_and_mask_see_through_spread_out_and_disguised_forms(form: str) -> None:
    text = f"pnr {form} slut"
    assert [text[a:b] for a, b in find_identity_numbers(text)] == [form]
    assert mask_identity_numbers(text) == f"pnr {IDENTITY_NUMBER_MASK} slut"


def test_identity_number_matches_tell_a_typo_from_a_valid_number() -> None:
    text = f"{wrong_check('198101012386')} och 810101-2386"
    matches = identity_number_matches(text)
    assert [(text[m.start : m.end], m.check_digit_ok) for m in matches] == [
        (wrong_check("198101012386"), False),
        ("810101-2386", True),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "2025-07-01 1200 kr",  # a date and an amount
        "2025-07-01 - 2025-12-19",  # a date range
        "2025-07-01-2025-12-19",
        "20 810101 saknas",  # a count before six digits
        "kl 08.30-09.45, 34 år, 7 av 10",
        "uuid 3f1d2c4b-0000-4000-8000-000000000000",
    ],
)
def test_dates_ranges_and_counts_are_not_numbers(text: str) -> None:
    assert identity_number_matches(text) == []
    assert mask_identity_numbers(text) == text
