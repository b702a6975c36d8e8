"""Generated Swedish free text for measuring and testing the identity scrubber (SoL 14 kap. 5 §).

Two corpora, built from the same parts:

- *identity samples*: a sentence of a social-services note with ONE identity value in one of
  the ways people write it (a personnummer as `81 01 01 - 23 86`, with a full-width digit, a
  zero-width space or a wrong check digit; a phone number as `070.174.06.05` or `+45 ...`; an
  e-mail address as `name (at) example.se`; a street address, a post office box, a postcode
  with a town), among harmless numbers: dates, amounts, counts, times, case numbers;
- *identity-free sentences*: the same kind of sentences with only harmless numbers.

Every value is fictitious by construction: personnummer are Skatteverket's official test
numbers (a sample of its list, and the two test samordningsnummer), a wrong check digit is
derived from one of them; phone numbers are from the ranges PTS reserves for fiction
(070-174 06 05..99, 031-390 06 00..99, 08-465 004 00..99) or Ofcom's drama range (+44 7700
900 000..999), or those PTS digits behind another country code with a length no real
number has there; e-mail domains are example.com and example.se. Names are not generated:
without `known_identity` no pattern can tell a name from a word, so they are out of scope here.

The generators take a `Chooser`, so that the benchmark draws from a seeded `random.Random`
(`RandomChooser`) and the tests from hypothesis (a chooser over `draw`): one corpus, two uses.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

T = TypeVar("T")


class Chooser(Protocol):
    def choice(self, options: Sequence[T]) -> T: ...

    def integer(self, low: int, high: int) -> int: ...  # low..high inclusive


class RandomChooser:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def choice(self, options: Sequence[T]) -> T:
        return self.rng.choice(options)

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


# --- personnummer -----------------------------------------------------------------------------------

# A spread sample of Skatteverket's test personnummer (every 1000th of its list), 1891-2019.
OFFICIAL_PERSONNUMMER: Final = (
    "189105149802", "189402079801", "189611039802", "189907319801", "201905192397", "201704192382",
    "201002252391", "201608282396", "201310182389", "201204062382", "195401038103", "198101082397",
    "198105092384", "200102132396", "198111182393", "200109012385", "198206022397", "199206292386",
    "200210272381", "198307202385", "198311242385", "200401262381", "197808132398", "200410182398",
    "199407272385", "198510152393", "200508092384", "200601292394", "198701092382", "199610222383",
    "199704022384", "198806112390", "198810172398", "200901042382", "199811022392", "199906092391",
    "190012039806", "194303282398", "190404289803", "190701239808", "190910199827",
)  # fmt: skip
# Skatteverket's test samordningsnummer (day + 60).
OFFICIAL_SAMORDNINGSNUMMER: Final = ("191401682396", "191403702390")
IDENTITY_NUMBERS: Final = OFFICIAL_PERSONNUMMER + OFFICIAL_SAMORDNINGSNUMMER


def wrong_check_digit(twelve: str, shift: int = 1) -> str:
    """The number with its check digit changed (shift 1-9): a typo, still an identity."""
    return twelve[:-1] + str((int(twelve[-1]) + shift) % 10)


_FULL_WIDTH: Final = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _short(d: str) -> str:
    return d[2:]


# How people write a personnummer (12 digits in, the written form out).
PERSONNUMMER_STYLES: Final[Sequence[tuple[str, Callable[[str], str]]]] = (
    ("YYYYMMDDNNNN", lambda d: d),
    ("YYMMDDNNNN", _short),
    ("YYYYMMDD-NNNN", lambda d: f"{d[:8]}-{d[8:]}"),
    ("YYMMDD-NNNN", lambda d: f"{d[2:8]}-{d[8:]}"),
    ("YYMMDD+NNNN", lambda d: f"{d[2:8]}+{d[8:]}"),
    ("YYMMDD NNNN", lambda d: f"{d[2:8]} {d[8:]}"),
    ("YYMMDD - NNNN", lambda d: f"{d[2:8]} - {d[8:]}"),
    ("YYMMDD–NNNN (en dash)", lambda d: f"{d[2:8]}\u2013{d[8:]}"),
    ("YYMMDD/NNNN", lambda d: f"{d[2:8]}/{d[8:]}"),
    ("YYMMDD_NNNN", lambda d: f"{d[2:8]}_{d[8:]}"),
    ("YY MM DD - NN NN", lambda d: f"{d[2:4]} {d[4:6]} {d[6:8]} - {d[8:10]} {d[10:]}"),
    ("YY MM DD NN NN", lambda d: f"{d[2:4]} {d[4:6]} {d[6:8]} {d[8:10]} {d[10:]}"),
    ("YYYY-MM-DD-NNNN", lambda d: f"{d[:4]}-{d[4:6]}-{d[6:8]}-{d[8:]}"),
    ("YYMMDD-NNNN, no-break space", lambda d: f"{d[2:8]}\u00a0-\u00a0{d[8:]}"),
    ("YYMMDD-NNNN, zero-width space", lambda d: f"{d[2:5]}\u200b{d[5:8]}-{d[8:]}"),
    ("YYMMDD-NNNN, soft hyphen", lambda d: f"{d[2:8]}\u00ad-{d[8:]}"),
    ("YYMMDD-NNNN, full-width", lambda d: f"{d[2:8]}-{d[8:]}".translate(_FULL_WIDTH)),
    ("YYYYMMDDNNNN, one full-width digit", lambda d: f"{d[:6]}{chr(0xFF10 + int(d[6]))}{d[7:]}"),
)


# --- phone numbers ------------------------------------------------------------------------------------

# (area code without its 0, subscriber numbers) in PTS's fiction ranges.
FICTION_PHONES: Final = (
    ("70", tuple(f"17406{n:02d}" for n in range(5, 100))),
    ("31", tuple(f"39006{n:02d}" for n in range(100))),
    ("8", tuple(f"465004{n:02d}" for n in range(100))),
)


def _groups(subscriber: str) -> str:
    """ "1740605" -> "174 06 05", "465004 00" style: the last four digits in pairs."""
    return f"{subscriber[:-4]} {subscriber[-4:-2]} {subscriber[-2:]}"


PHONE_STYLES: Final[Sequence[tuple[str, Callable[[str, str], str]]]] = (
    ("0AA-SSS SS SS", lambda a, s: f"0{a}-{_groups(s)}"),
    ("0AA SSS SS SS", lambda a, s: f"0{a} {_groups(s)}"),
    ("0AASSSSSSS", lambda a, s: f"0{a}{s}"),
    ("0AA-SSSSSSS", lambda a, s: f"0{a}-{s}"),
    ("0AA.SSS.SS.SS", lambda a, s: f"0{a}.{_groups(s).replace(' ', '.')}"),
    ("0AA - SSS SS SS", lambda a, s: f"0{a} - {_groups(s)}"),
    ("0AA/SSS SS SS", lambda a, s: f"0{a}/{_groups(s)}"),
    ("(0AA) SSS SS SS", lambda a, s: f"(0{a}) {_groups(s)}"),
    ("+46 AA SSS SS SS", lambda a, s: f"+46 {a} {_groups(s)}"),
    ("+46AASSSSSSS", lambda a, s: f"+46{a}{s}"),
    ("+46 (0)AA-SSS SS SS", lambda a, s: f"+46 (0){a}-{_groups(s)}"),
    ("0046 AA SSS SS SS", lambda a, s: f"0046 {a} {_groups(s)}"),
    ("0AA–SSS SS SS (en dash)", lambda a, s: f"0{a}\u2013{_groups(s)}"),
    ("+45 AAS SSS SSS (another country code)", lambda a, s: f"+45 {(a + s)[:3]} {(a + s)[3:6]} {(a + s)[6:]}"),
    ("0045 AASSSSSSS (another country code)", lambda a, s: f"0045 {a}{s}"),
)
# Ofcom's range for drama, a foreign number as it is written.
OFCOM_DRAMA: Final = tuple(f"+44 7700 900{n:03d}" for n in range(1000))


# --- e-mail addresses ---------------------------------------------------------------------------------

LOCAL_PARTS: Final = ("anna.k", "kim99", "p-o.lund", "familjen.berg", "mamma_2019", "ola.nilsson")
DOMAINS: Final = ("example.com", "example.se", "post.example.se")

EMAIL_STYLES: Final[Sequence[tuple[str, Callable[[str, str], str]]]] = (
    ("name@domain", lambda n, d: f"{n}@{d}"),
    ("NAME@DOMAIN", lambda n, d: f"{n}@{d}".upper()),
    ("name (at) domain", lambda n, d: f"{n} (at) {d}"),
    ("name(at)domain", lambda n, d: f"{n}(at){d}"),
    ("name [at] domain", lambda n, d: f"{n} [at] {d}"),
    ("name [snabel-a] domain", lambda n, d: f"{n} [snabel-a] {d}"),
    ("name snabel-a domain", lambda n, d: f"{n} snabel-a {d}"),
    ("name (at) domain (punkt) tld", lambda n, d: f"{n} (at) {d.replace('.', ' (punkt) ')}"),
    ("name at domain dot tld", lambda n, d: f"{n} at {d.replace('.', ' dot ')}"),
    ("name @ domain", lambda n, d: f"{n} @ {d}"),
    ("name＠domain (full-width at)", lambda n, d: f"{n}\uff20{d}"),
)


# --- addresses ------------------------------------------------------------------------------------------

STREET_STEMS: Final = ("Kanarie", "Björk", "Lind", "Ekbacks", "Kvarn", "Sjö", "Hamn", "Skol", "Tall", "Åker")
STREET_SUFFIXES: Final = ("gatan", "vägen", "gränd", "torget", "stigen", "allén", "leden", "backen", "platsen")
TOWNS: Final = ("Göteborg", "Mölndal", "Partille", "Kungälv", "Västra Frölunda", "Askim", "Hisings Backa")


def _postcode(c: Chooser) -> str:
    return f"{c.integer(100, 989)} {c.integer(0, 99):02d}"


def _address(c: Chooser) -> tuple[str, str]:
    street = c.choice(STREET_STEMS) + c.choice(STREET_SUFFIXES)
    number = str(c.integer(1, 140))
    styles: list[tuple[str, Callable[[], str]]] = [
        ("Street N", lambda: f"{street} {number}"),
        ("Street NB", lambda: f"{street} {number}{c.choice('ABC')}"),
        ("Street N B", lambda: f"{street} {number} {c.choice('ABC')}"),
        ("Street N, lgh NNNN", lambda: f"{street} {number}, lgh {c.integer(1001, 1304)}"),
        ("Street N, NNN NN Town", lambda: f"{street} {number}, {_postcode(c)} {c.choice(TOWNS)}"),
        ("Kungsportsavenyen N", lambda: f"Kungsportsavenyen {number}"),
        ("Olof Palmes gata N", lambda: f"Olof Palmes gata {number}"),
        ("Södra Vägen N", lambda: f"Södra Vägen {number}"),
        ("Box N, NNN NN", lambda: f"Box {c.integer(1, 9999)}, {_postcode(c)}"),
        ("Box N, NNN NN Town", lambda: f"Box {c.integer(1, 9999)}, {_postcode(c)} {c.choice(TOWNS)}"),
        ("NNN NN Town", lambda: f"{_postcode(c)} {c.choice(TOWNS)}"),
        ("SE-NNN NN Town", lambda: f"SE-{_postcode(c)} {c.choice(TOWNS)}"),
    ]
    name, make = c.choice(styles)
    return name, make()


# --- harmless numbers -------------------------------------------------------------------------------------

MONTHS: Final = (
    "januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
    "november", "december",
)  # fmt: skip


def harmless_date(c: Chooser) -> str:
    year, month, day = c.integer(2019, 2031), c.integer(1, 12), c.integer(1, 28)
    return c.choice(
        (
            f"{year}-{month:02d}-{day:02d}",
            f"{day} {MONTHS[month - 1]} {year}",
            f"{day}/{month} {year}",
            f"{day}/{month}",
            f"{day:02d}.{month:02d}.{year}",
            f"{year}{month:02d}{day:02d}",
            f"{year}-{month:02d}-{day:02d} - {year}-{month:02d}-{min(day + 2, 28):02d}",
            f"v. {c.integer(1, 52)}",
        )
    )


def harmless_amount(c: Chooser) -> str:
    kronor = c.choice((c.integer(50, 999), c.integer(1000, 99_999), c.integer(100_000, 2_500_000)))
    spaced = f"{kronor:,}".replace(",", " ")
    return c.choice(
        (f"{spaced} kr", f"{spaced} kronor", f"{kronor} kr", f"{spaced}:-", f"{spaced},50 kr", f"{spaced} SEK")
    )


def harmless_count(c: Chooser) -> str:
    n = c.integer(0, 60)
    return c.choice(
        (
            str(n),
            f"{n} gånger",
            f"{n} av {n + c.integer(0, 9)}",
            f"{c.integer(1, 99)} år",
            f"{c.integer(1, 100)} %",
            f"{c.integer(5, 120)} min",
            f"{c.integer(1, 5)} på skalan 1-5",
        )
    )


def harmless_time(c: Chooser) -> str:
    hour, minute = c.integer(7, 19), c.choice((0, 15, 30, 45))
    return c.choice(
        (
            f"{hour:02d}.{minute:02d}",
            f"{hour:02d}:{minute:02d}",
            f"{hour:02d}.{minute:02d}-{hour + 1:02d}.{minute:02d}",
            f"{hour}-{hour + 2}",
        )
    )


def harmless_case_number(c: Chooser) -> str:
    year = c.integer(2019, 2031)
    return c.choice(
        (
            f"{year}-{c.integer(1, 99_999):05d}",
            f"SN {year}/{c.integer(1, 9999):04d}",
            f"IFO-{year}-{c.integer(1, 9999)}",
            f"{year}/{c.integer(100, 999)}-{c.integer(1, 9)}",
            f"§ {c.integer(1, 400)}",
        )
    )


def harmless_other(c: Chooser) -> str:
    n, year = c.integer(1, 40), c.integer(2015, 2031)
    return c.choice(
        (
            f"{n}-{n + c.integer(1, 3)} gånger",
            f"{n}-{n + 2} år",
            f"{year}-{year + c.integer(1, 3)}",
            f"{c.integer(40, 120)} kg",
            f"{n},5 timmar",
            f"{c.integer(1, 3)} x {c.choice((30, 45, 60))} min",
            f"den {n % 28 + 1}:e",
            f"plan {c.integer(1, 9)}",
            f"rum {c.integer(1, 450)}",
            f"buss {c.integer(1, 199)}",
            f"vecka {c.integer(1, 52)}",
            f"år {year}",
            f"{n}, {n + 1} och {n + 2}",
            f"{c.integer(1, 30)}/{c.integer(20, 40)} poäng",
            f"hela vägen {c.integer(2, 9)} gånger",
        )
    )


HARMLESS: Final[dict[str, Callable[[Chooser], str]]] = {
    "date": harmless_date,
    "amount": harmless_amount,
    "count": harmless_count,
    "time": harmless_time,
    "case": harmless_case_number,
    "other": harmless_other,
}

# Sentences of a journal note; {value} is where an identity value goes, the other slots take
# harmless numbers.
IDENTITY_TEMPLATES: Final = (
    "Vid samtalet {date} uppgav hon {value} och berättade om {count} tidigare kontakter.",
    "Kontakt: {value}. Nästa träff {date} kl. {time}.",
    "Mamman nås på {value}; kostnaderna har varit {amount} sedan {date}.",
    "Deltagaren bor på {value} och har deltagit {count} gånger.",
    "Ärende {case}: {value} lämnades muntligt vid mötet kl. {time}.",
    "{value} stod i remissen från {date}.",
    "Pappan (tel. {value}) ringde {count} gånger före kl. {time}.",
    "Uppgifter som lämnades: {value}, {amount}, {date}.",
    "Han skrev ned {value}",
    "Inför uppföljningen {date} ({case}) gav hon {value} som kontaktuppgift.",
    "Barnet har gått i skolan {count} dagar; vårdnadshavare nås via {value}.",
    "Efter {other} lämnade hon {value} inför {date}.",
)
HARMLESS_TEMPLATES: Final = (
    "Vid samtalet {date} berättade hon om {count} tidigare kontakter.",
    "Nästa träff {date} kl. {time}, ärende {case}.",
    "Kostnaderna har varit {amount} sedan {date}.",
    "Deltagaren har deltagit {count} gånger, senast {date}.",
    "Ärende {case}: mötet kl. {time} hölls som planerat.",
    "Skattat mående {count}; insatsen pågår {date}.",
    "Hon betalade {amount} och fick {amount} tillbaka {date}.",
    "Uppföljning {date} kl. {time}: {count}.",
    "Gruppen träffades {count} gånger mellan {date} och {date}.",
    "Beslut {case} fattades {date}, beviljat belopp {amount}.",
    "Samtalet varade kl. {time}; {count} deltog.",
    "{date}: {count}, {amount}, {case}.",
    "Hon har varit med {other} och betalat {amount}.",
    "Insatsen {date}, {other}; {other} kvar till {date}.",
    "Träffarna {date} kl. {time} och {date} kl. {time} ({other}).",
    "Hon nämnde {other}, {other} och {count}.",
)


@dataclass(frozen=True, slots=True)
class IdentitySample:
    """A sentence holding one identity value at text[start:end]."""

    text: str
    start: int
    end: int
    kind: str  # personnummer, phone, email, address
    style: str
    check_digit_ok: bool = True

    @property
    def value(self) -> str:
        return self.text[self.start : self.end]


def identity_value(c: Chooser) -> tuple[str, str, str, bool]:
    """(kind, style, written value, check digit correct) of one generated identity value."""
    kind = c.choice(("personnummer", "personnummer", "phone", "email", "address"))
    if kind == "personnummer":
        digits = c.choice(IDENTITY_NUMBERS)
        typo = c.choice((False, False, True))
        if typo:
            digits = wrong_check_digit(digits, c.integer(1, 9))
        style, write = c.choice(PERSONNUMMER_STYLES)
        return kind, style + (", wrong check digit" if typo else ""), write(digits), not typo
    if kind == "phone":
        if c.integer(0, 9) == 0:
            return kind, "+44 7700 900 NNN (Ofcom drama range)", c.choice(OFCOM_DRAMA), True
        area, subscribers = c.choice(FICTION_PHONES)
        style, write_phone = c.choice(PHONE_STYLES)
        return kind, style, write_phone(area, c.choice(subscribers)), True
    if kind == "email":
        style, write_email = c.choice(EMAIL_STYLES)
        return kind, style, write_email(c.choice(LOCAL_PARTS), c.choice(DOMAINS)), True
    style, address = _address(c)
    return kind, style, address, True


def _fill(template: str, c: Chooser, value: str | None = None) -> tuple[str, int, int]:
    """The template with harmless slots filled; where `value` went (start, end), if given."""
    out: list[str] = []
    start = end = -1
    rest = template
    while "{" in rest:
        before, _, after = rest.partition("{")
        slot, _, rest = after.partition("}")
        out.append(before)
        if slot == "value":
            assert value is not None
            start = len("".join(out))
            out.append(value)
            end = start + len(value)
        else:
            out.append(HARMLESS[slot](c))
    out.append(rest)
    return "".join(out), start, end


def identity_sample(c: Chooser) -> IdentitySample:
    kind, style, value, check_ok = identity_value(c)
    text, start, end = _fill(c.choice(IDENTITY_TEMPLATES), c, value)
    return IdentitySample(text, start, end, kind, style, check_ok)


def harmless_sentence(c: Chooser) -> str:
    return _fill(c.choice(HARMLESS_TEMPLATES), c)[0]
