"""Group meetings as the law sees them. Pure.

A group meeting (stöd i grupp, seed 004: "IUB kan även erbjudas i form av rådgivning och stöd
i grupp") is documented at unit level: how many took part, by gender and age band, and at most
a short de-identified note. No person, no case, no participant code.
"""

from __future__ import annotations

from typing import Final

from app.cases.redaction import KnownIdentity, Redaction, rule_for, scrub_text
from app.catalog.domain import DeliveryForm

GROUP_FORMS: Final = frozenset({DeliveryForm.group, DeliveryForm.individual_or_group})
# What removes identity from a group note under the standard rule: the note is unit-level data.
UNIT_LEVEL: Final = "unit_level"


def is_group_intervention(form: DeliveryForm) -> bool:
    return form in GROUP_FORMS


# SoL 14:4, 14:5 — and under the standard rule too: a group's note is unit-level follow-up, so
# it is scrubbed of identity like any exempted text (the same scrubber, `redaction.scrub_text`).
def scrub_note(text: str | None, documentation_rule: str) -> tuple[str | None, list[Redaction]]:
    if text is None:
        return None, []
    return scrub_text(text, KnownIdentity(), path="note", rule=rule_for(documentation_rule) or UNIT_LEVEL)
