"""The catalog's JSON: one shape for a decision, in and out."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from app.catalog.domain import (
    Area,
    Category,
    Committee,
    Conditions,
    Decision,
    DeliveryForm,
    DocumentationRule,
    Intervention,
    Kind,
    Role,
    SubjectRule,
)
from app.catalog.rules import Violation, decision_warnings
from app.catalog.snapshot import OfferedIntervention
from app.core.inbound import RequestModel
from app.disposal.rules import RECORDS_PLAN_YEARS_MAX, RECORDS_PLAN_YEARS_MIN, ProviderKind, ResearchExemption
from app.journal.limits import INTERVENTION_ID_MAX, INTERVENTION_NAME_MAX, UNIT_MAX

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
# A session cap is copied onto every case opened for the intervention (an INTEGER column); the
# eligibility check counts `sessions_used` up to the same bound.
MAX_SESSIONS = 10_000


class ConditionsDoc(RequestModel):
    """Villkor: facts a provider may check in a summary check (summarisk kontroll), never need."""

    min_age: int | None = Field(None, ge=0, le=130, description="Lowest age of the participant.")
    max_age: int | None = Field(None, ge=0, le=130, description="Highest age of the participant (inclusive).")
    roles: list[Role] = Field(default_factory=list, description="Roles that may take part; empty: anyone.")
    child_min_age: int | None = Field(
        None,
        ge=0,
        le=17,
        description="Lowest age of the child concerned: the participant as a child, or the child a parent comes about.",
    )
    child_max_age: int | None = Field(None, ge=0, le=17, description="Highest age of the child concerned.")
    school_years: list[Annotated[int, Field(ge=0, le=9)]] = Field(
        default_factory=list,
        max_length=10,
        description="School years (årskurs) allowed, 0 = förskoleklass; empty: any.",
    )
    no_accompanying_children: bool = Field(False, description="Only without accompanying children (medföljande barn).")
    residence_in_committee: bool = Field(False, description="Only residents of the committee's district.")
    max_sessions: int | None = Field(
        None, ge=1, le=MAX_SESSIONS, description="Session cap (samtal/träffar) without a needs assessment."
    )
    ages_15_17_considered: bool = Field(
        False,
        description="SoL 21 kap. 2 §: the committee considered the intervention appropriate for ages 15–17.",
    )

    def to_domain(self) -> Conditions:
        return Conditions(
            min_age=self.min_age,
            max_age=self.max_age,
            roles=tuple(self.roles),
            child_min_age=self.child_min_age,
            child_max_age=self.child_max_age,
            school_years=tuple(self.school_years),
            no_accompanying_children=self.no_accompanying_children,
            residence_in_committee=self.residence_in_committee,
            max_sessions=self.max_sessions,
            ages_15_17_considered=self.ages_15_17_considered,
        )

    @classmethod
    def of(cls, c: Conditions) -> ConditionsDoc:
        return cls(
            min_age=c.min_age,
            max_age=c.max_age,
            roles=list(c.roles),
            child_min_age=c.child_min_age,
            child_max_age=c.child_max_age,
            school_years=list(c.school_years),
            no_accompanying_children=c.no_accompanying_children,
            residence_in_committee=c.residence_in_committee,
            max_sessions=c.max_sessions,
            ages_15_17_considered=c.ages_15_17_considered,
        )


class InterventionDoc(RequestModel):
    """An intervention (insats) as a decision offers it."""

    id: str = Field(
        pattern=SLUG, max_length=INTERVENTION_ID_MAX, description="Stable slug, unique within a committee's catalog."
    )
    # As the journal system's contract allows: the name travels with every identified case.
    name: str = Field(min_length=1, max_length=INTERVENTION_NAME_MAX, description="Swedish name (benämning).")
    description: str = Field("", max_length=4000)
    area: Area = Field(description="Verksamhetsområde.")
    category: Category = Field(description="Rådgivning, stöd i grupp or individuellt stöd.")
    delivery_form: DeliveryForm = DeliveryForm.individual
    kind: Kind = Field(Kind.other, description="What SoL 11 kap. 5 § looks at; excluded kinds are refused.")
    target_group: str = Field("", max_length=2000, description="Målgrupp, as the committee wrote it.")
    conditions: ConditionsDoc = Field(default_factory=ConditionsDoc)
    delivered_in_home: bool = Field(False, description="Delivered in the person's home (cannot be identity-exempt).")
    subject_rule: SubjectRule = Field(
        SubjectRule.recipient,
        description="`child`: parent-targeted, the case is registered on the child's personnummer (seed 004).",
    )
    documentation_rule: DocumentationRule = Field(
        description="`standard` (SoL 14 kap. 3 §), `counselling_exempt` (14 kap. 4 §, rådgivning) or "
        "`identity_exempt` (14 kap. 5 §, undantag för identitetsuppgifter)."
    )
    special_reasons: str | None = Field(
        None,
        max_length=4000,
        description="Särskilda skäl recorded for an identity exemption (SoL 14 kap. 5 §).",
    )

    def to_domain(self) -> Intervention:
        return Intervention(
            id=self.id,
            name=self.name,
            description=self.description,
            area=self.area,
            category=self.category,
            delivery_form=self.delivery_form,
            kind=self.kind,
            target_group=self.target_group,
            conditions=self.conditions.to_domain(),
            delivered_in_home=self.delivered_in_home,
            subject_rule=self.subject_rule,
            documentation_rule=self.documentation_rule,
            special_reasons=self.special_reasons,
        )

    @classmethod
    def fields_of(cls, i: Intervention) -> dict[str, object]:
        return {
            "id": i.id,
            "name": i.name,
            "description": i.description,
            "area": i.area,
            "category": i.category,
            "delivery_form": i.delivery_form,
            "kind": i.kind,
            "target_group": i.target_group,
            "conditions": ConditionsDoc.of(i.conditions),
            "delivered_in_home": i.delivered_in_home,
            "subject_rule": i.subject_rule,
            "documentation_rule": i.documentation_rule,
            "special_reasons": i.special_reasons,
        }


class OfferedInterventionDoc(InterventionDoc):
    """An intervention as in force for a committee, with the decision that offers it."""

    committee: str
    decision_id: str
    effective_from: dt.date
    effective_to: dt.date | None

    @classmethod
    def of(cls, offered: OfferedIntervention) -> OfferedInterventionDoc:
        return cls(
            committee=offered.committee,
            decision_id=offered.decision_id,
            effective_from=offered.effective_from,
            effective_to=offered.effective_to,
            **InterventionDoc.fields_of(offered.intervention),
        )


class ViolationDoc(RequestModel):  # part of DecisionDoc, which is posted back as it is read
    intervention_id: str | None
    rule: str = Field(description="The paragraph, e.g. `SoL 11:5`.")
    code: str
    field: str | None
    message: str

    @classmethod
    def of(cls, v: Violation) -> ViolationDoc:
        return cls(intervention_id=v.intervention_id, rule=v.rule, code=v.code, field=v.field, message=v.message)


class DecisionDoc(RequestModel):
    """Nämndbeslut. What GET answers can be posted back as a new decision: change `reference` and dates."""

    id: str | None = Field(None, description="Assigned by the service; ignored when posted.")
    committee: str | None = Field(
        None, pattern=SLUG, max_length=64, description="Socialnämnd; default: the token's committee."
    )
    decided_on: dt.date = Field(description="The date of the committee's decision.")
    reference: str = Field(min_length=1, max_length=100, description="The minutes' reference, e.g. `§ 123`.")
    effective_from: dt.date = Field(description="Gäller från: in force from this date.")
    effective_to: dt.date | None = Field(None, description="Gäller till och med; null: until further notice.")
    interventions: list[InterventionDoc] = Field(default_factory=list, max_length=500)
    withdrawn: list[Annotated[str, Field(pattern=SLUG, max_length=100)]] = Field(
        default_factory=list, max_length=500, description="Slugs this decision stops offering from `effective_from`."
    )
    risk_analysis_reference: str | None = Field(
        None,
        max_length=300,
        description="Where the risk and consequence analysis (risk- och konsekvensanalys) behind the "
        "decision's documentation exemptions is found, e.g. a document's registration number.",
    )
    warnings: list[ViolationDoc] = Field(
        default_factory=list,
        description="Answered only (ignored when posted): what the stored decision lacks, e.g. "
        "`identity_exemption_without_risk_analysis` for an identity-exempt intervention (SoL 14 kap. 5 §) "
        "without `risk_analysis_reference`.",
    )

    def to_domain(self, decision_id: str, committee: str) -> Decision:
        return Decision(
            id=decision_id,
            committee=committee,
            decided_on=self.decided_on,
            reference=self.reference,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            interventions=tuple(i.to_domain() for i in self.interventions),
            withdrawn=tuple(self.withdrawn),
            risk_analysis_reference=(self.risk_analysis_reference or "").strip() or None,
        )

    @classmethod
    def of(cls, d: Decision) -> DecisionDoc:
        return cls(
            id=d.id,
            committee=d.committee,
            decided_on=d.decided_on,
            reference=d.reference,
            effective_from=d.effective_from,
            effective_to=d.effective_to,
            interventions=[InterventionDoc(**InterventionDoc.fields_of(i)) for i in d.interventions],
            withdrawn=list(d.withdrawn),
            risk_analysis_reference=d.risk_analysis_reference,
            warnings=[ViolationDoc.of(w) for w in decision_warnings(d)],
        )


RESEARCH_EXEMPTION_DESCRIPTION = (
    "Forskningsundantag (SoL 16 kap. 4 §, SoF 13 kap. 1 §): which personakter are kept for research "
    "instead of destroyed when due. `all`: every file (Göteborgs kommun; the municipalities of "
    "Östergötlands, Gotlands and Västernorrlands län); `birthdays_5_15_25`: files of persons born on the "
    "5th, 15th or 25th (elsewhere; for a samordningsnummer the number's day minus 60); `none` (no sample: "
    "SoF 13 kap. 1 § gives every municipality at least the birthday sample). Kept files "
    "are transferred to the archive, never destroyed; the others are destroyed."
)


class RecordsPlanDoc(RequestModel):
    """The committee's records plan (dokumenthanteringsplan) for exempted records."""

    retention_years: int | None = Field(
        None,
        ge=RECORDS_PLAN_YEARS_MIN,
        le=RECORDS_PLAN_YEARS_MAX,
        description="Gallringsfrist for records of exempted interventions (SoL 14 kap. 4-5 §§; no identity, "
        "no personakt), in years after the last entry; null: kept.",
    )


class UnitProviderDoc(RequestModel):
    unit: str = Field(min_length=1, max_length=UNIT_MAX, description="The unit (enhet), as in tokens' `unit`.")
    provider_kind: ProviderKind = Field(
        description="Utförare: `municipal` (the committee's own file, SoL 16 kap. 1 §: five years) or `private` "
        "(enskild verksamhet, SoL 17 kap. 2 §: two years; the research sample is handed to the committee)."
    )


class CommitteeDoc(RequestModel):
    id: str = Field(pattern=SLUG, max_length=64, description="e.g. `sn-sydvast`.")
    name: str = Field(min_length=1, max_length=200, description="e.g. Socialnämnden Sydväst.")
    research_exemption: ResearchExemption = Field(description=RESEARCH_EXEMPTION_DESCRIPTION)
    records_plan: RecordsPlanDoc
    units: list[UnitProviderDoc] = Field(
        description="Units whose provider kind is set (every unit not listed is `municipal`), by unit."
    )

    @classmethod
    def of(cls, c: Committee) -> CommitteeDoc:
        return cls(
            id=c.id,
            name=c.name,
            research_exemption=c.research_exemption,
            records_plan=RecordsPlanDoc(retention_years=c.records_plan_retention_years),
            units=[UnitProviderDoc(unit=u, provider_kind=k) for u, k in c.unit_providers],
        )


class CommitteeNameDoc(RequestModel):
    """A committee as registered or changed. Omitted disposal settings stay as they are (for a new
    committee: `all`, exempted records kept, every unit municipal)."""

    name: str = Field(min_length=1, max_length=200)
    research_exemption: ResearchExemption | None = Field(None, description=RESEARCH_EXEMPTION_DESCRIPTION)
    records_plan: RecordsPlanDoc | None = None
    units: list[UnitProviderDoc] | None = Field(
        None,
        max_length=1000,
        description="Replaces the units' provider kinds (every unit not listed is `municipal`).",
    )

    @field_validator("units")
    @classmethod
    def _units_once(cls, units: list[UnitProviderDoc] | None) -> list[UnitProviderDoc] | None:
        if units is not None and len({u.unit for u in units}) != len(units):
            raise ValueError("each unit at most once")
        return units

    def applied_to(self, committee_id: str, current: Committee | None) -> Committee:
        """The committee as this body leaves it: given fields replace, omitted ones stay."""
        base = current or Committee(committee_id, self.name)
        units = base.unit_providers
        if self.units is not None:
            units = tuple(
                sorted((u.unit, u.provider_kind) for u in self.units if u.provider_kind is not ProviderKind.MUNICIPAL)
            )
        return Committee(
            id=committee_id,
            name=self.name,
            research_exemption=self.research_exemption or base.research_exemption,
            records_plan_retention_years=(
                base.records_plan_retention_years if self.records_plan is None else self.records_plan.retention_years
            ),
            unit_providers=units,
        )


NEXT_CURSOR = "Pass as `cursor` for the next page; null on the last page."


class CommitteePageDoc(BaseModel):
    items: list[CommitteeDoc]
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class InterventionPageDoc(BaseModel):
    items: list[OfferedInterventionDoc]
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class DecisionPageDoc(BaseModel):
    items: list[DecisionDoc]
    next_cursor: str | None = Field(description=NEXT_CURSOR)
