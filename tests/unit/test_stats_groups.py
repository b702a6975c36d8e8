"""Group meetings are unit-level data: the note is scrubbed whatever the intervention's rule."""

from __future__ import annotations

from app.catalog.domain import DeliveryForm
from app.stats.groups import UNIT_LEVEL, is_group_intervention, scrub_note

NOTE = "Träff 3. Sigrid Provsson, 19900301-2391, vill bli uppringd på 070-174 06 42 eller sigrid.test@example.com."


def test_sol_14_5_a_group_note_is_scrubbed_like_exempted_text():
    scrubbed, redactions = scrub_note(NOTE, "identity_exempt")
    assert (
        scrubbed is not None and "2391" not in scrubbed and "174 06" not in scrubbed and "example.com" not in scrubbed
    )
    assert {r.rule for r in redactions} == {"SoL 14:5"}


def test_sol_14_4_a_counselling_group_note_is_scrubbed():
    _, redactions = scrub_note(NOTE, "counselling_exempt")
    assert {r.kind for r in redactions} >= {"personnummer", "phone", "email"}
    assert {r.rule for r in redactions} == {"SoL 14:4"}


def test_sol_14_3_a_group_note_under_the_standard_rule_is_still_unit_level():
    scrubbed, redactions = scrub_note(NOTE, "standard")
    assert scrubbed is not None and "2391" not in scrubbed
    assert {r.rule for r in redactions} == {UNIT_LEVEL}
    assert scrub_note(None, "standard") == (None, [])


def test_only_group_interventions_take_group_meetings():
    assert is_group_intervention(DeliveryForm.group)
    assert is_group_intervention(DeliveryForm.individual_or_group)
    assert not is_group_intervention(DeliveryForm.individual)
