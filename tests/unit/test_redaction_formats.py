"""Scrubbing without `known_identity` (SoL 14 kap. 5 §): identities however they are written.

A personnummer written with spaces in pairs, as a date, with a slash or an underscore, with a
zero-width space or full-width digits, or with a wrong check digit; a phone number with dots,
spaced dashes or another country code; an e-mail address with `(at)`; a street address, a post
office box, a postcode with a town. And the other side: dates, amounts, counts, times and case
numbers survive.

The sentences come from `bench/scrub_corpus.py`, the corpus `make bench` scores the scrubber on:
Skatteverket's test personnummer (and wrong check digits derived from them), PTS's fiction
phone ranges, example.com/example.se.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cases.redaction import PLACEHOLDERS, SOL_14_5, KnownIdentity, RedactionKind, scrub_text
from app.kit.personnummer import is_valid_identity_number_digits
from app.kit.textnorm import normalize_text
from bench.scrub_corpus import (
    IDENTITY_NUMBERS,
    OFFICIAL_PERSONNUMMER,
    IdentitySample,
    harmless_sentence,
    identity_sample,
    wrong_check_digit,
)

T = TypeVar("T")
NOBODY = KnownIdentity.of()
PNR = "198112022382"  # Skatteverket's test numbers
PNR_2000S = "200102132396"
OFFICIAL_LIST = Path(__file__).resolve().parents[2].parent / "shared" / "domain" / "test-personnummer.txt"

PLACEHOLDER_OF = {
    "personnummer": PLACEHOLDERS[RedactionKind.personnummer],
    "phone": PLACEHOLDERS[RedactionKind.phone],
    "email": PLACEHOLDERS[RedactionKind.email],
    "address": PLACEHOLDERS[RedactionKind.address],
}


def scrub(text: str) -> str:
    return scrub_text(text, NOBODY, path="notes[0].text", rule=SOL_14_5)[0]


class DrawChooser:
    """The corpus' chooser over hypothesis' `draw`: the same sentences, shrinkable."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self.draw = draw

    def choice(self, options: Sequence[T]) -> T:
        chosen: T = self.draw(st.sampled_from(options))
        return chosen

    def integer(self, low: int, high: int) -> int:
        chosen: int = self.draw(st.integers(low, high))
        return chosen


class FirstChoice:
    """Always the first option and the lowest integer: a deterministic sample."""

    def choice(self, options: Sequence[T]) -> T:
        return options[0]

    def integer(self, low: int, high: int) -> int:
        return low


@st.composite
def identity_sentences(draw: st.DrawFn) -> IdentitySample:
    return identity_sample(DrawChooser(draw))


@st.composite
def harmless_sentences(draw: st.DrawFn) -> str:
    return harmless_sentence(DrawChooser(draw))


def accepted_placeholders(sample: IdentitySample) -> set[str]:
    if sample.kind == "personnummer" and not sample.check_digit_ok:
        # A mistyped number written like a phone number may be taken for one: removed either way.
        return {PLACEHOLDER_OF["personnummer"], PLACEHOLDER_OF["phone"]}
    if sample.kind == "phone" and is_valid_identity_number_digits(re.sub(r"[^0-9]", "", sample.value)):
        # 070 174 06 98 is also a valid samordningsnummer (2007-01-14): removed either way.
        return {PLACEHOLDER_OF["personnummer"], PLACEHOLDER_OF["phone"]}
    return {PLACEHOLDER_OF[sample.kind]}


# --- the generated corpus ------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(identity_sentences())
def test_sol_14_5_formatted_identities_in_swedish_sentences_are_removed(sample: IdentitySample) -> None:
    scrubbed, redactions = scrub_text(sample.text, NOBODY, path="notes[0].text", rule=SOL_14_5)
    before, after = sample.text[: sample.start], sample.text[sample.end :]
    # Exactly the value is replaced: everything around it, numbers included, is kept as written.
    assert scrubbed.startswith(before) and scrubbed.endswith(after), (sample.style, scrubbed)
    placeholder = scrubbed[len(before) : len(scrubbed) - len(after)]
    assert placeholder in accepted_placeholders(sample), (sample.style, scrubbed)
    assert len(redactions) == 1


@settings(max_examples=400, deadline=None)
@given(harmless_sentences())
def test_dates_amounts_counts_times_and_case_numbers_survive(sentence: str) -> None:
    assert scrub_text(sentence, NOBODY, path="p", rule=SOL_14_5) == (sentence, [])


@settings(max_examples=300, deadline=None)
@given(identity_sentences(), st.data())
def test_sol_14_5_zero_width_characters_anywhere_in_the_value_hide_nothing(
    sample: IdentitySample, data: st.DataObject
) -> None:
    value = list(sample.value)
    positions = data.draw(st.lists(st.integers(1, max(1, len(value) - 1)), max_size=3))
    for at in sorted(positions, reverse=True):
        value.insert(at, data.draw(st.sampled_from(["\u200b", "\u200d", "\u2060", "\ufeff", "\u00ad"])))
    hidden = "".join(value)
    text = sample.text[: sample.start] + hidden + sample.text[sample.end :]
    scrubbed = scrub(text)
    assert scrubbed.startswith(sample.text[: sample.start]) and scrubbed.endswith(sample.text[sample.end :])
    assert scrubbed[sample.start : len(scrubbed) - (len(sample.text) - sample.end)] in accepted_placeholders(sample)


# --- the forms named in the issue, one by one -----------------------------------------------


def pnr_forms(d: str) -> list[str]:
    return [
        f"{d[2:4]} {d[4:6]} {d[6:8]} - {d[8:10]} {d[10:]}",
        f"{d[:4]}-{d[4:6]}-{d[6:8]}-{d[8:]}",
        f"{d[2:8]}/{d[8:]}",
        f"{d[2:8]}_{d[8:]}",
        f"{d[2:8]}\u200b-{d[8:]}",
        f"{d[2:5]}\u200b{d[5:]}",
        f"{d[2:8]}-{d[8:]}".translate(str.maketrans("0123456789-", "０１２３４５６７８９－")),
        f"{d[2:8]}\u2011{d[8:]}",  # non-breaking hyphen
    ]


@pytest.mark.parametrize("form", pnr_forms(PNR) + pnr_forms(PNR_2000S) + pnr_forms("191401682396"))
def test_sol_14_5_personnummer_in_unusual_forms_removed(form: str) -> None:
    assert scrub(f"Hon uppgav {form} i samtalet.") == "Hon uppgav [personnummer] i samtalet."


@pytest.mark.parametrize("shift", range(1, 10))
@pytest.mark.parametrize("written", [lambda d: d, lambda d: f"{d[2:8]}-{d[8:]}", lambda d: f"{d[:8]}-{d[8:]}"])
def test_sol_14_5_personnummer_with_a_wrong_check_digit_is_still_an_identity(
    shift: int, written: Callable[[str], str]
) -> None:
    typo = written(wrong_check_digit(PNR, shift))
    scrubbed, redactions = scrub_text(f"Pnr {typo}, enligt henne.", NOBODY, path="p", rule=SOL_14_5)
    assert scrubbed == "Pnr [personnummer], enligt henne."
    assert [r.kind for r in redactions] == ["personnummer"]


@pytest.mark.parametrize(
    "value",
    [
        "070.174.06.05",
        "070 - 174 06 05",
        "070-174-06-05",
        "08.465.004.00",
        "+45 701 740 605",
        "0045 701740605",
        "+44 7700 900123",
        "＋４６ ７０ １７４ ０６ ０５",
    ],
)
def test_sol_14_5_phone_numbers_in_unusual_forms_removed(value: str) -> None:
    assert scrub(f"Ring {value} efter kl. 16.") == "Ring [telefon] efter kl. 16."


@pytest.mark.parametrize(
    "value",
    [
        "anna (at) example.se",
        "anna(at)example.se",
        "anna [at] example.se",
        "anna [snabel-a] example.se",
        "anna snabel-a example.se",
        "anna (at) example (punkt) se",
        "anna at example dot se",
        "anna @ example.se",
        "anna＠example.se",
    ],
)
def test_sol_14_5_email_addresses_written_out_removed(value: str) -> None:
    assert scrub(f"Mejla {value} i morgon.") == "Mejla [e-post] i morgon."


@pytest.mark.parametrize(
    "value",
    [
        "Kungsportsavenyen 21",
        "Avenyn 21",
        "Box 123, 411 01",
        "Box 123, 411 01 Göteborg",
        "box 123, 41101",
        "411 01 Göteborg",
        "SE-411 01 Göteborg",
        "Västra Hamngatan 3, 411 17 Göteborg",
        "Slottsparken 4",
        "Kungsva\u0308gen 3",  # a decomposed ä
    ],
)
def test_sol_14_5_addresses_boxes_and_postcodes_with_towns_removed(value: str) -> None:
    assert scrub(f"Post till {value} i morgon.") == "Post till [adress] i morgon."


@pytest.mark.parametrize(
    "text",
    [
        "Träff 08.11.2021 kl. 08.00, nästa 08-12-2021 och 08/12 2021.",
        "Den 2025-07-01 1200 kr utbetalades; insatsen pågick 2025-07-01 - 2025-12-19.",
        "Kl. 08.00 2000 kr, kl. 13:00 2026-75167 och 2025-07-01-2025-12-19.",
        "Belopp +12 500 kr, +1 250 000 kr; skuld 1 850 171 kr.",
        "Hon gick till stadsparken 3 gånger och fick en box med 3 saker.",
        "Ärende 2025-000123, dnr SN 2025/0456, IFO-2025-1234, § 123.",
        "Hon är 34 år, har 2 barn (3 och 7 år) och deltog 12 av 15 gånger, 45 min per gång.",
        "Vid 85 års ålder, 01 71 saknas; siffrorna 23 95 sa inget.",
        "Vikten 72 kg, 1,5 timmar, 2 x 45 min, plan 3, rum 412, buss 16, vecka 27.",
    ],
)
def test_ordinary_numbers_left_intact(text: str) -> None:
    assert scrub_text(text, NOBODY, path="p", rule=SOL_14_5) == (text, [])


def test_sol_14_5_the_replacement_lands_on_the_original_text() -> None:
    # The match is found in the normalised text; the original characters around it are untouched.
    text = "Å\u0308 ＡＢＣ\u00a0–\u00a0pnr ８１１２０２\u200b-２３８２ och\tmer"
    scrubbed = scrub(text)
    assert scrubbed == "Å\u0308 ＡＢＣ\u00a0–\u00a0pnr [personnummer] och\tmer"


def test_names_are_out_of_reach_of_patterns_but_not_of_known_identity() -> None:
    text = "Zyxwa Qvornsdotter kom i dag."
    assert scrub(text) == text  # no pattern can tell a name from a word ...
    known = KnownIdentity.of(names="Zyxwa Qvornsdotter")
    assert scrub_text(text, known, path="p", rule=SOL_14_5)[0] == "[namn] kom i dag."  # ... the caller can


def test_known_values_are_matched_in_their_normalised_form() -> None:
    known = KnownIdentity.of(names="Kungsva\u0308gen", phones="070\u2011174 06 05")
    scrubbed = scrub_text("Kungsvägen, ０７０１７４０６０５", known, path="p", rule=SOL_14_5)[0]
    assert scrubbed == "[namn], [telefon]"


# --- the corpus itself ------------------------------------------------------------------------


def test_the_corpus_uses_only_official_test_numbers() -> None:
    if not OFFICIAL_LIST.exists():
        pytest.skip("Skatteverket's test personnummer list is not beside the repository")
    official = set(OFFICIAL_LIST.read_text().split())
    assert set(OFFICIAL_PERSONNUMMER) <= official
    assert set(IDENTITY_NUMBERS) - set(OFFICIAL_PERSONNUMMER) == {"191401682396", "191403702390"}


def test_normalised_offsets_cover_the_original() -> None:
    for text in ("abc", "a\u200bb", "ﬁ\u0301x", "x (at) y.se", "８\u00a0-\u00a0９"):
        norm = normalize_text(text)
        assert norm.original_span(0, len(norm.text)) == (0, len(text))
        starts = [norm.original_span(i, i + 1)[0] for i in range(len(norm.text))]
        assert starts == sorted(starts)


def test_corpus_sample_values_are_where_the_sample_says() -> None:
    sample = identity_sample(FirstChoice())
    assert sample.text[sample.start : sample.end] == sample.value
    assert re.search(r"\{|\}", sample.text) is None
