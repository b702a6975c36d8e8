"""Personnummer and samordningsnummer: parsing, ages, finding and masking in free text.

Pure functions, no I/O. Check-digit and calendar validation are delegated to the
`personnummer` library; what it lacks is added here:

- a caller-supplied `today` drives the century of 10-digit forms (the library uses the
  real current date, which makes results depend on when they are computed);
- the birth date of a samordningsnummer (day minus 60) is exposed as a value object;
- ages use the Swedish "completed years" rule, 29 February included (see `age_on`);
- numbers are found and masked in free text (logs, notes).

Rules (legal brief, "Personnummer and samordningsnummer"): a personnummer is YYMMDD, a
three-digit birth number and a Luhn check digit; the separator `-` becomes `+` from the
year the person turns 100 (folkbokföringslagen 18 §). A samordningsnummer is the same
with 60 added to the day (lag 2022:1697, 2 kap. 8 §). The canonical stored form is
12 digits.

An identity number must never reach a log line or traceback by accident: `IdentityNumber`
masks itself in `repr`/`str`, and `InvalidIdentityNumber` never carries the input.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final

from personnummer import personnummer as _lib

from app.kit.textnorm import normalize_text

__all__ = [
    "IDENTITY_NUMBER_MASK",
    "IDENTITY_NUMBER_PATTERN",
    "IdentityNumber",
    "IdentityNumberMatch",
    "InvalidIdentityNumber",
    "age_on",
    "find_identity_numbers",
    "identity_number_matches",
    "is_valid_identity_number_digits",
    "mask_identity_numbers",
    "parse_identity_number",
]

COORDINATION_DAY_OFFSET: Final = 60
IDENTITY_NUMBER_MASK: Final = "[personnummer]"


class InvalidIdentityNumber(ValueError):
    """The value is not a valid personnummer or samordningsnummer.

    The message says why in general terms and never contains the submitted value.
    """


@dataclass(frozen=True, slots=True, repr=False)
class IdentityNumber:
    """A validated personnummer or samordningsnummer.

    `digits` is the canonical 12-digit storage form (YYYYMMDDNNNC, for a samordningsnummer
    with the day plus 60). `birth_date` is the date the number encodes (day minus 60 for a
    samordningsnummer); for some people Skatteverket assigned a nearby day, so it is the
    date of the number, not necessarily the real birthday.
    """

    digits: str
    birth_date: dt.date
    is_coordination_number: bool

    def age_on(self, day: dt.date) -> int:
        """Completed years on `day` (see the module-level `age_on`)."""
        return age_on(self.birth_date, day)

    def formatted(self) -> str:
        """The long display form "YYYYMMDD-NNNN"."""
        return f"{self.digits[:8]}-{self.digits[8:]}"

    # Masked on purpose: a stray f-string, log call or traceback must not reveal the value.
    def __repr__(self) -> str:
        return "IdentityNumber(****)"

    def __str__(self) -> str:
        return "IdentityNumber(****)"


# --- parsing --------------------------------------------------------------------------

# Hyphen-like characters that people paste from word processors count as `-`.
_HYPHENS: Final = "-\u2010\u2011\u2012\u2013\u2014\u2212"
_INPUT_RE: Final = re.compile(
    rf"(?P<century>[0-9]{{2}})?(?P<date>[0-9]{{6}})(?P<sep>[{_HYPHENS}+ ])?(?P<tail>[0-9]{{4}})",
    re.ASCII,
)


def parse_identity_number(value: str, *, today: dt.date) -> IdentityNumber:
    """Parse a personnummer or samordningsnummer given in any usual written form.

    Accepted: 12 digits (YYYYMMDDNNNC) or 10 digits (YYMMDDNNNC), each optionally with a
    separator (`-`, `+` or a single space) before the last four digits; surrounding
    whitespace is ignored.

    Century of the 10-digit form, decided by `today` (never by the real clock):
    - `-`, a space or no separator: the most recent birth date that is not after `today`
      (the person is under 100 at `today`);
    - `+`: the same date 100 years earlier (the person is 100 or older at `today`).
    In the 12-digit form the century is explicit and the separator is only punctuation.

    Raises InvalidIdentityNumber for a wrong length or characters, a wrong check digit, an
    impossible date, birth number 000, or a birth date after `today`.
    """
    if not isinstance(value, str):
        raise InvalidIdentityNumber("an identity number must be given as text")
    match = _INPUT_RE.fullmatch(value.strip())
    if match is None:
        raise InvalidIdentityNumber(
            "not a personnummer or samordningsnummer: expected ten or twelve digits, "
            "optionally with - or + before the last four"
        )
    date6, tail, sep = match["date"], match["tail"], match["sep"]
    century = match["century"]
    if century is None:
        century = _century_for_short_form(date6, plus=sep == "+", today=today)
    digits = century + date6 + tail

    parsed = _library_parse(digits)
    if parsed is None:
        raise InvalidIdentityNumber(
            "not a valid personnummer or samordningsnummer: wrong check digit or impossible date"
        )
    birth_date = parsed.get_date()
    if birth_date > today:
        raise InvalidIdentityNumber("the birth date of the identity number is in the future")
    return IdentityNumber(
        digits=digits,
        birth_date=birth_date,
        is_coordination_number=bool(parsed.is_coordination_number()),
    )


def _century_for_short_form(date6: str, *, plus: bool, today: dt.date) -> str:
    """The two century digits for YYMMDD, as seen on `today`."""
    yy, month, day = int(date6[:2]), int(date6[2:4]), int(date6[4:6])
    if day > COORDINATION_DAY_OFFSET:
        day -= COORDINATION_DAY_OFFSET
    # Compare (year, month, day) tuples, not dates: 29 February may not exist in a
    # candidate year, and the library rejects that date later anyway.
    year = today.year - (today.year - yy) % 100
    if (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    if plus:
        year -= 100
    if year < 0:
        raise InvalidIdentityNumber("the birth date of the identity number is out of range")
    return f"{year // 100:02d}"


def _library_parse(digits12: str) -> _lib.Personnummer | None:
    """Luhn and calendar check by the library; None when invalid.

    The library's exception messages contain the value, so it is never chained: the
    caller raises its own exception outside this `except` block (no __context__ either).
    """
    try:
        return _lib.Personnummer(digits12)
    except (_lib.PersonnummerException, ValueError):
        return None


def is_valid_identity_number_digits(ten_or_twelve: str) -> bool:
    """True if 10 or 12 ASCII digits form a valid personnummer/samordningsnummer.

    For 10 digits (no century) the date must be valid in the 1900s or the 2000s; the two
    differ only for 29 February of year 00.
    """
    if not (ten_or_twelve.isascii() and ten_or_twelve.isdigit()):
        return False
    if len(ten_or_twelve) == 12:
        return _library_parse(ten_or_twelve) is not None
    if len(ten_or_twelve) == 10:
        return any(_library_parse(c + ten_or_twelve) is not None for c in ("20", "19"))
    return False


# --- age --------------------------------------------------------------------------------


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Completed years on `day` for someone born on `birth_date`.

    The age increases on the birthday. Someone born on 29 February turns a year older on
    1 March in non-leap years: on 28 February the year is not yet completed. This is the
    reading of "fyllt år" used in Swedish practice (and the one the `personnummer`
    library's own age calculation gives). Raises ValueError if `day` is before the birth.
    """
    if day < birth_date:
        raise ValueError("the day is before the birth date")
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


# --- free text ----------------------------------------------------------------------------

# Found in text normalised by `app.kit.textnorm` (one kind of space, one kind of dash, ASCII
# digits, no zero-width characters), then mapped back onto the original text.
#
# A separator between groups of digits: punctuation with a space or two around it, or one or
# two spaces ("810101-2386", "810101 - 2386", "810101/2386", "810101_2386", "810101  2386").
_SEP: Final = r"(?:[ ]{0,2}[-+/_.][ ]{0,2}|[ ]{1,2})"
_DAY: Final = r"(?:0[1-9]|[12][0-9]|3[01]|6[1-9]|[78][0-9]|9[01])"  # 61-91: samordningsnummer
_MONTH: Final = r"(?:0[1-9]|1[0-2])"

# Something shaped like a personnummer/samordningsnummer: optional century (18, 19, 20),
# YY MM DD, four digits (maybe as two pairs), each group maybe separated ("81 01 01 - 23 86",
# "1981-01-01-2386"); never inside a longer run of digits or of digits and punctuation (so not
# a date range such as "2025-07-01-2025-12-19"). Which separators may combine is decided by
# `_well_formed`.
IDENTITY_NUMBER_PATTERN: Final = re.compile(
    rf"""
    (?<![0-9])(?<![0-9][-+/_.])
    (?:(?P<century>1[89]|20)(?P<s0>{_SEP})?)?
    (?P<yy>[0-9]{{2}})(?P<s1>{_SEP})?(?P<mm>{_MONTH})(?P<s2>{_SEP})?(?P<dd>{_DAY})
    (?P<s3>{_SEP})?
    (?P<n1>[0-9]{{2}})(?P<s4>[ ])?(?P<n2>[0-9]{{2}})
    (?![0-9])(?![-+/_.][0-9])
    """,
    re.VERBOSE,
)

_PUNCTUATION: Final = frozenset("-+/_")
_ANY_DIGIT: Final = re.compile(r"\d")


def _well_formed(m: re.Match[str]) -> bool:
    """The separators combine as people write the number.

    The date part is written together (YYMMDD, YYYYMMDD), as a date (YYYY-MM-DD, YY MM DD) or
    in pairs (19 81 01 01). Then the last four follow directly or after any separator when the
    date part is written together; after a dash, plus, slash or underscore when the date part
    is spread out ("1981-01-01-2386", "81 01 01 - 23 86"), or in pairs all through
    ("81 01 01 23 86"). A date followed by an unrelated number ("2025-07-01 1200") is not one.
    """
    s0, s1, s2, s3 = m["s0"], m["s1"], m["s2"], m["s3"]
    if m["century"] is not None and s0 and not (s1 and s2):
        return False  # "20 810101-2386": a count before a number, not a century
    if not (s1 or s2):
        return True
    if not (s1 and s2):
        return False
    if s3 and _PUNCTUATION.intersection(s3):
        return True
    return bool(s3) and m["s4"] is not None and not _PUNCTUATION.intersection(s1 + s2 + (s0 or ""))


def _digits(m: re.Match[str]) -> str:
    return "".join(m[g] or "" for g in ("century", "yy", "mm", "dd", "n1", "n2"))


def _luhn_digit(nine: str) -> str:
    total = 0
    for i, ch in enumerate(nine):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return str((10 - total % 10) % 10)


@dataclass(frozen=True, slots=True)
class IdentityNumberMatch:
    """A personnummer/samordningsnummer found in normalised text. `check_digit_ok` is False for a
    number whose date and birth number are possible but whose check digit is wrong: a typo is
    still an identity."""

    start: int
    end: int
    check_digit_ok: bool


def identity_number_matches(normalized: str) -> list[IdentityNumberMatch]:
    """Every personnummer/samordningsnummer in text normalised by `app.kit.textnorm`, with a
    correct check digit or not, whose date exists. Matches never overlap and are in text order."""
    found: list[IdentityNumberMatch] = []
    pos = 0
    while (m := IDENTITY_NUMBER_PATTERN.search(normalized, pos)) is not None:
        if _well_formed(m):
            digits = _digits(m)
            if is_valid_identity_number_digits(digits):
                found.append(IdentityNumberMatch(m.start(), m.end(), check_digit_ok=True))
                pos = m.end()
                continue
            if is_valid_identity_number_digits(digits[:-1] + _luhn_digit(digits[-10:-1])):
                found.append(IdentityNumberMatch(m.start(), m.end(), check_digit_ok=False))
                pos = m.end()
                continue
        # Retry one character on: a rejected candidate must not hide a valid one.
        pos = m.start() + 1
    return found


def find_identity_numbers(text: str) -> list[tuple[int, int]]:
    """Spans (start, end) of valid personnummer/samordningsnummer in free text.

    Valid means a shape of IDENTITY_NUMBER_PATTERN (after normalisation: full-width digits,
    zero-width characters and typographic dashes are seen through) plus a correct check digit
    and an existing date. Spans are in the original text, never overlap and are in text order.
    """
    if _ANY_DIGIT.search(text) is None:
        return []
    norm = normalize_text(text)
    return [norm.original_span(m.start, m.end) for m in identity_number_matches(norm.text) if m.check_digit_ok]


def mask_identity_numbers(text: str, mask: str = IDENTITY_NUMBER_MASK) -> str:
    """Replace everything shaped like a personnummer/samordningsnummer with `mask`.

    Meant for every log line: it over-masks on purpose (no check-digit test, any plausible
    month and day), because a missed number is worse than a masked timestamp. Sees through
    the same writing variants as `find_identity_numbers`.
    """
    if _ANY_DIGIT.search(text) is None:
        return text
    norm = normalize_text(text)
    spans: list[tuple[int, int]] = []
    pos = 0
    while (m := IDENTITY_NUMBER_PATTERN.search(norm.text, pos)) is not None:
        if _well_formed(m):
            spans.append(norm.original_span(m.start(), m.end()))
            pos = m.end()
        else:
            pos = m.start() + 1
    if not spans:
        return text
    out: list[str] = []
    last = 0
    for start, end in spans:
        out += [text[last:start], mask]
        last = end
    out.append(text[last:])
    return "".join(out)
