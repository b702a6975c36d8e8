"""The summary check at the door: the facts of an opening request, for the one eligibility gate.

`POST /v1/cases` decides with the same pure check as `POST /v1/eligibility/check`
(`app.eligibility.rules`): this module only turns the opening request into `Facts` and names,
for each condition, the request field it was decided on. Identity numbers are read for an age
and dropped here; errors name fields, never values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.cases.policy import age_from_birth_year
from app.cases.problems import CONDITIONS_NOT_MET, body_path, invalid_fields
from app.cases.protection import PersonIdentity
from app.cases.schemas import UNKNOWN, CaseOpenIn
from app.core.errors import ProblemError
from app.eligibility.rules import ConditionResult, Facts, Verdict
from app.eligibility.service import CONTRADICTORY_FACTS
from app.kit.personnummer import IdentityNumber, InvalidIdentityNumber, parse_identity_number

# The request field each condition is decided on, where it does not depend on the facts' source.
_CONDITION_FIELDS = {
    "role": "participant.role",
    "school_year": "facts.school_year",
    "accompanying_children": "facts.accompanying_children",
    "residence": "facts.residence_committee",
    "target_group": "facts.self_declared_target_group",
}


@dataclass(frozen=True, slots=True)
class OpeningFacts:
    """The facts of an opening, the participant's age as documented, and where each came from."""

    facts: Facts
    age: int | None  # the participant's age on the opening date (None: not known, or declined)
    age_field: str | None  # the request field the age came from
    child_field: str | None  # the request field the child's age came from


def _number(person: PersonIdentity | None, on: dt.date) -> IdentityNumber | None:
    if person is None or not (person.personnummer or "").strip():
        return None
    try:
        return parse_identity_number(person.personnummer or "", today=on)
    except InvalidIdentityNumber:
        return None  # an identified case's registration names the invalid number; here it is unknown


def _contradiction(*fields: str) -> ProblemError:
    return ProblemError(
        CONTRADICTORY_FACTS,
        "These facts contradict each other: " + ", ".join(map(body_path, fields)) + ".",
        fields=[body_path(f) for f in fields],
    )


def _participant_age(body: CaseOpenIn, number: IdentityNumber | None, on: dt.date) -> tuple[int | None, str | None]:
    """The age of the one who takes part: as given, else from the birth year, else from the personnummer.

    Sources given together must agree (a birth year gives the age reached during the year, so it
    agrees with an age one lower too). `unknown` (declined) is no source: the others still count.
    """
    p = body.participant
    stated = p.age if isinstance(p.age, int) else None
    from_year: int | None = None
    if p.birth_year is not None:
        try:
            from_year = age_from_birth_year(p.birth_year, on)
        except ValueError:
            raise invalid_fields(
                ("participant.birth_year", "birth_year_after_opening", "the birth year is after the opening date")
            ) from None
    from_number = None if number is None else number.age_on(on)
    if stated is not None and from_number is not None and stated != from_number:
        raise _contradiction("participant.age", "subject.personnummer")
    if p.birth_year is not None and number is not None and number.birth_date.year != p.birth_year:
        raise _contradiction("participant.birth_year", "subject.personnummer")
    if stated is not None and from_year is not None and stated not in (from_year - 1, from_year):
        raise _contradiction("participant.age", "participant.birth_year")
    if stated is not None:
        return stated, "participant.age"
    if from_year is not None:
        return from_year, "participant.birth_year"
    if from_number is not None:
        return from_number, "subject.personnummer"
    return None, None


def opening_facts(
    body: CaseOpenIn, subject: PersonIdentity | None, child: PersonIdentity | None, on: dt.date
) -> OpeningFacts:
    """The facts the opening request states, on the opening date. Not stated: unknown (never blocks)."""
    age, age_field = _participant_age(body, _number(subject, on), on)
    child_number = _number(child, on)
    children_ages: tuple[int, ...] | None = None
    child_field: str | None = None
    if child_number is not None:  # the child the case is about: its personnummer gives its age
        children_ages, child_field = (child_number.age_on(on),), "child.personnummer"
    elif body.facts.children_ages is not None:
        children_ages, child_field = tuple(body.facts.children_ages), "facts.children_ages"
    facts = Facts(
        age=age,
        role=body.participant.role,
        children_ages=children_ages,
        school_year=body.facts.school_year,
        accompanying_children=body.facts.accompanying_children,
        residence_committee=body.facts.residence_committee,
        guardian_consent=body.consent_given,
        sessions_used=None,  # a new case: none used in it (the case endpoints count the cap)
        self_declared_target_group=body.facts.self_declared_target_group,
    )
    return OpeningFacts(facts, age, age_field, child_field)


def exempt_requirements(body: CaseOpenIn, age: int | None) -> list[tuple[str, str, str]]:
    """Seeds 002, 003: an exempted case still documents gender and age; `unknown` is an answer."""
    errors: list[tuple[str, str, str]] = []
    why = "required for an exempted case (SoL 14:4, 14:5); the person may decline: send unknown"
    if body.participant.gender is None:
        errors.append(("participant.gender", "missing", why))
    if age is None and body.participant.age != UNKNOWN:
        errors.append(("participant.age", "missing", why + " (or give birth_year)"))
    return errors


def _field(result: ConditionResult, opening: OpeningFacts) -> str:
    if result.condition == "age":
        return opening.age_field or "participant.age"
    if result.condition == "guardian_consent":
        if result.code == "sol_21_2_guardian_consent_missing":
            return "guardian_consent"
        return opening.age_field or "participant.age"
    if result.condition == "child_age":
        if result.code == "child_age_no_child":
            return "participant.role"
        return opening.child_field or "child.personnummer"
    return _CONDITION_FIELDS.get(result.condition, "facts")


def conditions_not_met(verdict: Verdict, opening: OpeningFacts) -> ProblemError:
    """The 422 for a refused opening: every failed condition, its code, paragraph and field; no value."""
    failed = verdict.failed
    return ProblemError(
        CONDITIONS_NOT_MET,
        f"The person does not meet {len(failed)} of the intervention's conditions ({verdict.status.value}); "
        "nothing was written.",
        verdict=verdict.status.value,
        conditions=[
            {
                "condition": r.condition,
                "code": r.code,
                "paragraph": r.paragraph,
                "field": body_path(_field(r, opening)),
                "message_sv": r.message_sv,
                "message_en": r.message_en,
            }
            for r in failed
        ],
        required_actions=[
            {"code": a.code, "message_sv": a.message_sv, "message_en": a.message_en} for a in verdict.required_actions
        ],
    )
