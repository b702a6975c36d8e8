"""What the journal system accepts: the field limits of `contracts/journal-system.openapi.yaml`.

One source of truth for lengths. The API's request models take their limits from here, so a
value the API accepts is a value the journal system accepts; what the service composes itself
(the closing entry, a session's entry) is bounded here by construction. A value the journal
system refuses would be dead-lettered and hold up every later event of its case, so
`tests/contract/test_journal_limits.py` compares each constant below with the contract and
each request field that reaches the journal system with these constants: change the contract
and that test names what has to follow.

Lengths are counted in characters (Unicode code points), as JSON Schema's `maxLength` and
pydantic's `max_length` both count them.
"""

from __future__ import annotations

from typing import Final

# --- the contract (components/schemas/...) --------------------------------------------------

PERSON_NAME_MAX: Final = 200  # PersonUpsert.name, PersonPatch.name
PERSON_ADDRESS_MAX: Final = 4_000  # PersonUpsert.address (OptionalText)
PERSON_PHONE_MAX: Final = 40  # PersonUpsert.phone
PERSON_EMAIL_MAX: Final = 254  # PersonUpsert.email
UNIT_MAX: Final = 100  # CaseRegistration.unit
INTERVENTION_ID_MAX: Final = 100  # Intervention.id
INTERVENTION_NAME_MAX: Final = 200  # Intervention.name
ENTRY_TEXT_MAX: Final = 20_000  # JournalEntryFields.text
PLAN_TEXT_MAX: Final = 4_000  # InterventionPlanFields: every OptionalText heading, personal.next_of_kin
PLAN_DESCRIPTION_MAX: Final = 4_000  # InterventionPlanFields.description
PLAN_RESPONSIBLE_CONTACT_MAX: Final = 400  # InterventionPlanFields.responsible_contact
EARLY_TERMINATION_REASON_MAX: Final = 4_000  # Closing.early_termination_reason

# --- ours, derived from the contract's ---------------------------------------------------------

# The closing's `early_termination_reason` carries the coded reason's label and the free-text
# note: the label gets this much, the note the rest.
EARLY_TERMINATION_LABEL_RESERVE: Final = 100
EARLY_TERMINATION_NOTE_MAX: Final = EARLY_TERMINATION_REASON_MAX - EARLY_TERMINATION_LABEL_RESERVE

# The closing journal entry is composed of fixed sentences (reason, ratings: well under this),
# the early-termination text and the participant's own view; bounding the view by what is left
# makes the entry fit `ENTRY_TEXT_MAX` by construction.
CLOSING_ENTRY_RESERVE: Final = 1_000
PARTICIPANT_VIEW_MAX: Final = ENTRY_TEXT_MAX - EARLY_TERMINATION_REASON_MAX - CLOSING_ENTRY_RESERVE

# Marks text the service had to shorten (only ever text stored before these limits applied,
# or a composition that would not fit): the journal's reader sees that something was cut.
TRUNCATION_MARK: Final = " […]"


def fit(text: str, limit: int) -> str:
    """`text` if it is at most `limit` characters, else its start and `TRUNCATION_MARK`."""
    if len(text) <= limit:
        return text
    keep = max(0, limit - len(TRUNCATION_MARK))
    return text[:keep].rstrip() + TRUNCATION_MARK[: limit - keep]


def fit_optional(text: str | None, limit: int) -> str | None:
    return None if text is None else fit(text, limit)
