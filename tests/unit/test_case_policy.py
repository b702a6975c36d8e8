"""The case rules: identity per documentation rule, the status machine, the cap, de-identification.

Personnummer literals are Skatteverket's official test numbers.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from app.cases.policy import (
    CODED_ENTRY_TEXTS,
    EARLY_TERMINATION_LABELS,
    CaseClosed,
    CaseStatus,
    CodedEntry,
    EarlyTerminationReason,
    Identity,
    IllegalTransition,
    JournalSync,
    RegisteredOn,
    SessionCapReached,
    Step,
    age_band,
    age_from_birth_year,
    cap_window_start,
    check_session_cap,
    identity_for,
    journal_sync_for,
    new_participant_code,
    next_status,
    registered_on,
    step_of_note,
)
from app.cases.protection import PersonIdentity, Scrubber, dropped_identity, known_identity, storable_address
from app.catalog.domain import DocumentationRule, SubjectRule
from app.journal.port import EntryKind

R, P, G, F, C = (
    CaseStatus.registered,
    CaseStatus.planned,
    CaseStatus.in_progress,
    CaseStatus.followed_up,
    CaseStatus.closed,
)  # G: genomförande (in progress)
PNR = "198507012394"


def test_sol_14_3_standard_rule_registers_the_person():
    assert identity_for(DocumentationRule.standard) is Identity.identified
    assert journal_sync_for(Identity.identified) is JournalSync.pending
    assert registered_on(DocumentationRule.standard, SubjectRule.recipient) is RegisteredOn.subject


def test_seed_004_parent_targeted_case_is_registered_on_the_child():
    assert registered_on(DocumentationRule.standard, SubjectRule.child) is RegisteredOn.child


@pytest.mark.parametrize("rule", [DocumentationRule.identity_exempt, DocumentationRule.counselling_exempt])
def test_sol_14_5_and_14_4_exempted_cases_are_anonymous_and_never_sent(rule):
    assert identity_for(rule) is Identity.anonymous
    assert registered_on(rule, SubjectRule.child) is None
    assert journal_sync_for(Identity.anonymous) is JournalSync.not_applicable


# --- the status machine --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "step", "expected"),
    [
        (R, Step.plan, R),
        (R, Step.carry_out, G),
        (G, Step.carry_out, G),
        (R, Step.follow_up, R),
        (G, Step.follow_up, G),
        (R, Step.other, R),
        (R, Step.close, C),
        (G, Step.close, C),
    ],
)
def test_three_step_process(current, step, expected):
    assert next_status(current, step, 3) is expected


@pytest.mark.parametrize(
    ("current", "step", "expected"),
    [
        (R, Step.plan, P),
        (P, Step.plan, P),
        (G, Step.plan, G),
        (R, Step.carry_out, G),
        (P, Step.carry_out, G),
        (G, Step.follow_up, F),
        (F, Step.follow_up, F),
        (F, Step.carry_out, G),
        (F, Step.plan, F),
        (R, Step.close, C),
        (P, Step.close, C),
        (F, Step.close, C),
        (P, Step.other, P),
    ],
)
def test_five_step_process(current, step, expected):
    assert next_status(current, step, 5) is expected


@pytest.mark.parametrize("current", [R, P])
def test_five_step_follow_up_before_carrying_out_is_illegal(current):
    with pytest.raises(IllegalTransition):
        next_status(current, Step.follow_up, 5)


@pytest.mark.parametrize("step", list(Step))
@pytest.mark.parametrize("steps", [3, 5])
def test_a_closed_case_takes_nothing(step, steps):
    with pytest.raises(CaseClosed):
        next_status(C, step, steps)


def test_unknown_process_is_refused():
    with pytest.raises(ValueError):
        next_status(R, Step.plan, 4)


def test_note_kinds_map_to_steps():
    assert step_of_note(EntryKind.planning) is Step.plan
    assert step_of_note(EntryKind.execution) is Step.carry_out
    assert step_of_note(EntryKind.follow_up) is Step.follow_up
    assert step_of_note(EntryKind.event) is Step.other
    assert step_of_note(EntryKind.closing) is Step.other


def test_session_cap_from_the_committees_conditions():
    assert check_session_cap(0, 3) == 1
    assert check_session_cap(2, 3) == 3
    with pytest.raises(SessionCapReached):
        check_session_cap(3, 3)
    assert check_session_cap(40, None) == 41


def test_session_cap_counts_the_persons_earlier_cases():
    # A new case does not start the committee's cap again.
    assert check_session_cap(0, 5, earlier=4) == 1
    with pytest.raises(SessionCapReached):
        check_session_cap(0, 5, earlier=5)
    with pytest.raises(SessionCapReached):
        check_session_cap(2, 5, earlier=3)


@pytest.mark.parametrize(
    ("on", "months", "start"),
    [
        (dt.date(2026, 9, 1), 12, dt.date(2025, 9, 1)),
        (dt.date(2026, 3, 31), 1, dt.date(2026, 2, 28)),  # no 31 February: the month's last day
        (dt.date(2024, 2, 29), 12, dt.date(2023, 2, 28)),
        (dt.date(2026, 1, 15), 1, dt.date(2025, 12, 15)),
        (dt.date(2026, 12, 31), 24, dt.date(2024, 12, 31)),
    ],
)
def test_session_cap_window_reaches_back_whole_months(on, months, start):
    assert cap_window_start(on, months) == start


def test_every_early_termination_reason_and_coded_entry_has_a_swedish_text():
    assert set(EARLY_TERMINATION_LABELS) == set(EarlyTerminationReason)
    assert [r.value for r in EarlyTerminationReason] == [
        "moved",
        "declined_to_continue",
        "referred_to_needs_assessed",
        "no_show",
        "other",
    ]
    assert set(CODED_ENTRY_TEXTS) == set(CodedEntry)
    assert {c.value for c in CodedEntry} == {"concern_reported", "referred_to_needs_assessed"}


# --- de-identified participant data ------------------------------------------------------------


def test_participant_code_is_random_and_unambiguous():
    codes = {new_participant_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(r"IUB-[2-9A-HJ-NP-Z]{8}", c) for c in codes)


def test_age_not_birth_date():
    assert age_from_birth_year(1981, dt.date(2026, 9, 1)) == 45
    with pytest.raises(ValueError):
        age_from_birth_year(2027, dt.date(2026, 9, 1))
    assert [age_band(a) for a in (None, 4, 15, 19, 25, 45, 70)] == [
        None,
        "0-12",
        "13-17",
        "18-20",
        "21-29",
        "30-49",
        "65-79",
    ]


# --- what is kept and what is removed --------------------------------------------------------------

SUBJECT = PersonIdentity(
    personnummer=PNR, name="Sigrid Provsson", address="Provgatan 3", phone="070-174 06 42", email="sigrid@example.com"
)


def test_sol_14_5_identity_values_never_persisted():
    dropped = dropped_identity("subject", SUBJECT, DocumentationRule.identity_exempt)
    assert [(r.path, r.kind, r.rule) for r in dropped] == [
        ("subject.personnummer", "personnummer", "SoL 14:5"),
        ("subject.name", "name", "SoL 14:5"),
        ("subject.address", "address", "SoL 14:5"),
        ("subject.phone", "phone", "SoL 14:5"),
        ("subject.email", "email", "SoL 14:5"),
    ]
    scrubber = Scrubber(DocumentationRule.identity_exempt, known_identity([SUBJECT]))
    text = scrubber.text(f"Sigrid ({PNR[2:8]}-{PNR[8:]}) ringde från 070 174 06 42.", "notes[0].text")
    assert text == "[namn] ([personnummer]) ringde från [telefon]."
    assert {r.kind for r in scrubber.redactions} == {"name", "personnummer", "phone"}
    assert all(PNR not in repr(r) and "Sigrid" not in repr(r) for r in scrubber.redactions)


def test_sol_14_4_counselling_exempt_scrubs_the_same_way():
    scrubber = Scrubber(DocumentationRule.counselling_exempt, known_identity([SUBJECT]))
    assert scrubber.text("Provsson mår bättre.", "text") == "[namn] mår bättre."
    assert scrubber.redactions[0].rule == "SoL 14:4"


def test_sol_14_3_identified_free_text_is_kept_as_written():
    scrubber = Scrubber(DocumentationRule.standard, known_identity([SUBJECT]))
    assert scrubber.text("Sigrid ringde från 070 174 06 42.", "text") == "Sigrid ringde från 070 174 06 42."
    assert scrubber.redactions == []
    assert dropped_identity("subject", SUBJECT, DocumentationRule.standard) == []


def test_protected_identity_address_is_not_stored():
    protected = PersonIdentity(personnummer=PNR, name="Sigrid Provsson", address="Provgatan 3", protected_identity=True)
    address, redactions = storable_address("subject", protected)
    assert address is None
    assert [(r.path, r.kind, r.rule) for r in redactions] == [("subject.address", "address", "protected_identity")]
    assert storable_address("subject", SUBJECT) == ("Provgatan 3", [])


def test_identity_values_never_show_in_repr():
    assert PNR not in repr(SUBJECT) and "Sigrid" not in repr(SUBJECT)
