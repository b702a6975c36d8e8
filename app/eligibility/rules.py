"""The provider's summary check (summarisk kontroll): simple facts against a committee's conditions.

A provider may only check facts against the conditions the committee set; it never assesses
need (SoL 11 kap. 5 §, seed 001 "Villkor"). Self-declared facts (a crisis, harmful use,
violence, belonging to the target group) are taken as declared: no evidence is asked for.

Pure: frozen dataclasses and functions, no I/O, no framework. Each legal rule lives in one
function below and names its paragraph. An intervention's conditions are compiled once
(`compile_intervention`) into a tuple of checks whose every possible outcome is a prebuilt
`ConditionResult`; `evaluate` then only compares numbers and picks results — no parsing,
no string building, no dates in the hot loop.

Facts are resolved to an age before evaluation (`resolve_age`): a personnummer or
samordningsnummer only serves to compute the age on the check's date and is then dropped.

This is the one gate: `POST /v1/eligibility/check` answers the verdict, and `POST /v1/cases`
refuses to open a case for facts whose verdict `refuses_opening` (ineligible or not yet).
Facts nobody stated stay unknown and never block; only a failed condition does.

SoL = socialtjänstlagen (2025:400).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from app.catalog.domain import Committee, Conditions, Intervention, Kind, Role, SubjectRule
from app.eligibility.notices import (
    GUARDIAN_CONSENT_NOTICE,
    OBTAIN_GUARDIAN_CONSENT_ACTION,
    Notice,
    RequiredAction,
    apply_for_needs_assessed,
    documentation_notice,
    right_to_apply,
)
from app.kit.personnummer import InvalidIdentityNumber, age_on, parse_identity_number

# SoL 21:2: under 15 the guardian's consent is required; 15-17 only where the committee considered it.
CONSENT_AGE: Final = 15
ADULT_AGE: Final = 18


class Status(StrEnum):
    """The verdict on one intervention."""

    eligible = "eligible"  # every condition is met
    not_yet = "not_yet"  # only something the person can remedy is missing (the guardian's consent)
    undetermined = "undetermined"  # some condition is unknown, none failed
    ineligible = "ineligible"  # a condition failed


# Ranks: the worst condition decides the verdict (ineligible > not_yet > undetermined > eligible).
# A curable gap (the missing consent) outranks an unknown fact: an unrelated unknown never hides it.
_STATUS_BY_RANK: Final = (Status.eligible, Status.undetermined, Status.not_yet, Status.ineligible)
_MET, _UNKNOWN, _CURABLE, _FAILED = 0, 1, 2, 3


# --- facts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    """What the person (or the provider on their behalf) states; None = not given (unknown).

    Holds no identity: the age is all that is kept of a birth date or an identity number.
    """

    age: int | None = None
    role: Role | None = None
    children_ages: tuple[int, ...] | None = None  # the ages of the children a parent comes about
    school_year: int | None = None  # 0 = förskoleklass, 1-9 grundskola
    accompanying_children: bool | None = None
    residence_committee: str | None = None
    guardian_consent: bool | None = None
    sessions_used: int | None = None  # None: none used yet (a first visit)
    # The person declares they belong to the target group as the committee wrote it: never evidence.
    # None: taken as declared (turning to the provider for the intervention is the declaration).
    self_declared_target_group: bool | None = None


class FactError(ValueError):
    """The facts cannot be used. Messages and attributes name fields, never values."""


class InvalidFact(FactError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ContradictoryFacts(FactError):
    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = tuple(fields)
        super().__init__("contradictory facts: " + ", ".join(self.fields))


def resolve_age(
    *,
    on: dt.date,
    age: int | None = None,
    birth_date: dt.date | None = None,
    identity_numbers: dict[str, str] | None = None,
) -> int | None:
    """The age on `on`, from whichever of age, birth date or identity number(s) was given.

    `identity_numbers` maps a field name ("personnummer", "samordningsnummer") to the value;
    each is parsed only to compute the age and never kept. Raises InvalidFact for an
    unreadable number or a birth after `on`, ContradictoryFacts (field names only) when the
    sources disagree.
    """
    ages: dict[str, int] = {}
    if age is not None:
        ages["age"] = age
    if birth_date is not None:
        if birth_date > on:
            raise ContradictoryFacts(("birth_date", "on"))
        ages["birth_date"] = age_on(birth_date, on)
    for field, value in (identity_numbers or {}).items():
        try:
            number = parse_identity_number(value, today=on)
        except InvalidIdentityNumber:
            number = None  # never chain: the library's messages carry the value
        if number is None:
            raise InvalidFact(
                field,
                "not a valid personnummer or samordningsnummer: ten or twelve digits, optionally "
                "with - or + before the last four, a valid date (for a samordningsnummer the day plus "
                "sixty) not after the date of the check, and a correct check digit",
            )
        ages[field] = number.age_on(on)
    if len(set(ages.values())) > 1:
        raise ContradictoryFacts(ages)
    return next(iter(ages.values()), None)


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """One condition's outcome. Prebuilt at compile time: every outcome is a constant.

    `condition` names what is checked (stable per condition); `code` names the outcome
    (stable per outcome, e.g. `session_cap_reached`); `met` is True, False or None (unknown).
    `paragraph` is set where the law, not only the committee, sets the condition.
    """

    condition: str
    code: str
    met: bool | None
    message_sv: str
    message_en: str
    paragraph: str | None = None
    rank: int = _MET
    action: RequiredAction | None = None
    notice: Notice | None = None


def _met(
    condition: str, code: str, sv: str, en: str, paragraph: str | None = None, notice: Notice | None = None
) -> ConditionResult:
    return ConditionResult(condition, code, True, sv, en, paragraph, _MET, None, notice)


def _failed(
    condition: str, code: str, sv: str, en: str, paragraph: str | None = None, action: RequiredAction | None = None
) -> ConditionResult:
    return ConditionResult(condition, code, False, sv, en, paragraph, _FAILED, action)


def _unknown(
    condition: str, code: str, sv: str, en: str, paragraph: str | None = None, notice: Notice | None = None
) -> ConditionResult:
    return ConditionResult(condition, code, None, sv, en, paragraph, _UNKNOWN, None, notice)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer for one intervention: may the person take part, and what must be said and done."""

    intervention_id: str
    status: Status
    conditions: tuple[ConditionResult, ...]
    required_actions: tuple[RequiredAction, ...]
    notices: tuple[Notice, ...]

    @property
    def eligible(self) -> bool | None:
        """True only when eligible; None while undetermined (unknown is not a refusal); else False."""
        if self.status is Status.undetermined:
            return None
        return self.status is Status.eligible

    @property
    def refuses_opening(self) -> bool:
        """Whether a case may not be opened on these facts (SoL 11:5: the committee's conditions)."""
        return self.status in (Status.ineligible, Status.not_yet)

    @property
    def failed(self) -> tuple[ConditionResult, ...]:
        """The conditions that keep the person out (a missing consent included)."""
        return tuple(r for r in self.conditions if r.met is False)


Check = Callable[[Facts], ConditionResult]


@dataclass(frozen=True, slots=True)
class CompiledIntervention:
    """An intervention's conditions as checks, and the notices every answer about it carries."""

    intervention: Intervention
    committee: Committee
    checks: tuple[Check, ...]
    notices: tuple[Notice, ...]

    @property
    def id(self) -> str:
        return self.intervention.id


# --- texts ----------------------------------------------------------------------------------

_ROLE_SV: Final = {
    Role.child: "barn",
    Role.parent: "förälder",
    Role.relative: "anhörig eller närstående",
    Role.adult: "vuxen",
}
_ROLE_EN: Final = {
    Role.child: "child",
    Role.parent: "parent",
    Role.relative: "relative or close person",
    Role.adult: "adult",
}


def _or_sv(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " eller " + items[-1]


def _or_en(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _age_range(low: int | None, high: int | None) -> tuple[str, str]:
    if low is not None and high is not None:
        return f"{low}–{high} år", f"aged {low} to {high}"
    if low is not None:
        return f"från {low} år", f"aged {low} or over"
    return f"till och med {high} år", f"aged {high} or under"


# --- the conditions ------------------------------------------------------------------------
# Each returns None when the intervention does not have the condition.


def _presumed_role(subject_rule: SubjectRule) -> Role | None:
    # Seed 004: a parent-targeted intervention (the case is registered on the child) is taken by a
    # parent; whoever turns to it without stating a role comes as the child's parent.
    return Role.parent if subject_rule is SubjectRule.child else None


def _role(c: Conditions, subject_rule: SubjectRule) -> Check | None:
    # The committee's condition on the role in which the person takes part.
    if not c.roles:
        return None
    presumed = _presumed_role(subject_rule)
    allowed = frozenset(c.roles)
    sv, en = _or_sv([_ROLE_SV[r] for r in c.roles]), _or_en([_ROLE_EN[r] for r in c.roles])
    ok = _met("role", "role_allowed", f"Personen deltar som {sv}.", f"The person takes part as {en}.")
    bad = _failed(
        "role",
        "role_not_allowed",
        f"Insatsen är till för den som deltar som {sv}.",
        f"The intervention is for someone taking part as {en}.",
    )
    unknown = _unknown(
        "role",
        "role_unknown",
        f"Rollen är inte angiven; insatsen är till för {sv}.",
        f"The role was not given; the intervention is for {en}.",
    )

    def check(f: Facts) -> ConditionResult:
        role = f.role if f.role is not None else presumed
        if role is None:
            return unknown
        return ok if role in allowed else bad

    return check


def _age(c: Conditions, kind: Kind) -> Check | None:
    # The committee's age limits on the participant.
    if c.min_age is None and c.max_age is None:
        return None
    sv, en = _age_range(c.min_age, c.max_age)
    paragraph: str | None = None
    law_sv = law_en = ""
    if kind in (Kind.protected_housing, Kind.residential_care) and c.min_age is not None and c.min_age >= 21:
        # SoL 11:5 p. 5: protected housing and HVB without needs assessment only from 21.
        paragraph = "SoL 11:5"
        law_sv = " Skyddat boende och HVB utan behovsprövning kan bara ges den som har fyllt 21 år (11 kap. 5 § SoL)."
        law_en = (
            " Protected housing and residential care without a needs assessment require the person"
            " to be at least 21 (SoL chapter 11 section 5)."
        )
    ok = _met(
        "age", "age_in_range", f"Åldern uppfyller villkoret ({sv}).", f"The age meets the condition ({en}).", paragraph
    )
    low = _failed(
        "age",
        "age_below_minimum",
        f"Personen är yngre än villkoret medger ({sv})." + law_sv,
        f"The person is younger than the condition allows ({en})." + law_en,
        paragraph,
    )
    high = _failed(
        "age",
        "age_above_maximum",
        f"Personen är äldre än villkoret medger ({sv}).",
        f"The person is older than the condition allows ({en}).",
        paragraph,
    )
    unknown = _unknown(
        "age",
        "age_unknown",
        f"Åldern är inte angiven; villkoret är {sv}.",
        f"The age was not given; the condition is {en}.",
        paragraph,
    )
    lo = c.min_age if c.min_age is not None else -1
    hi = c.max_age if c.max_age is not None else 1_000

    def check(f: Facts) -> ConditionResult:
        age = f.age
        if age is None:
            return unknown
        if age < lo:
            return low
        return high if age > hi else ok

    return check


def _child_age(c: Conditions, subject_rule: SubjectRule) -> Check | None:
    # The committee's age limits on the child concerned: the participant as a child, or at least
    # one of the children a parent comes about. A parent-targeted intervention (seed 004: the case
    # is registered on the child) is always about a child: under 18, even without a committee bound.
    if c.child_min_age is None and c.child_max_age is None and subject_rule is not SubjectRule.child:
        return None
    sv, en = _age_range(c.child_min_age, c.child_max_age if c.child_max_age is not None else ADULT_AGE - 1)
    ok = _met(
        "child_age",
        "child_age_in_range",
        f"Barnets ålder uppfyller villkoret ({sv}).",
        f"The child's age meets the condition ({en}).",
    )
    out = _failed(
        "child_age",
        "child_age_out_of_range",
        f"Insatsen gäller barn {sv}.",
        f"The intervention concerns children {en}.",
    )
    no_child = _failed(
        "child_age",
        "child_age_no_child",
        f"Insatsen gäller barn {sv}: personen deltar varken som barnet eller som förälder.",
        f"The intervention concerns children {en}: the person takes part neither as the child nor as a parent.",
    )
    unknown = _unknown(
        "child_age",
        "child_age_unknown",
        f"Barnets ålder är inte angiven; insatsen gäller barn {sv}.",
        f"The child's age was not given; the intervention concerns children {en}.",
    )
    lo = c.child_min_age if c.child_min_age is not None else 0
    hi = min(c.child_max_age, ADULT_AGE - 1) if c.child_max_age is not None else ADULT_AGE - 1
    presumed = _presumed_role(subject_rule)

    def check(f: Facts) -> ConditionResult:
        role = f.role if f.role is not None else presumed
        if role is Role.parent:
            ages = f.children_ages
            if ages is None:
                return unknown
            for child in ages:
                if lo <= child <= hi:
                    return ok
            return out
        if role is Role.child:
            age = f.age
            if age is None:
                return unknown
            return ok if lo <= age <= hi else out
        return unknown if role is None else no_child

    return check


def _school_year(c: Conditions) -> Check | None:
    # The committee's condition on the school year (årskurs).
    if not c.school_years:
        return None
    years = frozenset(c.school_years)
    listed = ", ".join(str(y) for y in sorted(years))
    ok = _met(
        "school_year",
        "school_year_allowed",
        f"Årskursen uppfyller villkoret (årskurs {listed}).",
        f"The school year meets the condition (years {listed}).",
    )
    bad = _failed(
        "school_year",
        "school_year_not_allowed",
        f"Insatsen gäller elever i årskurs {listed}.",
        f"The intervention is for pupils in school years {listed}.",
    )
    unknown = _unknown(
        "school_year",
        "school_year_unknown",
        f"Årskursen är inte angiven; insatsen gäller årskurs {listed}.",
        f"The school year was not given; the intervention is for years {listed}.",
    )

    def check(f: Facts) -> ConditionResult:
        if f.school_year is None:
            return unknown
        return ok if f.school_year in years else bad

    return check


def _no_accompanying_children(c: Conditions, kind: Kind) -> Check | None:
    # SoL 11:5 (seed 001): protected housing without needs assessment only without accompanying
    # children; the committee may set the condition on other interventions too.
    if not c.no_accompanying_children:
        return None
    paragraph = "SoL 11:5" if kind is Kind.protected_housing else None
    law_sv = " (11 kap. 5 § SoL)" if paragraph else ""
    law_en = " (SoL chapter 11 section 5)" if paragraph else ""
    ok = _met(
        "accompanying_children",
        "no_accompanying_children",
        "Personen har inga medföljande barn.",
        "The person has no accompanying children.",
        paragraph,
    )
    bad = _failed(
        "accompanying_children",
        "has_accompanying_children",
        f"Insatsen kan utan behovsprövning bara ges den som inte har medföljande barn{law_sv}.",
        "Without a needs assessment the intervention can only be given to someone without "
        f"accompanying children{law_en}.",
        paragraph,
    )
    unknown = _unknown(
        "accompanying_children",
        "accompanying_children_unknown",
        f"Det är inte angivet om personen har medföljande barn; insatsen förutsätter att hen inte har det{law_sv}.",
        "Whether the person has accompanying children was not given; the intervention "
        f"requires that they do not{law_en}.",
        paragraph,
    )

    def check(f: Facts) -> ConditionResult:
        if f.accompanying_children is None:
            return unknown
        return bad if f.accompanying_children else ok

    return check


def _residence(c: Conditions, committee: Committee) -> Check | None:
    # The committee's condition that the person lives in its district.
    if not c.residence_in_committee:
        return None
    ok = _met(
        "residence",
        "resident_in_committee",
        f"Personen bor i {committee.name}s område.",
        f"The person lives in the district of {committee.name}.",
    )
    bad = _failed(
        "residence",
        "not_resident_in_committee",
        f"Insatsen gäller den som bor i {committee.name}s område.",
        f"The intervention is for people living in the district of {committee.name}.",
    )
    unknown = _unknown(
        "residence",
        "residence_unknown",
        f"Bostadsområdet är inte angivet; insatsen gäller den som bor i {committee.name}s område.",
        f"The residence was not given; the intervention is for people living in the district of {committee.name}.",
    )
    own = committee.id

    def check(f: Facts) -> ConditionResult:
        if f.residence_committee is None:
            return unknown
        return ok if f.residence_committee == own else bad

    return check


def _sol_21_2_guardian_consent(c: Conditions) -> Check | None:
    # SoL 21:2: a child under 15 takes part only with the guardian's consent (missing consent is
    # "not yet", with the action to obtain it); a child of 15-17 only where the committee
    # considered the intervention appropriate for that age.
    if c.min_age is not None and c.min_age >= ADULT_AGE:
        return None  # no child can take part
    admits_under_15 = c.min_age is None or c.min_age < CONSENT_AGE
    admits_15_17 = c.max_age is None or c.max_age >= CONSENT_AGE  # min_age < 18 here
    considered = c.ages_15_17_considered
    if not admits_under_15 and considered:
        return None  # only ages 15-17 and adults, and the committee considered 15-17
    p = "SoL 21:2"
    under_15_notice = GUARDIAN_CONSENT_NOTICE if admits_under_15 else None
    adult = _met(
        "guardian_consent",
        "sol_21_2_adult",
        "Personen är vuxen; vårdnadshavarens samtycke behövs inte.",
        "The person is an adult; no guardian's consent is needed.",
        p,
    )
    given = _met(
        "guardian_consent",
        "sol_21_2_guardian_consent_given",
        "Vårdnadshavarens samtycke finns (krävs för barn under 15 år, 21 kap. 2 § SoL).",
        "The guardian has consented (required for a child under 15, SoL chapter 21 section 2).",
        p,
        GUARDIAN_CONSENT_NOTICE,
    )
    missing = ConditionResult(
        "guardian_consent",
        "sol_21_2_guardian_consent_missing",
        False,
        "Barnet är under 15 år: vårdnadshavarens samtycke krävs innan insatsen kan påbörjas (21 kap. 2 § SoL).",
        "The child is under 15: the guardian's consent is required before the intervention can start "
        "(SoL chapter 21 section 2).",
        p,
        _CURABLE,
        OBTAIN_GUARDIAN_CONSENT_ACTION,
        GUARDIAN_CONSENT_NOTICE,
    )
    teen_ok = _met(
        "guardian_consent",
        "sol_21_2_ages_15_17_considered",
        "Nämnden har bedömt insatsen lämplig för barn 15–17 år; de kan delta utan "
        "vårdnadshavarens samtycke (21 kap. 2 § SoL).",
        "The committee considered the intervention appropriate for children aged 15 to 17; "
        "they may take part without the guardian's consent (SoL chapter 21 section 2).",
        p,
    )
    teen_bad = _failed(
        "guardian_consent",
        "sol_21_2_ages_15_17_not_considered",
        "Nämnden har inte bedömt insatsen lämplig för barn 15–17 år; den kan inte ges "
        "till dem utan behovsprövning (21 kap. 2 § SoL).",
        "The committee has not considered the intervention appropriate for children aged "
        "15 to 17; it cannot be given to them without a needs assessment "
        "(SoL chapter 21 section 2).",
        p,
    )
    unknown = _unknown(
        "guardian_consent",
        "sol_21_2_age_unknown",
        "Åldern är inte angiven: "
        + ("för barn under 15 år krävs vårdnadshavarens samtycke" if admits_under_15 else "")
        + ("" if considered else (", och " if admits_under_15 else "") + "barn 15–17 år kan inte delta")
        + " (21 kap. 2 § SoL).",
        "The age was not given: "
        + ("a child under 15 needs the guardian's consent" if admits_under_15 else "")
        + ("" if considered else (", and " if admits_under_15 else "") + "children aged 15 to 17 cannot take part")
        + " (SoL chapter 21 section 2).",
        p,
        under_15_notice,
    )
    # Consent given and every child age allowed: whatever the age, the condition holds.
    consent_covers_all = considered or not admits_15_17

    def check(f: Facts) -> ConditionResult:
        age = f.age
        if age is None:
            return given if f.guardian_consent is True and consent_covers_all else unknown
        if age >= ADULT_AGE:
            return adult
        if age >= CONSENT_AGE:
            return teen_ok if considered else teen_bad
        return given if f.guardian_consent is True else missing

    return check


def _session_cap(c: Conditions, committee: Committee) -> Check | None:
    # The committee's cap on sessions without needs assessment; past it, the bridge to the
    # ordinary route: apply for a needs-assessed intervention (seed 001, seed 004). Not given means
    # none used: a first visit. The cap limits how the intervention is carried out (the case
    # endpoints count the sessions); a person who has not used it up may always start.
    if c.max_sessions is None:
        return None
    cap = c.max_sessions
    ok = _met(
        "session_cap",
        "sessions_remaining",
        f"Taket på {cap} samtal eller träffar är inte nått.",
        f"The cap of {cap} sessions has not been reached.",
    )
    reached = _failed(
        "session_cap",
        "session_cap_reached",
        f"Taket på {cap} samtal eller träffar är nått: insatsen kan inte fortsätta utan ett behovsprövat beslut.",
        f"The cap of {cap} sessions has been reached: the intervention cannot continue without "
        "a needs-assessed decision.",
        action=apply_for_needs_assessed(committee.id, committee.name),
    )

    def check(f: Facts) -> ConditionResult:
        used = f.sessions_used
        return ok if used is None or used < cap else reached

    return check


def _target_group(intervention: Intervention) -> Check:
    # SoL 11:5 (seed 001 "Villkor"): only a summary check. Membership of the target group is
    # what the person declares; the provider asks for no evidence and assesses no need. Turning to
    # the provider for the intervention is the declaration: the target group never blocks unless
    # the person says they do not belong to it.
    group = intervention.target_group.strip() or intervention.name
    presumed = _met(
        "target_group",
        "target_group_presumed",
        f"Den som vänder sig till utföraren för insatsen anses uppge att hen tillhör målgruppen: {group} "
        "Inget underlag och ingen bedömning krävs.",
        f"Whoever turns to the provider for the intervention is taken to declare belonging to the target "
        f"group: {group} No evidence or assessment is required.",
    )
    ok = _met(
        "target_group",
        "target_group_declared",
        f"Personen uppger att hen tillhör målgruppen: {group}",
        f"The person declares they belong to the target group: {group}",
    )
    bad = _failed(
        "target_group",
        "target_group_not_declared",
        f"Personen uppger att hen inte tillhör målgruppen: {group}",
        f"The person declares they do not belong to the target group: {group}",
    )

    def check(f: Facts) -> ConditionResult:
        declared = f.self_declared_target_group
        if declared is None:
            return presumed
        return ok if declared else bad

    return check


def compile_intervention(intervention: Intervention, committee: Committee) -> CompiledIntervention:
    """Turn an intervention's conditions into checks, once; evaluate them with `evaluate`."""
    c, kind = intervention.conditions, intervention.kind
    candidates = (
        _role(c, intervention.subject_rule),
        _age(c, kind),
        _child_age(c, intervention.subject_rule),
        _school_year(c),
        _no_accompanying_children(c, kind),
        _residence(c, committee),
        _sol_21_2_guardian_consent(c),
        _session_cap(c, committee),
        _target_group(intervention),
    )
    notices = (
        right_to_apply(committee.name),  # SoL 11:6: always
        documentation_notice(intervention.documentation_rule, intervention.subject_rule),
    )
    return CompiledIntervention(
        intervention=intervention,
        committee=committee,
        checks=tuple(check for check in candidates if check is not None),
        notices=notices,
    )


def evaluate(compiled: CompiledIntervention, facts: Facts) -> Verdict:
    """The verdict on one intervention for the facts: a pure function, no I/O."""
    results = tuple([check(facts) for check in compiled.checks])
    rank = _MET
    actions: list[RequiredAction] = []
    notices = compiled.notices
    for result in results:
        if result.rank > rank:
            rank = result.rank
        if result.action is not None:
            actions.append(result.action)
        if result.notice is not None:
            notices = (*notices, result.notice)
    return Verdict(compiled.intervention.id, _STATUS_BY_RANK[rank], results, tuple(actions), notices)


def check_intervention(intervention: Intervention, committee: Committee, facts: Facts) -> Verdict:
    """Compile and evaluate in one go (for one-off checks; the service caches compilations)."""
    return evaluate(compile_intervention(intervention, committee), facts)
