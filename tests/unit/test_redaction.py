"""Scrubbing identity-revealing data from free text (SoL 14 kap. 5 § and 4 §).

Personnummer literals are Skatteverket's official test numbers; phone numbers are from the
ranges PTS reserves for fiction (070-174 06 05..99, 031-390 06 00..99, 08-465 004 00..99);
e-mail addresses use the reserved domain example.com.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cases.redaction import (
    PLACEHOLDERS,
    SOL_14_4,
    SOL_14_5,
    JsonValue,
    KnownIdentity,
    Redaction,
    RedactionKind,
    rule_for,
    scrub_identity,
    scrub_text,
)

PNR = "198101012386"
NAME = "Anna-Karin Svensson"
PHONE = "+46 70 174 06 05"
EMAIL = "Anna.Svensson@example.com"
ADDRESS = "Storgatan 12B, 414 51 Göteborg"

KNOWN = KnownIdentity.of(personnummer=PNR, names=NAME, phones=PHONE, emails=EMAIL, addresses=ADDRESS)
NOBODY = KnownIdentity.of()

PNR_FORMATS = [
    "198101012386",
    "19810101-2386",
    "19810101 2386",
    "19810101+2386",
    "8101012386",
    "810101-2386",
    "810101+2386",
    "810101 2386",
    "810101\u20132386",
    "810101 - 2386",
    "81 01 01-23 86",
]
PHONE_FORMATS = [
    "+46 70 174 06 05",
    "+46701740605",
    "+46 (0)70-174 06 05",
    "0046 70 174 06 05",
    "0046701740605",
    "070-174 06 05",
    "070 174 06 05",
    "070-1740605",
    "0701740605",
    "070/174 06 05",
    "070.174.06.05",
]
EMAIL_FORMATS = [EMAIL, EMAIL.lower(), EMAIL.upper()]
NAME_FORMATS = [
    "Anna-Karin Svensson",
    "anna-karin svensson",
    "ANNA-KARIN",
    "Anna-Karins",
    "Anna",
    "Annas",
    "Anna's",
    "Anna’s",
    "Karin",
    "karins",
    "Svensson",
    "Svenssons",
    "Svensson:s",
    "Svensson, Anna-Karin",
    "Anna-Karin  Svensson",
]


def scrub(text: str, known: KnownIdentity = KNOWN, rule: str = SOL_14_5) -> str:
    return scrub_text(text, known, path="notes[0].text", rule=rule)[0]


def kinds(text: str, known: KnownIdentity = KNOWN) -> list[str]:
    return [r.kind for r in scrub_text(text, known, path="p", rule=SOL_14_5)[1]]


def name_survives(name_part: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name_part)}(?!\w)", text, re.IGNORECASE) is not None


def luhn_digit(nine: str) -> str:
    total = 0
    for i, ch in enumerate(nine):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return str((10 - total % 10) % 10)


# --- the rule ------------------------------------------------------------------------------


def test_rule_for_documentation_rules() -> None:
    assert rule_for("identity_exempt") == SOL_14_5 == "SoL 14:5"
    assert rule_for("counselling_exempt") == SOL_14_4 == "SoL 14:4"
    assert rule_for("standard") is None


# --- known values ---------------------------------------------------------------------------


def test_sol_14_5_known_name_parts_removed_from_free_text() -> None:
    text = "Anna-Karin Svensson kom. Annas mamma och Karin's syster ringde; svenssons hund."
    scrubbed = scrub(text)
    assert scrubbed == "[namn] kom. [namn] mamma och [namn] syster ringde; [namn] hund."
    for part in ("Anna", "Karin", "Svensson", "Anna-Karin"):
        assert not name_survives(part, scrubbed)


@pytest.mark.parametrize("form", NAME_FORMATS)
def test_sol_14_5_known_name_in_any_form(form: str) -> None:
    scrubbed = scrub(f"Samtal med {form} i dag.")
    assert scrubbed.startswith("Samtal med [namn]")
    assert scrubbed.endswith(" i dag.")
    assert not any(name_survives(p, scrubbed) for p in ("Anna", "Karin", "Svensson"))


def test_sol_14_5_name_parts_match_only_whole_words() -> None:
    known = KnownIdentity.of(names="Bo Ek")
    assert scrub("Hon bokade en tid vid eken.", known) == "Hon bokade en tid vid eken."
    assert scrub("Bo ringde, Ek svarade, Bos bror kom.", known) == "[namn] ringde, [namn] svarade, [namn] bror kom."


def test_sol_14_5_single_letter_name_parts_ignored() -> None:
    known = KnownIdentity.of(names="Li A Ek")
    assert scrub("Li och Ek, a och A.", known) == "[namn] och [namn], a och A."


@pytest.mark.parametrize("form", PNR_FORMATS)
def test_sol_14_5_known_personnummer_in_every_format(form: str) -> None:
    scrubbed = scrub(f"Pnr {form}.")
    assert scrubbed == "Pnr [personnummer]."


def test_sol_14_5_known_short_form_personnummer_matches_long_form() -> None:
    known = KnownIdentity.of(personnummer="810101-2386")
    assert scrub("Pnr 19810101-2386 och 198101012386.", known) == "Pnr [personnummer] och [personnummer]."


@pytest.mark.parametrize("form", PHONE_FORMATS)
def test_sol_14_5_known_phone_regardless_of_prefix_and_spacing(form: str) -> None:
    assert scrub(f"Tel {form}, efter kl 16.") == "Tel [telefon], efter kl 16."


@pytest.mark.parametrize("form", EMAIL_FORMATS)
def test_sol_14_5_known_email_case_insensitive(form: str) -> None:
    assert scrub(f"Mejl: {form}.") == "Mejl: [e-post]."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bor på Storgatan 12B, 414 51 Göteborg.", "Bor på [adress]."),
        ("Bor på storgatan 12 b numera.", "Bor på [adress] numera."),
        ("Bor på Storgatan 12B.", "Bor på [adress]."),
        ("Flyttade från Storgatan i våras.", "Flyttade från [adress] i våras."),
        ("Storgatans lekplats.", "[adress] lekplats."),
    ],
)
def test_sol_14_5_known_address_full_and_street_name(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_sol_14_5_known_values_removed_even_when_glued_to_digits() -> None:
    scrubbed = scrub("ref 7198101012386 och 90701740605")
    assert "8101012386" not in scrubbed
    assert "701740605" not in scrubbed


# --- patterns, for values nobody gave ------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["189001019802", "18900101-9802", "900101+9802", "191401682396", "140168+2396"],
)
def test_sol_14_5_any_valid_personnummer_or_samordningsnummer_removed(value: str) -> None:
    assert scrub(f"Uppgav {value} i samtalet.", NOBODY) == "Uppgav [personnummer] i samtalet."


@pytest.mark.parametrize(
    "value",
    [
        "070-174 06 99",
        "070 174 06 93",
        "0701740697",
        "+46 70 174 06 96",
        "+46701740694",
        "031-390 06 00",
        "031-3900601",
        "(031) 390 06 02",
        "08-465 004 00",
        "08-46500401",
        "+46 8 465 004 02",
        "0046 31 390 06 03",
    ],
)
def test_sol_14_5_any_swedish_phone_number_removed(value: str) -> None:
    assert scrub(f"Ring {value} i morgon.", NOBODY) == "Ring [telefon] i morgon."


@pytest.mark.parametrize("value", ["kalle@example.com", "k.a-l+le@sub.example.com", "Ö.Åberg@example.com"])
def test_sol_14_5_any_email_removed(value: str) -> None:
    assert scrub(f"Skriv till {value}, tack.", NOBODY) == "Skriv till [e-post], tack."


@pytest.mark.parametrize(
    "value",
    [
        "Kungsgatan 3",
        "Kungsvägen 3 A",
        "Linnégatan 12B, 413 04 Göteborg",
        "Stigbergsliden 5",
        "Mariaplan 5",
        "Järntorget 4-6",
        "Kvarngränd 7",
        "Lövstigen 23",
        "Kastanjeallén 9",
        "Götaleden 12",
        "Sveaplan 1",
        "Olof Palmes gata 4",
        "Drottning Kristinas väg 5, lgh 1102",
        "Björkbacke 2",
        "Södra Vägen 44",
        "Norra Hamngatan 18, 411 06 Göteborg",
        "Strandesplanaden 8",
        "Gamla Torget 2",
    ],
)
def test_sol_14_5_any_street_address_with_number_removed(value: str) -> None:
    assert scrub(f"Träffades på {value} i går.", NOBODY) == "Träffades på [adress] i går."


# --- what must stay -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Insatsen startade 2025-07-01 och avslutades 2025-12-19.",
        "Deltog i 8 av 10 träffar (12 sessioner planerade).",
        "Deltagaren är 34 år, kvinna, och 2 barn 3 och 7 år.",
        "Mötet kl. 08.30-09.45, nästa 14:00. Datum 01-07-2025 och 1/7 2025.",
        "Mående vid start 3, vid avslut 7 på skalan 1-10.",
        "Ny insatsplan 2025-07-01, Insatsplan 3 upprättad, genomförandeplan 2 reviderad.",
        "Gruppen har 12 deltagare, 5 kvinnor och 7 män; 3 avbrott i förtid.",
        "Ärende 2025-00123 registrerat, diarienummer SN 2025/0456.",
        "Hon går hela vägen 3 gånger per vecka; planen 2 veckor framåt.",
        "Väg 40 var avstängd. Plan 3 i huset.",
        "Ringde 1 gång, 112 behövdes inte.",
    ],
)
def test_ordinary_swedish_text_left_intact(text: str) -> None:
    assert scrub_text(text, KNOWN, path="notes[0].text", rule=SOL_14_5) == (text, [])


fragments = st.one_of(
    st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)).map(lambda d: d.isoformat()),
    st.integers(0, 99).map(lambda n: f"{n} år"),
    st.integers(0, 999).map(lambda n: f"{n} sessioner"),
    st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"kl. {t[0]:02d}.{t[1]:02d}"),
    st.sampled_from(["Deltagaren", "mådde bättre", "i gruppen", "avslut", "uppföljning", "(", ")", ",", "."]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(fragments, max_size=12))
def test_ordinary_fragments_left_intact(parts: list[str]) -> None:
    text = " ".join(parts)
    assert scrub_text(text, KNOWN, path="p", rule=SOL_14_5) == (text, [])


# --- records --------------------------------------------------------------------------------


def test_redactions_one_per_kind_per_path_in_order_and_without_values() -> None:
    text = f"Anna ringde {PHONE}, Svensson igen, pnr {PNR}, ring 070-174 06 99."
    scrubbed, redactions = scrub_text(text, KNOWN, path="notes[2].text", rule=SOL_14_5)
    assert scrubbed == "[namn] ringde [telefon], [namn] igen, pnr [personnummer], ring [telefon]."
    assert redactions == [
        Redaction(path="notes[2].text", kind="name", rule="SoL 14:5"),
        Redaction(path="notes[2].text", kind="phone", rule="SoL 14:5"),
        Redaction(path="notes[2].text", kind="personnummer", rule="SoL 14:5"),
    ]
    assert not any(v in repr(redactions) for v in ("Anna", "Svensson", "174", "8101"))


def test_sol_14_4_counselling_scrubs_the_same_way_under_its_own_rule() -> None:
    scrubbed, redactions = scrub_text("Anna, tel 070-174 06 05.", KNOWN, path="summary", rule=SOL_14_4)
    assert scrubbed == "[namn], tel [telefon]."
    assert {r.rule for r in redactions} == {"SoL 14:4"}


def test_overlapping_matches_become_one_placeholder() -> None:
    # The e-mail holds both name parts: one e-mail placeholder, no name fragments.
    assert scrub("Mejla anna-karin.svensson@example.com") == "Mejla [e-post]"
    assert kinds("Mejla anna-karin.svensson@example.com") == ["email"]


def test_scrub_identity_walks_nested_values_with_paths() -> None:
    value: JsonValue = {
        "notes": [{"text": "Anna kom", "sessions": 3}, {"text": "Ingen kom"}],
        "subject": {"name": NAME, "age": 34},
        "summary": None,
    }
    scrubbed, redactions = scrub_identity(value, KNOWN, rule=SOL_14_5)
    assert scrubbed == {
        "notes": [{"text": "[namn] kom", "sessions": 3}, {"text": "Ingen kom"}],
        "subject": {"name": "[namn]", "age": 34},
        "summary": None,
    }
    assert [(r.path, r.kind) for r in redactions] == [("notes[0].text", "name"), ("subject.name", "name")]


def test_known_identity_of_drops_blanks_and_masks_its_repr() -> None:
    known = KnownIdentity.of(personnummer=[PNR, None, " "], names="  ", phones=None, emails=[EMAIL])
    assert known.personnummer == [PNR]
    assert known.names == []
    assert known.phones == []
    assert repr(known) == "KnownIdentity(personnummer=1, names=0, phones=0, emails=1, addresses=0)"


def test_placeholders_cover_every_kind() -> None:
    assert set(PLACEHOLDERS) == set(RedactionKind)


# --- properties -----------------------------------------------------------------------------

surrounding = st.text(max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    before=surrounding,
    after=surrounding,
    value=st.one_of(
        st.sampled_from(PNR_FORMATS).map(lambda v: ("personnummer", v)),
        st.sampled_from(PHONE_FORMATS).map(lambda v: ("phone", v)),
        st.sampled_from(EMAIL_FORMATS).map(lambda v: ("email", v)),
        st.sampled_from(NAME_FORMATS).map(lambda v: ("name", v)),
    ),
)
def test_sol_14_5_known_values_never_survive_in_arbitrary_text(before: str, after: str, value: tuple[str, str]) -> None:
    _, inserted = value
    scrubbed = scrub(f"{before} {inserted} {after}")
    for form in (*PNR_FORMATS, *PHONE_FORMATS, *EMAIL_FORMATS):
        if form not in before and form not in after:
            assert form not in scrubbed
    for part in ("Anna", "Karin", "Svensson"):
        if not name_survives(part, before) and not name_survives(part, after):
            assert not name_survives(part, scrubbed)


@st.composite
def generated_personnummer(draw: st.DrawFn) -> str:
    birth = draw(st.dates(dt.date(1890, 1, 1), dt.date(2023, 12, 31)))
    day = birth.day + 60 if draw(st.booleans()) else birth.day
    eleven = f"{birth:%Y%m}{day:02d}{draw(st.integers(1, 999)):03d}"
    twelve = eleven + luhn_digit(eleven[2:])
    return draw(st.sampled_from([twelve, f"{twelve[:8]}-{twelve[8:]}", twelve[2:], f"{twelve[2:8]}-{twelve[8:]}"]))


@st.composite
def generated_phone(draw: st.DrawFn) -> str:
    area, length = draw(st.sampled_from([("70", 7), ("73", 7), ("8", 7), ("31", 6), ("8", 6)]))
    subscriber = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=length, max_size=length)))
    spaced = " ".join(
        [subscriber[:-4], subscriber[-4:-2], subscriber[-2:]]
        if len(subscriber) > 6
        else [subscriber[:2], subscriber[2:4], subscriber[4:]]
    )
    return draw(
        st.sampled_from([f"0{area}-{spaced}", f"0{area} {spaced}", f"0{area}{subscriber}", f"+46 {area} {spaced}"])
    )


@settings(max_examples=300, deadline=None)
@given(before=surrounding, after=surrounding, value=st.one_of(generated_personnummer(), generated_phone()))
def test_sol_14_5_unknown_numbers_never_survive_in_arbitrary_text(before: str, after: str, value: str) -> None:
    scrubbed = scrub(f"{before} {value} {after}", NOBODY)
    if value not in before and value not in after:
        assert value not in scrubbed
