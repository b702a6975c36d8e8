"""The law as code: the checks a committee decision must pass before it is stored.

`check_decision` returns every violation it finds (never only the first), so a committee
secretary can correct a decision in one go. Each legal rule is one small function that
names its paragraph; the structural checks (not law, but nonsense a decision must not
contain) carry the rule "structure". Pure: no I/O.

SoL = socialtjänstlagen (2025:400).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from app.catalog.domain import (
    Category,
    Decision,
    DocumentationRule,
    Intervention,
    Kind,
    Role,
    SubjectRule,
)

STRUCTURE = "structure"

# SoL 11 kap. 5 §: the kinds that can never be provided without individual needs assessment
# (items 1-7), plus economic assistance, which is not an intervention for personal needs at
# all (SoL 12 kap.) and so has no route without needs assessment.
EXCLUDED_KINDS: frozenset[Kind] = frozenset(
    {
        Kind.contact_person_or_family,  # p. 1 kontaktperson, kontaktfamilj, kvalificerad kontaktperson
        Kind.family_home_care,  # p. 2 vård i familjehem
        Kind.lvm_home_care,  # p. 3 vård i LVM-hem
        Kind.special_youth_home_care,  # p. 4 vård i särskilda ungdomshem
        Kind.youth_18_20_residential_care,  # p. 5 barn och unga 18-20 år i jourhem, stödboende, HVB ...
        Kind.special_housing_elderly_or_disabled,  # p. 6 bostad i särskilt boende (8 kap. 4, 11 §§)
        Kind.other_24h_care_home,  # p. 7 vård i hem för viss annan heldygnsvård
        Kind.economic_assistance,  # ekonomiskt bistånd (12 kap.): not a personal-needs intervention
    }
)

_EXCLUDED_KIND_LABELS: dict[Kind, str] = {
    Kind.contact_person_or_family: "a contact person, contact family or qualified contact person (p. 1)",
    Kind.family_home_care: "care in a family home (p. 2)",
    Kind.lvm_home_care: "care in an LVM home (p. 3)",
    Kind.special_youth_home_care: "care in a special youth home (p. 4)",
    Kind.youth_18_20_residential_care: (
        "care of children or young people aged 18-20 in an emergency home, supported housing, "
        "protected housing or other HVB (p. 5)"
    ),
    Kind.special_housing_elderly_or_disabled: (
        "housing in special accommodation for older people or people with disabilities (p. 6)"
    ),
    Kind.other_24h_care_home: "care in a home for certain other 24-hour care (p. 7)",
}

# The age from which protected housing and HVB may be offered without needs assessment:
# SoL 11:5 p. 5 excludes children and young people aged 18-20.
MIN_AGE_SHELTER_AND_HVB = 21
# SoL 21:2: from 15 a child may take part without the guardian's consent where appropriate.
CONSIDERED_AGE_FROM = 15
CONSIDERED_AGE_TO = 17
MAX_AGE = 130
SCHOOL_YEARS = range(0, 10)  # 0 = förskoleklass, 1-9 grundskola

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class Violation:
    """One reason a decision cannot be stored.

    `intervention_id` is None for a violation of the decision as a whole. `rule` names the
    paragraph ("SoL 11:5") or "structure"; `code` is stable snake_case for clients; `field`
    is the path of the offending field within the intervention (e.g. "conditions.min_age")
    or the decision (e.g. "effective_from").
    """

    intervention_id: str | None
    rule: str
    code: str
    field: str | None
    message: str


def is_excluded_kind(kind: Kind) -> bool:
    """True if the kind can never be offered without individual needs assessment (SoL 11:5)."""
    return kind in EXCLUDED_KINDS


# --- SoL 11 kap. 5 §: what may be offered at all -------------------------------------------


def _sol_11_5_excluded_kind(iv: Intervention) -> Iterator[Violation]:
    # SoL 11 kap. 5 §: the excluded kinds; economic assistance via SoL 12 kap.
    if not is_excluded_kind(iv.kind):
        return
    if iv.kind is Kind.economic_assistance:
        message = (
            "Economic assistance (SoL 12 kap.) is not an intervention for personal needs and can "
            "never be provided without individual needs assessment."
        )
    else:
        message = (
            f"SoL 11 kap. 5 § excludes {_EXCLUDED_KIND_LABELS[iv.kind]} from being provided "
            "without individual needs assessment."
        )
    yield Violation(iv.id, "SoL 11:5", "excluded_kind", "kind", message)


def _sol_11_5_p5_shelter_and_hvb(iv: Intervention) -> Iterator[Violation]:
    # SoL 11 kap. 5 § p. 5: protected housing and HVB only from 21; protected housing also
    # only without accompanying children (Göteborg's reading, seed 001).
    if iv.kind not in (Kind.protected_housing, Kind.residential_care):
        return
    if iv.kind is Kind.protected_housing:
        label, code = "Protected housing (skyddat boende)", "protected_housing_requires_age_21"
    else:
        label, code = "HVB (hem för vård eller boende)", "residential_care_requires_age_21"
    min_age = iv.conditions.min_age
    if min_age is None or min_age < MIN_AGE_SHELTER_AND_HVB:
        yield Violation(
            iv.id,
            "SoL 11:5 p. 5",
            code,
            "conditions.min_age",
            f"{label} may be provided without needs assessment only to persons aged "
            f"{MIN_AGE_SHELTER_AND_HVB} or older: set conditions.min_age to at least "
            f"{MIN_AGE_SHELTER_AND_HVB}.",
        )
    if iv.kind is Kind.protected_housing and not iv.conditions.no_accompanying_children:
        yield Violation(
            iv.id,
            "SoL 11:5 p. 5",
            "protected_housing_requires_no_accompanying_children",
            "conditions.no_accompanying_children",
            "Protected housing without needs assessment is only for persons without accompanying "
            "children (a child can only be placed with a needs-assessed guardian): set "
            "conditions.no_accompanying_children to true.",
        )


# --- SoL 14 kap. 4-5 §§: exemptions from the documentation duty ----------------------------


def _sol_14_5_identity_exemption(iv: Intervention) -> Iterator[Violation]:
    # SoL 14 kap. 5 §: identity exemption only for special reasons, recorded by the committee;
    # not for interventions carried out in the person's home (seed 002, prop. 2024/25:89
    # s. 683-684).
    if iv.documentation_rule is not DocumentationRule.identity_exempt:
        return
    if iv.special_reasons is None or not iv.special_reasons.strip():
        yield Violation(
            iv.id,
            "SoL 14:5",
            "identity_exemption_requires_special_reasons",
            "special_reasons",
            "An identity exemption needs the committee's special reasons: record them in special_reasons.",
        )
    if iv.delivered_in_home or iv.kind is Kind.home_help:
        yield Violation(
            iv.id,
            "SoL 14:5",
            "identity_exemption_in_home",
            "documentation_rule",
            "Interventions carried out in the person's home (such as home help) cannot in general "
            "be exempted from documenting identity: use the standard or counselling rule.",
        )


def _sol_14_4_counselling_exemption(iv: Intervention) -> Iterator[Violation]:
    # SoL 14 kap. 4 §: no duty to document personal circumstances only during counselling.
    exempt = iv.documentation_rule is DocumentationRule.counselling_exempt
    if exempt and iv.category is not Category.counselling:
        yield Violation(
            iv.id,
            "SoL 14:4",
            "counselling_exemption_requires_counselling",
            "documentation_rule",
            "The counselling exemption applies only to interventions in the counselling category "
            "(rådgivning): change the category or the documentation rule.",
        )


# --- SoL 21 kap. 2 §: children --------------------------------------------------------------


def _overlaps(low: int | None, high: int | None, lo: int, hi: int) -> bool:
    """Whether the range [low, high] (None = open) shares an age with [lo, hi]."""
    return (low is None or low <= hi) and (high is None or high >= lo)


def may_include_ages_15_17(iv: Intervention) -> bool:
    """Whether someone aged 15-17 can take part, or be the child the intervention is about.

    The participant may be 15-17 when (min_age is None or min_age <= 17) and (max_age is None
    or max_age >= 15): an open bound counts as open, so an intervention without age conditions
    includes 15-17-year-olds. Additionally, when the roles include `child`, the child age range
    (child_min_age/child_max_age, None = open) is checked against 15-17 the same way, since a
    child participant's own age is bounded by it. Roles do not narrow the participant check: a
    parent or relative can also be 15-17.
    """
    c = iv.conditions
    lo, hi = CONSIDERED_AGE_FROM, CONSIDERED_AGE_TO
    if _overlaps(c.min_age, c.max_age, lo, hi):
        return True
    return Role.child in c.roles and _overlaps(c.child_min_age, c.child_max_age, lo, hi)


def _sol_21_2_ages_15_17_considered(iv: Intervention) -> Iterator[Violation]:
    # SoL 21 kap. 2 §: a child of 15-17 may take part without the guardian's consent only where
    # the committee considered the intervention appropriate for that age; the decision records
    # that it did. (Under 15 the guardian's consent is needed: applied by eligibility, not here.)
    if may_include_ages_15_17(iv) and not iv.conditions.ages_15_17_considered:
        yield Violation(
            iv.id,
            "SoL 21:2",
            "ages_15_17_not_considered",
            "conditions.ages_15_17_considered",
            "The conditions admit persons aged 15-17: the committee must consider whether the "
            "intervention is appropriate for that age group and record it by setting "
            "conditions.ages_15_17_considered to true (or narrow the age conditions).",
        )


# --- seed 004: on whom the case is registered ------------------------------------------------


def _seed_004_child_subject(iv: Intervention) -> Iterator[Violation]:
    # Seed 004: a case on the child's personnummer only makes sense for parent-targeted
    # interventions.
    if iv.subject_rule is SubjectRule.child and Role.parent not in iv.conditions.roles:
        yield Violation(
            iv.id,
            "seed 004",
            "child_subject_requires_parent_role",
            "subject_rule",
            "Registering the case on the child's personnummer requires a parent-targeted "
            "intervention: add 'parent' to conditions.roles or use subject_rule 'recipient'.",
        )


# --- structure: not law, but a decision must make sense --------------------------------------


def _structure_intervention(iv: Intervention) -> Iterator[Violation]:
    def v(code: str, field: str, message: str) -> Violation:
        return Violation(iv.id, STRUCTURE, code, field, message)

    if not SLUG_RE.fullmatch(iv.id):
        yield v(
            "invalid_slug",
            "id",
            "The intervention id must be a slug: lowercase letters and digits in words joined by "
            "single hyphens (e.g. 'motiverande-samtal').",
        )
    if not iv.name.strip():
        yield v("empty_name", "name", "The intervention needs a name.")
    c = iv.conditions
    for name in ("min_age", "max_age", "child_min_age", "child_max_age"):
        age: int | None = getattr(c, name)
        if age is not None and not 0 <= age <= MAX_AGE:
            yield v("age_out_of_range", f"conditions.{name}", f"Ages must be between 0 and {MAX_AGE}.")
    if c.min_age is not None and c.max_age is not None and c.min_age > c.max_age:
        yield v(
            "min_age_above_max_age",
            "conditions.min_age",
            "The minimum age is above the maximum age, so nobody could take part.",
        )
    if c.child_min_age is not None and c.child_max_age is not None and c.child_min_age > c.child_max_age:
        yield v(
            "child_min_age_above_child_max_age",
            "conditions.child_min_age",
            "The child's minimum age is above the child's maximum age, so nobody could take part.",
        )
    if c.max_sessions is not None and c.max_sessions < 1:
        yield v(
            "max_sessions_below_one",
            "conditions.max_sessions",
            "A session cap must be at least 1; leave it out for no cap.",
        )
    if any(year not in SCHOOL_YEARS for year in c.school_years):
        yield v(
            "school_year_out_of_range",
            "conditions.school_years",
            "School years must be between 0 (förskoleklass) and 9.",
        )


def _structure_decision(decision: Decision, committee_exists: bool) -> Iterator[Violation]:
    def v(code: str, field: str, message: str, intervention_id: str | None = None) -> Violation:
        return Violation(intervention_id, STRUCTURE, code, field, message)

    if not committee_exists:
        yield v("unknown_committee", "committee", "The decision names a committee that does not exist.")
    if not decision.reference.strip():
        yield v("empty_reference", "reference", "The decision needs its reference, e.g. the paragraph '§ 123'.")
    # A decision cannot take effect before it is made: retroactive offering would make
    # participation lawful after the fact. Seed 001 was decided in June, in force from 1 July.
    if decision.effective_from < decision.decided_on:
        yield v(
            "effective_before_decided",
            "effective_from",
            "A decision cannot take effect before the day it was decided.",
        )
    if decision.effective_to is not None and decision.effective_to < decision.effective_from:
        yield v(
            "effective_to_before_effective_from",
            "effective_to",
            "The decision would end before it takes effect.",
        )
    if not decision.interventions and not decision.withdrawn:
        yield v(
            "empty_decision",
            "interventions",
            "The decision neither offers nor withdraws any intervention.",
        )
    offered = [iv.id for iv in decision.interventions]
    for slug in _duplicates(offered):
        yield v(
            "duplicate_intervention",
            "interventions",
            "The same intervention id is offered more than once in the decision.",
            slug,
        )
    for slug in _duplicates(decision.withdrawn):
        yield v("duplicate_withdrawn", "withdrawn", "The same intervention id is withdrawn more than once.", slug)
    for slug in dict.fromkeys(decision.withdrawn):
        if not SLUG_RE.fullmatch(slug):
            yield v("invalid_slug", "withdrawn", "A withdrawn intervention id is not a valid slug.", slug)
    for slug in dict.fromkeys(s for s in decision.withdrawn if s in set(offered)):
        yield v(
            "offered_and_withdrawn",
            "withdrawn",
            "The decision both offers and withdraws the same intervention.",
            slug,
        )


def _duplicates(slugs: Iterable[str]) -> list[str]:
    return [slug for slug, n in Counter(slugs).items() if n > 1]


_INTERVENTION_RULES = (
    _sol_11_5_excluded_kind,
    _sol_11_5_p5_shelter_and_hvb,
    _sol_14_5_identity_exemption,
    _sol_14_4_counselling_exemption,
    _sol_21_2_ages_15_17_considered,
    _seed_004_child_subject,
    _structure_intervention,
)


def check_intervention(intervention: Intervention) -> list[Violation]:
    """Every violation of one intervention as a decision would offer it."""
    return [violation for rule in _INTERVENTION_RULES for violation in rule(intervention)]


# --- warnings: the decision is stored, and the answer says what it lacks ----------------------


def _sol_14_5_risk_analysis(decision: Decision) -> Iterator[Violation]:
    # SoL 14 kap. 5 § (prop. 2024/25:89, seeds 001 and 003): an exemption from documenting identity
    # rests on a risk and consequence analysis. The law does not make the reference a condition of
    # the decision, so its absence is a warning, not a violation.
    if decision.risk_analysis_reference and decision.risk_analysis_reference.strip():
        return
    for iv in decision.interventions:
        if iv.documentation_rule is DocumentationRule.identity_exempt:
            yield Violation(
                iv.id,
                "SoL 14:5",
                "identity_exemption_without_risk_analysis",
                "risk_analysis_reference",
                "The identity exemption should rest on a risk and consequence analysis (risk- och "
                "konsekvensanalys): record where it is found in the decision's risk_analysis_reference.",
            )


def decision_warnings(decision: Decision) -> list[Violation]:
    """What a decision that passes `check_decision` still lacks; it is stored, and answered with these."""
    return list(_sol_14_5_risk_analysis(decision))


def check_decision(decision: Decision, committee_exists: bool = True) -> list[Violation]:
    """Every reason the decision cannot be stored; empty when it may be.

    Decision-level violations come first, then each intervention's in the decision's order.
    `committee_exists` is the caller's answer to whether `decision.committee` is known.
    """
    violations = list(_structure_decision(decision, committee_exists))
    for intervention in decision.interventions:
        violations.extend(check_intervention(intervention))
    return violations
