"""The eligibility JSON: the facts asked about and the verdicts answered.

Identity numbers are `SecretStr`: masked in any `repr`, never serialised back, and their
validation errors carry no value (`hide_input_in_errors`; the problem handler strips
`input` as well).

The verdicts are rendered by `render_*` straight to JSON bytes (the constant parts, every
condition outcome and notice, are encoded once and reused): the pydantic models below document
that shape in OpenAPI, and the tests validate every answer against them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from app.catalog.domain import Area, Category, DocumentationRule, Intervention, Role
from app.catalog.snapshot import OfferedIntervention
from app.core.inbound import RequestModel
from app.eligibility.notices import Notice, RequiredAction
from app.eligibility.rules import ConditionResult, Status, Verdict

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"

IdentityNumberText = Annotated[
    SecretStr,
    Field(
        max_length=32,
        description="Personnummer or samordningsnummer: 10 or 12 digits, optionally `-` or `+` before the "
        "last four. Used only to compute the age on `on`; never stored, logged or answered.",
    ),
]


class SearchFactsDoc(RequestModel):
    """Facts about the person (uppgifter). Leave out what is not known: it makes a condition `unknown`.

    The age comes from `age`, `birth_date`, `personnummer` or `samordningsnummer`; given together they
    must agree. Self-declared facts are taken as declared: no evidence, never an assessment of need.
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    age: int | None = Field(None, ge=0, le=130, description="Age in completed years on `on`.")
    birth_date: dt.date | None = Field(None, description="Birth date, used only to compute the age.")
    personnummer: IdentityNumberText | None = None
    samordningsnummer: IdentityNumberText | None = None
    role: Role | None = Field(
        None,
        description="The role in which the person takes part: barn, förälder, anhörig/närstående, vuxen. "
        "Not given, for a parent-targeted intervention: the child's parent.",
    )
    children_ages: list[Annotated[int, Field(ge=0, le=130)]] | None = Field(
        None, max_length=30, description="For a parent: the ages of the children the parent comes about."
    )
    school_year: int | None = Field(None, ge=0, le=9, description="Årskurs; 0 = förskoleklass.")
    accompanying_children: bool | None = Field(None, description="Medföljande barn (protected housing, SoL 11:5).")
    residence_committee: str | None = Field(
        None,
        pattern=SLUG,
        max_length=64,
        description="The committee (socialnämnd) in whose district the person lives.",
    )
    guardian_consent: bool | None = Field(
        None,
        description="The guardian (vårdnadshavare) has consented; required under 15 (SoL 21 kap. 2 §). "
        "Not given, under 15: `not_yet`.",
    )


class FactsDoc(SearchFactsDoc):
    """Facts about the person for one intervention, including the two that only make sense for one."""

    sessions_used: int | None = Field(
        None,
        ge=0,
        le=10_000,
        description="Sessions (samtal/träffar) of this intervention already used; not given: none (a first visit).",
    )
    self_declared_target_group: bool | None = Field(
        None,
        description="Whether the person says they belong to the intervention's target group (målgrupp) as the "
        "committee wrote it. Not given: taken as declared (turning to the provider for the intervention is the "
        "declaration); `false` (the person says they do not belong) makes the person ineligible. Never evidence, "
        "never an assessment.",
    )


class CheckRequest(RequestModel):
    """A summary check (summarisk kontroll) of one intervention."""

    model_config = ConfigDict(hide_input_in_errors=True)

    intervention_id: str = Field(pattern=SLUG, max_length=100, description="The intervention's slug in the catalog.")
    committee: str | None = Field(
        None, pattern=SLUG, max_length=64, description="Socialnämnd id; default: the token's committee."
    )
    on: dt.date | None = Field(None, description="The date of the check; default: today (Swedish time).")
    facts: FactsDoc = Field(default_factory=FactsDoc)


class SearchRequest(RequestModel):
    """Which interventions the committee offers without needs assessment that the facts qualify for."""

    model_config = ConfigDict(hide_input_in_errors=True)

    committee: str | None = Field(
        None, pattern=SLUG, max_length=64, description="Socialnämnd id; default: the token's committee."
    )
    on: dt.date | None = Field(None, description="The date asked about; default: today (Swedish time).")
    facts: SearchFactsDoc = Field(
        default_factory=SearchFactsDoc,
        description="No target-group declaration and no sessions used: both belong to one intervention "
        "(ask `check`). Each target group is taken as declared, and no session as used.",
    )
    include_ineligible: bool = Field(
        False, description="Also list the interventions a condition rules out, with the reasons."
    )


# --- answers ----------------------------------------------------------------------------------


class ConditionDoc(BaseModel):
    condition: str = Field(description="What is checked, e.g. `age`, `guardian_consent`, `session_cap`.")
    code: str = Field(description="The outcome, stable, e.g. `session_cap_reached`.")
    met: bool | Literal["unknown"] = Field(description='`true`, `false`, or `"unknown"` when a fact is missing.')
    paragraph: str | None = Field(description="The paragraph where the law sets the condition, e.g. `SoL 21:2`.")
    message_sv: str
    message_en: str


class RequiredActionDoc(BaseModel):
    code: str = Field(description="`obtain_guardian_consent` or `apply_for_needs_assessed_intervention`.")
    message_sv: str
    message_en: str
    committee: str | None = Field(None, description="Where to apply (the committee's id), for an application.")
    committee_name: str | None = Field(None, description="Where to apply (the committee's name).")


class NoticeDoc(BaseModel):
    code: str = Field(
        description="`right_to_apply` (always), one of `documentation_standard`, "
        "`documentation_counselling_exempt`, `documentation_identity_exempt`, and "
        "`guardian_consent_required` where it applies."
    )
    paragraph: str
    text_sv: str
    text_en: str


class VerdictDoc(BaseModel):
    eligible: bool | None = Field(
        description="`true` only for `status: eligible`; `false` for `ineligible` and `not_yet`; `null` while "
        "`undetermined` (a fact is unknown: not a refusal)."
    )
    status: Status = Field(
        description="`eligible`; `not_yet` (the guardian's consent is missing: see `required_actions`; never "
        "hidden by an unknown fact); `undetermined` (a fact is missing, no condition failed); `ineligible`. "
        "`POST /v1/cases` refuses exactly `ineligible` and `not_yet`."
    )
    conditions: list[ConditionDoc]
    required_actions: list[RequiredActionDoc]
    notices: list[NoticeDoc] = Field(description="Informationsskyldighet: what the provider must tell the person.")


class CheckResponse(VerdictDoc):
    intervention_id: str
    name: str
    committee: str
    on: dt.date


class InterventionVerdictDoc(VerdictDoc):
    intervention_id: str = Field(description="The intervention's slug, as `check` and the cases name it.")
    id: str = Field(
        deprecated=True, description="The same as `intervention_id`, kept for earlier clients; to be removed."
    )
    name: str
    area: Area
    category: Category
    target_group: str
    documentation_rule: DocumentationRule


class SearchResponse(BaseModel):
    committee: str
    on: dt.date
    interventions: list[InterventionVerdictDoc] = Field(
        description="Eligible, `not_yet` and `undetermined` interventions (no condition failed), by "
        "`intervention_id`; "
        "with `include_ineligible` also the ineligible ones."
    )


# --- rendering (the hot path: JSON bytes, constants encoded once) ----------------------------------

# As Starlette's JSONResponse renders; one encoder, not one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))

_CONSTANTS: dict[tuple[int, str], tuple[object, bytes]] = {}
_CONSTANTS_MAX = 65_536

_ELIGIBLE_JSON: dict[Status, bytes] = {
    Status.eligible: b"true",
    Status.not_yet: b"false",
    Status.undetermined: b"null",
    Status.ineligible: b"false",
}
_STATUS_JSON: dict[Status, bytes] = {
    status: b'"eligible":' + _ELIGIBLE_JSON[status] + b',"status":"' + status.value.encode() + b'"' for status in Status
}


def _dumps(data: Any) -> bytes:
    return _ENCODER.encode(data).encode("utf-8")


def _encode_constant(obj: ConditionResult | Notice | RequiredAction | Intervention, variant: str) -> bytes:
    if isinstance(obj, ConditionResult):
        return _dumps(
            {
                "condition": obj.condition,
                "code": obj.code,
                "met": "unknown" if obj.met is None else obj.met,
                "paragraph": obj.paragraph,
                "message_sv": obj.message_sv,
                "message_en": obj.message_en,
            }
        )
    if isinstance(obj, Notice):
        return _dumps({"code": obj.code, "paragraph": obj.paragraph, "text_sv": obj.text_sv, "text_en": obj.text_en})
    if isinstance(obj, RequiredAction):
        return _dumps(
            {
                "code": obj.code,
                "message_sv": obj.message_sv,
                "message_en": obj.message_en,
                "committee": obj.committee,
                "committee_name": obj.committee_name,
            }
        )
    if variant == "search":  # the opening of an `InterventionVerdictDoc`, up to its verdict
        head = {
            "intervention_id": obj.id,
            "id": obj.id,
            "name": obj.name,
            "area": obj.area.value,
            "category": obj.category.value,
            "target_group": obj.target_group,
            "documentation_rule": obj.documentation_rule.value,
        }
        return _dumps(head)[:-1] + b","
    # the opening of a `CheckResponse` for the committee in `variant`, up to the value of `on`
    head = {"intervention_id": obj.id, "name": obj.name, "committee": variant}
    return _dumps(head)[:-1] + b',"on":"'


def _constant(obj: ConditionResult | Notice | RequiredAction | Intervention, variant: str = "") -> bytes:
    # Condition outcomes, notices, actions and interventions are immutable constants: encode each once.
    # Keyed by identity; the entry keeps the object alive so that its id is not reused.
    key = (id(obj), variant)
    hit = _CONSTANTS.get(key)
    if hit is not None and hit[0] is obj:
        return hit[1]
    encoded = _encode_constant(obj, variant)
    if len(_CONSTANTS) >= _CONSTANTS_MAX:
        _CONSTANTS.clear()
    _CONSTANTS[key] = (obj, encoded)
    return encoded


def _verdict(verdict: Verdict) -> bytes:
    """The fields of `VerdictDoc`, without the braces."""
    return b"".join(
        (
            _STATUS_JSON[verdict.status],
            b',"conditions":[',
            b",".join([_constant(c) for c in verdict.conditions]),
            b'],"required_actions":[',
            b",".join([_constant(a) for a in verdict.required_actions]),
            b'],"notices":[',
            b",".join([_constant(n) for n in verdict.notices]),
            b"]",
        )
    )


def render_check(offered: OfferedIntervention, on: dt.date, verdict: Verdict) -> bytes:
    """A `CheckResponse` as JSON."""
    opening = _constant(offered.intervention, offered.committee)
    return b"".join((opening, on.isoformat().encode(), b'",', _verdict(verdict), b"}"))


def render_search(committee: str, on: dt.date, found: list[tuple[OfferedIntervention, Verdict]]) -> bytes:
    """A `SearchResponse` as JSON."""
    items = b",".join([_constant(o.intervention, "search") + _verdict(v) + b"}" for o, v in found])
    opening = _dumps({"committee": committee, "on": on.isoformat()})[:-1]
    return opening + b',"interventions":[' + items + b"]}"
