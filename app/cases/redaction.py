"""Identity protection in free text before anything is persisted.

SoL 14 kap. 5 §: for an intervention the committee exempted (`identity_exempt`), data that
can reveal the participant's identity is not documented. SoL 14 kap. 4 §: during
counselling (`counselling_exempt`) the individual's personal circumstances need not be
documented; identity is scrubbed the same way. The caller drops the structured identity
fields; this module scrubs free text, deterministically and without I/O:

1. the identity values the same request carried (`KnownIdentity`), in every usual format;
2. by pattern: personnummer/samordningsnummer (with a correct check digit, or a wrong one
   where the date exists: a typo is still an identity), phone numbers (Swedish, and with
   another country code), e-mail addresses, street addresses with a house number, post
   office boxes, and postcodes with a town.

Both run on the text as `app.kit.textnorm` normalises it (full-width digits, zero-width
characters, typographic spaces and dashes, decomposed letters, `name (at) example.se`), so
each pattern is written once for the plain form; every match is mapped back onto the
original text. Overlapping matches are merged, and the original text is rebuilt once with
placeholders, so one replacement never creates or hides another.

Names are found only as known values: no pattern tells a name from a word, which is why
every write to an exempted case accepts `known_identity`.

Redaction records are per path and kind: each kind removed from a path is listed once,
in order of its first occurrence. They never hold the removed value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Final, TypeAlias

from app.kit.personnummer import identity_number_matches
from app.kit.textnorm import normalize_text

__all__ = [
    "PLACEHOLDERS",
    "SOL_14_4",
    "SOL_14_5",
    "JsonValue",
    "KnownIdentity",
    "Redaction",
    "RedactionKind",
    "rule_for",
    "scrub_identity",
    "scrub_text",
]

SOL_14_5: Final = "SoL 14:5"  # undantag, identitet: the committee's decision
SOL_14_4: Final = "SoL 14:4"  # undantag, rådgivning

_RULES: Final[Mapping[str, str]] = {"identity_exempt": SOL_14_5, "counselling_exempt": SOL_14_4}


def rule_for(documentation_rule: str) -> str | None:
    """The paragraph that requires scrubbing for a documentation rule, or None."""
    return _RULES.get(documentation_rule)


class RedactionKind(StrEnum):
    personnummer = "personnummer"  # also samordningsnummer
    name = "name"
    phone = "phone"
    email = "email"
    address = "address"


PLACEHOLDERS: Final[Mapping[RedactionKind, str]] = {
    RedactionKind.personnummer: "[personnummer]",
    RedactionKind.name: "[namn]",
    RedactionKind.phone: "[telefon]",
    RedactionKind.email: "[e-post]",
    RedactionKind.address: "[adress]",
}

# When matches of different kinds cover the same text, the first kind here names it.
_PRIORITY: Final = {kind: i for i, kind in enumerate(RedactionKind)}


@dataclass(frozen=True, slots=True)
class Redaction:
    """A record that something of `kind` was removed from the text at `path` under `rule`."""

    path: str
    kind: str
    rule: str


# --- the identity values the request carried ----------------------------------------------

_SPACE: Final = r"[\s\u00a0]"
# Between the groups of a known number anything a person might type: spaces, dashes, dots.
_NUMBER_GAP: Final = r"[\s\u00a0\-\u2010-\u2015\u2212+./()]{0,3}"
_GENITIVE: Final = r"(?:['’´`:]?s)?"  # Annas, Anna's, Anna’s
_MIN_NAME_LETTERS: Final = 2
_MIN_LITERAL_CHARS: Final = 5  # shorter odd values are matched nowhere rather than everywhere


@dataclass(frozen=True)
class KnownIdentity:
    """The identity values given in the same request, to be removed from its free text.

    `repr` shows only how many values of each kind it holds.
    """

    personnummer: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # full names, e.g. "Anna-Karin Svensson"
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)  # street and number, maybe postcode/city

    @classmethod
    def of(
        cls,
        *,
        personnummer: str | Iterable[str | None] | None = None,
        names: str | Iterable[str | None] | None = None,
        phones: str | Iterable[str | None] | None = None,
        emails: str | Iterable[str | None] | None = None,
        addresses: str | Iterable[str | None] | None = None,
    ) -> KnownIdentity:
        """Build from optional values: a single string, an iterable, or None; blanks dropped."""
        return cls(
            personnummer=_values(personnummer),
            names=_values(names),
            phones=_values(phones),
            emails=_values(emails),
            addresses=_values(addresses),
        )

    def __repr__(self) -> str:
        counts = ", ".join(
            f"{name}={len(getattr(self, name))}" for name in ("personnummer", "names", "phones", "emails", "addresses")
        )
        return f"KnownIdentity({counts})"

    def _by_kind(self) -> tuple[tuple[RedactionKind, list[str]], ...]:
        return (
            (RedactionKind.personnummer, self.personnummer),
            (RedactionKind.email, self.emails),
            (RedactionKind.phone, self.phones),
            (RedactionKind.address, self.addresses),
            (RedactionKind.name, self.names),
        )

    @cached_property
    def _patterns(self) -> tuple[tuple[RedactionKind, re.Pattern[str]], ...]:
        """One compiled pattern per kind with values (compiled once per instance)."""
        found: list[tuple[RedactionKind, re.Pattern[str]]] = []
        # Matched in normalised text, so normalised the same way ("Kungsva\u0308gen" is "Kungsvägen").
        plain = {kind: [normalize_text(v).text.strip() for v in values] for kind, values in self._by_kind()}
        for kind, alternatives in (
            (RedactionKind.personnummer, [_personnummer_regex(v) for v in plain[RedactionKind.personnummer]]),
            (RedactionKind.email, [re.escape(v) for v in plain[RedactionKind.email] if len(v) >= _MIN_LITERAL_CHARS]),
            (RedactionKind.phone, [_phone_regex(v) for v in plain[RedactionKind.phone]]),
            (RedactionKind.address, [r for v in plain[RedactionKind.address] for r in _address_regexes(v)]),
            (RedactionKind.name, [r for v in plain[RedactionKind.name] for r in _name_regexes(v)]),
        ):
            alts = sorted({a for a in alternatives if a}, key=lambda a: (-len(a), a))
            if alts:
                found.append((kind, re.compile("|".join(f"(?:{a})" for a in alts), re.IGNORECASE)))
        return tuple(found)


def _values(value: str | Iterable[str | None] | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [v.strip() for v in items if v is not None and v.strip()]


def _personnummer_regex(value: str) -> str:
    """Every format of a known personnummer: 12 or 10 digits, `-`, `+`, spaces.

    Matched without digit boundaries: a known number glued to other digits is still removed.
    A value that is not 10 or 12 digits is matched as written.
    """
    digits = re.sub(r"[^0-9]", "", value)
    if len(digits) not in (10, 12):
        return re.escape(value) if len(value) >= _MIN_LITERAL_CHARS else ""
    century = digits[:2] if len(digits) == 12 else "(?:1[89]|20)"
    yy, mm, dd, last4 = digits[-10:-8], digits[-8:-6], digits[-6:-4], digits[-4:]
    gap = _NUMBER_GAP
    return f"(?:{century}{gap})?{yy}{gap}{mm}{gap}{dd}{gap}{_spaced(last4)}"


def _spaced(digits: str) -> str:
    """Digits with any small gap between them ("98 76", "9876")."""
    return _NUMBER_GAP.join(digits)


def _phone_regex(value: str) -> str:
    """A known phone number regardless of spacing, dashes and +46 / 0046 / 0 prefix."""
    raw = value.strip()
    digits = re.sub(r"[^0-9]", "", raw)
    if raw.startswith(("+", "00")):
        digits = digits.removeprefix("00")
        if not digits.startswith("46"):  # a foreign number: match its digits as they are
            return rf"(?:\+|00)?{_NUMBER_GAP}{_spaced(digits)}" if len(digits) >= 6 else re.escape(raw)
        digits = digits[2:].removeprefix("0")  # +46 (0)70 ...
    else:
        digits = digits.removeprefix("0")
    if len(digits) < 5:  # too short to be a subscriber number: only as written
        return rf"(?<![0-9]){re.escape(raw)}(?![0-9])" if raw else ""
    prefix = rf"(?:(?:\+|00){_NUMBER_GAP}46{_NUMBER_GAP}(?:\(?0\)?{_NUMBER_GAP})?|\(?0{_NUMBER_GAP})?"
    return prefix + _spaced(digits)


def _phrase(words: Iterable[str]) -> str:
    """Words separated by any whitespace (and optional commas)."""
    return r"[\s\u00a0,]+".join(re.escape(w) for w in words)


def _address_regexes(value: str) -> list[str]:
    """The full address, its first part (street and number) and the street name alone."""
    full = value.split()
    first = value.split(",")[0].split()
    street = re.split(r"[0-9]", value, maxsplit=1)[0].strip(" ,\u00a0\t\n").split()
    regexes = [rf"(?<!\w){_phrase(words)}(?!\w)" for words in (full, first) if words]
    if sum(c.isalpha() for c in "".join(street)) >= 3:
        # Also "Storgatan 14" when "Storgatan 12" was given: the street name with any number.
        number = rf"(?:{_SPACE}+[1-9][0-9]{{0,3}}(?:[ ]?[A-Za-z](?!\w))?)?"
        regexes.append(rf"(?<!\w){_phrase(street)}{_GENITIVE}{number}(?!\w)")
    return regexes


def _name_parts(full_name: str) -> list[str]:
    parts: list[str] = []
    for word in full_name.split():
        word = word.strip(".,;:!?()\"'’")
        pieces = [word, *word.split("-")] if "-" in word else [word]
        parts.extend(p for p in pieces if sum(c.isalpha() for c in p) >= _MIN_NAME_LETTERS)
    return parts


def _name_regexes(full_name: str) -> list[str]:
    """The full name and each part of it, as whole words, with genitive forms."""
    parts = _name_parts(full_name)
    if not parts:
        return []
    whole = [w.strip(".,;:!?()\"'’") for w in full_name.split()]
    alternatives = [_phrase(w for w in whole if w), *(re.escape(p) for p in parts)]
    return [rf"(?<!\w)(?:{a}){_GENITIVE}(?!\w)" for a in alternatives]


# --- patterns for values nobody told us about ------------------------------------------------
#
# Every pattern runs on the text as `app.kit.textnorm` normalises it: spaces are " ", dashes
# "-", digits ASCII, no zero-width characters, `(at)` is "@".

# Starts only where a run of local-part characters starts: linear time on long words.
_EMAIL_RE: Final = re.compile(r"(?<![\w.%+'\-])[\w.%+'\-]+@(?:[\w\-]+\.)+[\w\-]{2,}")

# Between the groups of a phone number: a dash, slash or dot with a space around it, or a space.
_PHONE_GAP: Final = r"(?:[ ]?[-/.][ ]?|[ ]{1,2})"
# Swedish phone numbers: 070-123 45 67, 070 123 45 67, 0701234567, 031-123 45 67, 070.123.45.67,
# 070 - 123 45 67, (031) 12 34 56, +46 70 123 45 67, 0046 70 ..., +46 (0)70 ...; and numbers with
# another country code (+45 ..., 0045 ...). An area code is 08 or 0 and two or three digits
# (so "01.07.2025" is a date, not a number). Within the subscriber number one kind of gap
# ("070-174 06 05", "070.174.06.05"), so that a time range ("08.30-09.45") is not a number.
_PHONE_RE: Final = re.compile(
    rf"""
    (?<![\w+])(?<![0-9][-./:,])                   # not glued on, not inside a date or time
    (?:
        (?P<cc>(?:\+|00)[ ]?46)[ ]?-?[ ]?(?:\(0\)[ ]?-?[ ]?)?(?P<intl>[1-9][0-9]{{0,2}})
      | (?P<foreign>(?:\+[ ]?|00)(?!46)[1-9][0-9]{{0,2}})
      | \(?(?P<area>08|0[1-9][0-9]{{1,2}})\)?
    )
    (?P<sep>{_PHONE_GAP})?
    (?P<subscriber>[0-9]{{2,4}}(?:(?P<gap>[ ]|[-.]|)[0-9]{{1,6}}(?:(?P=gap)[0-9]{{1,4}}){{0,3}})?)
    (?![0-9]|[-/.][0-9])                          # not followed by more of a date
    """,
    re.VERBOSE,
)
# Stockholm's area code is also the 8th of a month: "08.11.2021", "08-11-2021", "08/11 2021".
_STOCKHOLM_DATE: Final = re.compile(r"08[ ]?[-./ ][ ]?(?:0[1-9]|1[0-2])[ ]?[-./ ][ ]?(?:19|20)?[0-9]{2}")
_PHONE_NSN_DIGITS: Final = range(7, 10)  # a Swedish national significant number: 7-9 digits
_FOREIGN_DIGITS: Final = range(7, 13)  # after another country code: 7-12 digits

# A number followed by one of these counts or measures something: it is no house number
# ("Storgatan 3 gånger" is not an address) ...
_UNIT_AHEAD: Final = re.compile(
    r"[ ]?(?:gånger|gång|ggr|st|stycken|år|dagar|dag|veckor|vecka|månader|månad|timmar|timme|tim|"
    r"minuter|min|kr|kronor|sek|SEK|%|procent|personer|barn|deltagare|träffar|samtal|sessioner|"
    r"tillfällen|km|meter|m)(?!\w)"
)
# ... and a number followed by a currency is no phone number ("+1 250 000 000 kr").
_AMOUNT_AHEAD: Final = re.compile(r"[ ]?(?:kr|kronor|sek|SEK|:-|%|procent)(?!\w)")

# Street names end in one of these (Storgatan, Kungsvägen, Mariaplan, Götaleden, Kungsportsavenyen ...).
_STREET_SUFFIXES: Final = (
    "gatan|gata|vägen|väg|gränd|gränden|torget|stigen|allén|allé|backe|backen|plan|planen|"
    "leden|liden|höjden|esplanaden|esplanad|platsen|promenaden|kajen|stranden|slingan|svängen|ringen|"
    "avenyen|avenyn|aveny|boulevarden|kroken|stråket|parken|hagen|kullen|ängen|udden"
)
# ... or are two words, a genitive and a noun (Olof Palmes gata, Gustaf Adolfs torg).
_STREET_NOUNS: Final = "väg|gata|gränd|allé|torg|plats|backe|stig|led"
# ... or a capitalised word and a capitalised street noun (Södra Vägen, Gamla Torget).
_STREET_WORDS: Final = "Vägen|Gatan|Gränd|Allén|Torget|Backen|Stigen|Leden|Kajen|Stranden|Platsen"
# A postcode (414 51, SE-414 51) and a town (Göteborg, Västra Frölunda, Upplands-Bro).
_POSTCODE: Final = r"(?:SE-?[ ]?)?[1-9][0-9]{2}[ ]?[0-9]{2}"
_TOWN: Final = r"[A-ZÅÄÖ][a-zåäöéü]+(?:[ -][A-ZÅÄÖ][a-zåäöéü]+)?"
_ADDRESS_RE: Final = re.compile(
    rf"""
    (?<!\w)
    (?P<street>
        (?:[A-ZÅÄÖ][^\W\d_]+[ ]){{0,2}}                          # Norra, Olof, Drottning
        (?:[^\W\d_]{{2,}}(?i:{_STREET_SUFFIXES}) | [^\W\d_]+s[ ](?i:{_STREET_NOUNS}))
      | [A-ZÅÄÖ][^\W\d_]+[ ](?:{_STREET_WORDS})
      | Avenyn
      | (?i:box)                                                  # a post office box
    )
    [ ]+
    (?P<number>[1-9][0-9]{{0,3}}(?:[A-Za-zÅÄÖåäö]|[ ][A-ZÅÄÖ])?)(?!\w)   # house number, 12B / 12 B
    (?:[ ]?-[ ]?[1-9][0-9]{{0,3}}(?!\w))?                          # 12-14
    (?![0-9]|[-/.:][0-9])                                          # not a date or time
    (?:,?[ ]*(?i:lgh|lägenhet)[ ]*[0-9]{{4}})?                     # lgh 1102
    (?:,?[ ]*{_POSTCODE}(?![ ]?(?:kr|kronor|sek|SEK|:-|%))(?:[ ]+{_TOWN})?)?   # 414 51 Göteborg, not 41451 kr
    (?![0-9])
    """,
    re.VERBOSE,
)
# A postcode with a town on its own ("414 51 Göteborg", "..., 41451 Göteborg", "SE-414 51 Göteborg").
_POSTCODE_TOWN_RE: Final = re.compile(
    rf"(?<![\w-])(?:(?:SE-?[ ]?)?[1-9][0-9]{{2}}[ ][0-9]{{2}}|(?<=,[ ])[1-9][0-9]{{4}}|SE-?[ ]?[1-9][0-9]{{4}})"
    rf"[ ]+{_TOWN}(?!\w)"
)
# "-plan" also ends ordinary care words: only a capitalised name that is not one of them.
_NOT_STREETS: Final = re.compile(
    r"(?i:.*(?:insats|handlings|vård|genomförande|samordnings|åtgärds|stöd|utrednings|"
    r"arbets|säkerhets|kris|studie|skol|behandlings)plan(?:en)?)"
)


def _phone_end(text: str, m: re.Match[str]) -> int | None:
    """Where the phone number ends: after the most subscriber groups that give a number of the
    allowed length ("070-123 45 67 89 gånger" stops before "89"), or None."""
    if "." in (m["sep"] or "") and m["gap"] not in (None, "", "."):
        return None  # "kl. 08.00 2000": dots after the area code only in 070.174.06.05
    if m["foreign"] is not None:
        count, allowed = 0, _FOREIGN_DIGITS
    else:
        count, allowed = len(m["intl"] if m["cc"] else m["area"][1:]), _PHONE_NSN_DIGITS
    end = None
    for group in re.finditer(r"[0-9]+", m["subscriber"]):
        count += len(group[0])
        if count in allowed:
            end = m.start("subscriber") + group.end()
        elif count > allowed[-1]:
            break
    if end is not None and (_AMOUNT_AHEAD.match(text, end) or _STOCKHOLM_DATE.fullmatch(text, m.start(), end)):
        return None
    return end


# A word followed by a number: where an address could end. The address pattern is slow to search
# for everywhere, so it is tried only before such a word that ends like a street name.
_WORD_THEN_NUMBER: Final = re.compile(r"([^\W\d_]+)[ ]+[1-9]")
_STREET_ENDINGS: Final = tuple(
    {*_STREET_SUFFIXES.split("|"), *_STREET_NOUNS.split("|"), *_STREET_WORDS.lower().split("|"), "avenyn", "box"}
)
_WORDS_BEFORE_A_STREET: Final = 3  # "Drottning Kristinas väg", "Norra Hamngatan"


def _addresses(text: str) -> Iterator[re.Match[str]]:
    pos = 0
    for anchor in _WORD_THEN_NUMBER.finditer(text):
        if anchor.start() < pos or not anchor.group(1).lower().endswith(_STREET_ENDINGS):
            continue
        window = anchor.start()
        for _ in range(_WORDS_BEFORE_A_STREET):
            space = text.rfind(" ", pos, window - 1) if window - 1 > pos else -1
            if space < 0:
                window = pos
                break
            window = space + 1
        m = _ADDRESS_RE.search(text, window)
        if m is not None and m.start() <= anchor.start() < m.end():
            yield m
            pos = m.end()


def _pattern_spans(text: str) -> Iterator[tuple[int, int, RedactionKind]]:
    """Spans in `text`, which is normalised."""
    for m in _EMAIL_RE.finditer(text):
        yield m.start(), m.end(), RedactionKind.email
    phones: list[tuple[int, int]] = []
    pos = 0
    while (phone := _PHONE_RE.search(text, pos)) is not None:
        phone_end = _phone_end(text, phone)
        if phone_end is not None:
            phones.append((phone.start(), phone_end))
            yield phone.start(), phone_end, RedactionKind.phone
            pos = phone_end
        else:
            pos = phone.start() + 1
    for number in identity_number_matches(text):
        # A number with a wrong check digit that a phone number covers is that phone number.
        if number.check_digit_ok or not any(a <= number.start and number.end <= b for a, b in phones):
            yield number.start, number.end, RedactionKind.personnummer
    for m in _addresses(text):
        street = m["street"]
        last_word = street.split()[-1]
        if last_word.lower().endswith(("plan", "planen")) and (
            not last_word[0].isupper() or _NOT_STREETS.fullmatch(last_word)
        ):
            continue
        if street.lower() == "box" and not (street[0] == "B" or m.end() > m.end("number")):
            continue  # "en box 3": a box, not a post office box without its postcode
        if _UNIT_AHEAD.match(text, m.end("number")):
            continue
        yield m.start(), m.end(), RedactionKind.address
    for m in _POSTCODE_TOWN_RE.finditer(text):
        yield m.start(), m.end(), RedactionKind.address


def _known_spans(text: str, known: KnownIdentity) -> Iterator[tuple[int, int, RedactionKind]]:
    for kind, pattern in known._patterns:
        for m in pattern.finditer(text):
            if m.end() > m.start():
                yield m.start(), m.end(), kind


# --- scrubbing --------------------------------------------------------------------------------


def scrub_text(text: str, known: KnownIdentity, *, path: str, rule: str) -> tuple[str, list[Redaction]]:
    """Replace identity-revealing values in `text` with placeholders (SoL 14:5, 14:4).

    Values are looked for in the normalised text (`app.kit.textnorm`) and replaced where they
    stand in the original. Returns the scrubbed text and one Redaction per kind removed (in
    order of first occurrence); an empty list means the text is unchanged.
    """
    norm = normalize_text(text)
    found = (*_known_spans(norm.text, known), *_pattern_spans(norm.text))
    spans = sorted(
        ((*norm.original_span(start, end), kind) for start, end, kind in found),
        key=lambda s: (s[0], -s[1], _PRIORITY[s[2]]),
    )
    if not spans:
        return text, []
    merged: list[tuple[int, int, RedactionKind]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:  # overlaps: the earlier, longer match names it
            last_start, last_end, last_kind = merged[-1]
            merged[-1] = (last_start, max(last_end, end), last_kind)
        else:
            merged.append((start, end, kind))

    out: list[str] = []
    kinds: list[RedactionKind] = []
    pos = 0
    for start, end, kind in merged:
        out += [text[pos:start], PLACEHOLDERS[kind]]
        pos = end
        if kind not in kinds:
            kinds.append(kind)
    out.append(text[pos:])
    return "".join(out), [Redaction(path=path, kind=k.value, rule=rule) for k in kinds]


JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"


def scrub_identity(
    value: JsonValue, known: KnownIdentity, *, rule: str, path: str = ""
) -> tuple[JsonValue, list[Redaction]]:
    """Scrub every string in a JSON-like value; paths look like `notes[0].text`.

    Keys are kept as they are (they are schema field names, not free text).
    """
    if isinstance(value, str):
        return scrub_text(value, known, path=path, rule=rule)
    redactions: list[Redaction] = []
    if isinstance(value, list):
        items: list[JsonValue] = []
        for i, item in enumerate(value):
            scrubbed, found = scrub_identity(item, known, rule=rule, path=f"{path}[{i}]")
            items.append(scrubbed)
            redactions += found
        return items, redactions
    if isinstance(value, dict):
        fields: dict[str, JsonValue] = {}
        for key, item in value.items():
            scrubbed, found = scrub_identity(item, known, rule=rule, path=f"{path}.{key}" if path else key)
            fields[key] = scrubbed
            redactions += found
        return fields, redactions
    return value, redactions
