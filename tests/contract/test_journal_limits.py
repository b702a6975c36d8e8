"""The API accepts only what the journal system accepts: our limits against the contract's.

A value the journal system refuses (HTTP 422) is dead-lettered and holds up every later event
of its case, so (a) every limit in `app.journal.limits` is the contract's, (b) every length
the contract bounds has a limit there, (c) every text field of our request models either
reaches the journal system within the contract's limit, is composed into an entry bounded by
construction, or never reaches it — and says which, and (d) the composed entries fit for any
input.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from typing import Any

from annotated_types import MaxLen
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from app.cases import schemas as case_schemas
from app.cases.journal_events import SESSION_FORMS, closing_entry_text
from app.catalog.schemas import InterventionDoc
from app.journal import events, limits
from app.journal.limits import TRUNCATION_MARK, fit
from app.journal.port import (
    CaseClosing,
    CaseRegistration,
    ClosingReason,
    EntryKind,
    InterventionPlan,
    JournalEntry,
    PersonRecord,
    PlanPersonal,
)
from tests.contract.journal_harness import contract_dict

# (a) Each constant and the contract fields it stands for: (schema, property path).
PLAN_OPTIONAL_TEXTS = ("time_frame", "reason_for_seeking", "goals", "form", "frequency", "follow_up")
CONSTANTS: dict[str, list[tuple[str, str]]] = {
    "PERSON_NAME_MAX": [("PersonUpsert", "name"), ("PersonPatch", "name")],
    "PERSON_ADDRESS_MAX": [("PersonUpsert", "address"), ("PersonPatch", "address")],
    "PERSON_PHONE_MAX": [("PersonUpsert", "phone"), ("PersonPatch", "phone")],
    "PERSON_EMAIL_MAX": [("PersonUpsert", "email"), ("PersonPatch", "email")],
    "UNIT_MAX": [("CaseRegistration", "unit")],
    "INTERVENTION_ID_MAX": [("CaseRegistration", "intervention.id")],
    "INTERVENTION_NAME_MAX": [("CaseRegistration", "intervention.name")],
    "ENTRY_TEXT_MAX": [("JournalEntryFields", "text")],
    "PLAN_TEXT_MAX": [
        *(("InterventionPlanFields", name) for name in (*PLAN_OPTIONAL_TEXTS, "reason_for_closing")),
        ("InterventionPlanFields", "personal.next_of_kin"),
    ],
    "PLAN_DESCRIPTION_MAX": [("InterventionPlanFields", "description")],
    "PLAN_RESPONSIBLE_CONTACT_MAX": [("InterventionPlanFields", "responsible_contact")],
    "EARLY_TERMINATION_REASON_MAX": [("Closing", "early_termination_reason")],
}
# The request bodies the service sends (components/schemas).
REQUEST_SCHEMAS = (
    "PersonUpsert",
    "PersonPatch",
    "CaseRegistration",
    "JournalEntryFields",
    "InterventionPlanFields",
    "Closing",
)

# (c) Our request models' text fields that reach the journal system, and where they land.
REACHES_JOURNAL: dict[tuple[type[BaseModel], str], tuple[str, str]] = {
    (case_schemas.IdentityIn, "name"): ("PersonUpsert", "name"),
    (case_schemas.IdentityIn, "address"): ("PersonUpsert", "address"),
    (case_schemas.IdentityIn, "phone"): ("PersonUpsert", "phone"),
    (case_schemas.IdentityIn, "email"): ("PersonUpsert", "email"),
    (case_schemas.PersonPatchIn, "name"): ("PersonPatch", "name"),
    (case_schemas.PersonPatchIn, "address"): ("PersonPatch", "address"),
    (case_schemas.PersonPatchIn, "phone"): ("PersonPatch", "phone"),
    (case_schemas.PersonPatchIn, "email"): ("PersonPatch", "email"),
    (case_schemas.NoteIn, "text"): ("JournalEntryFields", "text"),
    **{
        (case_schemas.PlanIn, name): ("InterventionPlanFields", name)
        for name in (*PLAN_OPTIONAL_TEXTS, "reason_for_closing", "description", "responsible_contact")
    },
    (case_schemas.PlanPersonalIn, "next_of_kin"): ("InterventionPlanFields", "personal.next_of_kin"),
    (InterventionDoc, "id"): ("CaseRegistration", "intervention.id"),
    (InterventionDoc, "name"): ("CaseRegistration", "intervention.name"),
}
# Text composed into a journal entry, bounded by construction (test below); field -> its bound.
COMPOSED: dict[tuple[type[BaseModel], str], int] = {
    (case_schemas.ParticipantViewIn, "comment"): limits.PARTICIPANT_VIEW_MAX,
    # The closing's `early_termination_reason` is the code's label and this note.
    (case_schemas.CloseIn, "early_termination_note"): limits.EARLY_TERMINATION_NOTE_MAX,
}
# Text that never reaches the journal system, and why.
NOT_SENT: dict[tuple[type[BaseModel], str], str] = {
    (case_schemas.IdentityIn, "personnummer"): "sent as 12 validated digits, never as given",
    (case_schemas.CaseOpenIn, "intervention_id"): "looked up in the catalog; the catalog's id is sent",
    (case_schemas.OccurrenceQueryIn, "personnummer"): "a registry question, never sent",
    (case_schemas.ConditionFactsIn, "residence_committee"): "a fact for the summary check, never stored",
    (InterventionDoc, "description"): "catalog only",
    (InterventionDoc, "target_group"): "catalog only",
    (InterventionDoc, "special_reasons"): "catalog only",
}


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    spec = contract_dict()
    while "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _properties(node: dict[str, Any]) -> dict[str, Any]:
    node = _resolve(node)
    found = dict(node.get("properties", {}))
    for part in node.get("allOf", []):
        found |= _properties(part)
    return found


def contract_max_length(schema: str, path: str) -> int | None:
    node = contract_dict()["components"]["schemas"][schema]
    for name in path.split("."):
        node = _resolve(_properties(node)[name])
    limit = node.get("maxLength")
    return None if limit is None else int(limit)


def _bounded_strings(schema: str, node: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for name, prop in _properties(node).items():
        prop = _resolve(prop)
        path = f"{prefix}{name}"
        if "maxLength" in prop:
            found.append((schema, path))
        if "properties" in prop or "allOf" in prop:
            found += _bounded_strings(schema, prop, f"{path}.")
    return found


def api_max_length(model: type[BaseModel], name: str) -> int | None:
    lengths = [m.max_length for m in model.model_fields[name].metadata if isinstance(m, MaxLen)]
    return min(lengths) if lengths else None


def _is_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return str in typing.get_args(annotation)
    return False


def _declaring(model: type[BaseModel], name: str) -> type[BaseModel]:
    """The class that declares the field (a subclass inherits its parent's classification)."""
    return next(c for c in model.__mro__ if name in getattr(c, "__annotations__", {}))


def _request_models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [InterventionDoc]
    pending = [case_schemas._In]
    while pending:
        for sub in pending.pop().__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found


# (a), (b) ---------------------------------------------------------------------------------------


def test_every_limit_is_the_journal_contracts() -> None:
    for constant, fields in CONSTANTS.items():
        for schema, path in fields:
            assert getattr(limits, constant) == contract_max_length(schema, path), f"{constant} vs {schema}.{path}"


def test_every_length_the_journal_contract_bounds_has_a_limit_here() -> None:
    covered = {field for fields in CONSTANTS.values() for field in fields}
    for schema in REQUEST_SCHEMAS:
        for field in _bounded_strings(schema, contract_dict()["components"]["schemas"][schema]):
            assert field in covered, f"{field[0]}.{field[1]} is bounded by the contract but has no constant"


# (c) ---------------------------------------------------------------------------------------------


def test_every_api_field_that_reaches_the_journal_is_no_longer_than_the_contract_allows() -> None:
    for (model, name), (schema, path) in REACHES_JOURNAL.items():
        ours, theirs = api_max_length(model, name), contract_max_length(schema, path)
        assert theirs is not None and ours is not None, f"{model.__name__}.{name} is unbounded"
        assert ours <= theirs, f"{model.__name__}.{name} accepts {ours} characters, the contract {theirs}"


def test_every_text_field_of_a_request_model_is_known_to_reach_the_journal_or_not() -> None:
    """A new text field must say where it goes: a new limit cannot be forgotten."""
    classified = set(REACHES_JOURNAL) | set(COMPOSED) | set(NOT_SENT)
    for model in _request_models():
        for name, info in model.model_fields.items():
            if _is_text(info.annotation):
                assert (_declaring(model, name), name) in classified, f"classify {model.__name__}.{name}"


def test_composed_text_fields_are_bounded_as_the_composition_assumes() -> None:
    for (model, name), bound in COMPOSED.items():
        assert api_max_length(model, name) == bound
    assert limits.PARTICIPANT_VIEW_MAX + limits.EARLY_TERMINATION_REASON_MAX + limits.CLOSING_ENTRY_RESERVE == (
        limits.ENTRY_TEXT_MAX
    )
    assert limits.EARLY_TERMINATION_NOTE_MAX + limits.EARLY_TERMINATION_LABEL_RESERVE == (
        limits.EARLY_TERMINATION_REASON_MAX
    )


# (d) the composed entries -----------------------------------------------------------------------

ratings = st.one_of(st.none(), st.integers(min_value=-(2**31), max_value=2**31 - 1))


def _text(length: int, char: str) -> str:
    return (char * length)[:length]


@given(
    reason=st.sampled_from(ClosingReason),
    early=st.integers(0, 3 * limits.EARLY_TERMINATION_REASON_MAX),
    view=st.integers(0, 2 * limits.ENTRY_TEXT_MAX),
    wellbeing=ratings,
    satisfaction=ratings,
    char=st.sampled_from(["a", "å", " ", "\n", "😀"]),
)
def test_the_closing_entry_fits_the_journal_contract_whatever_it_is_given(
    reason: ClosingReason, early: int, view: int, wellbeing: int | None, satisfaction: int | None, char: str
) -> None:
    text = closing_entry_text(
        reason,
        early_termination=_text(early, char) or None,
        end_wellbeing=wellbeing,
        participant_satisfaction=satisfaction,
        participant_view=_text(view, char) or None,
    )
    assert 1 <= len(text) <= limits.ENTRY_TEXT_MAX


@given(reason=st.sampled_from(ClosingReason), wellbeing=st.integers(1, 5), satisfaction=st.integers(1, 5))
def test_text_the_api_accepts_is_never_cut_from_the_closing_entry(
    reason: ClosingReason, wellbeing: int, satisfaction: int
) -> None:
    early = _text(limits.EARLY_TERMINATION_REASON_MAX, "ö")
    view = _text(limits.PARTICIPANT_VIEW_MAX, "ä")
    text = closing_entry_text(
        reason,
        early_termination=early,
        end_wellbeing=wellbeing,
        participant_satisfaction=satisfaction,
        participant_view=view,
    )
    assert early in text and view in text and TRUNCATION_MARK not in text
    fixed = closing_entry_text(
        reason,
        early_termination="x",
        end_wellbeing=wellbeing,
        participant_satisfaction=satisfaction,
        participant_view="y",
    )
    assert len(fixed) < limits.CLOSING_ENTRY_RESERVE, "the fixed sentences fit the reserve"


@given(number=st.integers(1, 2**31 - 1), cap=st.one_of(st.none(), st.integers(1, 2**31 - 1)))
def test_a_session_entry_fits_the_journal_contract_for_any_number_and_cap(number: int, cap: int | None) -> None:
    longest = max(SESSION_FORMS.values(), key=len)
    text = f"{longest} {number}{'' if cap is None else f' av {cap}'} genomförd."
    assert len(text) <= limits.ENTRY_TEXT_MAX


def test_fit_shortens_only_what_is_too_long_and_shows_it_was_cut() -> None:
    assert fit("kort", 10) == "kort"
    assert fit("a" * 10, 10) == "a" * 10
    cut = fit("ord " * 100, 40)
    assert len(cut) <= 40 and cut.endswith(TRUNCATION_MARK)
    assert fit(" " * 50, 10) == TRUNCATION_MARK, "never empty: the contract wants at least one character"


def test_the_codec_writes_only_what_the_contract_accepts() -> None:
    """Even a record built from rows stored before the limits (longer than the API now allows)."""
    long = "x" * 30_000
    registration = CaseRegistration(
        person=PersonRecord("199003012391", "Test Testsson"),
        unit="unit-a",
        intervention_id="x",
        intervention_name=long,
        process_steps=3,
        opened_on=dt.date(2026, 9, 1),
    )
    plan = InterventionPlan(
        starts_on=dt.date(2026, 9, 1),
        description=long,
        responsible_contact=long,
        goals=long,
        personal=PlanPersonal(next_of_kin=long),
    )
    closing = CaseClosing(
        closed_on=dt.date(2026, 9, 2),
        reason=ClosingReason.ended_early,
        disposal_due_on=dt.date(2031, 9, 2),
        early_termination_reason=long,
    )
    entry = JournalEntry(EntryKind.closing, dt.date(2026, 9, 2), long)
    fitted_registration = events.fit_registration(registration)
    assert len(fitted_registration.intervention_name) == limits.INTERVENTION_NAME_MAX
    fitted_plan = events.fit_plan(plan)
    for field in dataclasses.fields(fitted_plan):
        value = getattr(fitted_plan, field.name)
        if isinstance(value, str):
            assert len(value) <= limits.PLAN_TEXT_MAX
    assert len(fitted_plan.responsible_contact) == limits.PLAN_RESPONSIBLE_CONTACT_MAX
    assert len(fitted_plan.personal.next_of_kin or "") == limits.PLAN_TEXT_MAX
    assert len(events.fit_closing(closing).early_termination_reason or "") == limits.EARLY_TERMINATION_REASON_MAX
    assert len(events.fit_entry(entry).text) == limits.ENTRY_TEXT_MAX


def test_refit_leaves_a_payload_that_fits_as_it_was() -> None:
    """A part the journal system applied must be sent again unchanged, so its key replays."""
    record = CaseRegistration(
        person=PersonRecord("199003012391", "Test Testsson"),
        unit="unit-a",
        intervention_id="x",
        intervention_name="Samtalsstöd",
        process_steps=3,
        opened_on=dt.date(2026, 9, 1),
    )
    payload = {"case_id": "c", "registration": events._json(record), "person_id": "p"}
    assert events.refit(payload) == payload
    entry = {"kind": "closing", "occurred_on": "2026-09-02", "text": "Avslut."}
    closing = {
        "closed_on": "2026-09-02",
        "reason": "ended_early",
        "disposal_due_on": "2031-09-02",
        "early_termination_reason": "y" * 5_000,
    }
    refitted = events.refit({"case_id": "c", "closing": closing, "entry": entry})
    assert refitted["entry"] == entry, "the entry fitted and stays as it was"
    assert len(refitted["closing"]["early_termination_reason"]) == limits.EARLY_TERMINATION_REASON_MAX
