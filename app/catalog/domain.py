"""The catalog's domain: committees' decisions and the IUB interventions they offer.

Pure data (frozen dataclasses and enums): no I/O, no framework. The legal checks on a
decision live in `rules.py`; the time-aware lookup lives in `snapshot.py`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from app.disposal.rules import CommitteeDisposalPolicy, ProviderKind, ResearchExemption


class Area(StrEnum):
    """Verksamhetsområde."""

    children_youth_parents = "children_youth_parents"
    adults = "adults"
    employment_and_other_adults = "employment_and_other_adults"
    other = "other"


class Category(StrEnum):
    """Insatskategori: rådgivning, stöd i grupp, individuellt stöd."""

    counselling = "counselling"
    group_support = "group_support"
    individual_support = "individual_support"


class DeliveryForm(StrEnum):
    individual = "individual"
    group = "group"
    individual_or_group = "individual_or_group"


class Kind(StrEnum):
    """What the intervention is, as far as SoL 11 kap. 5 § cares."""

    other = "other"
    protected_housing = "protected_housing"  # skyddat boende
    residential_care = "residential_care"  # HVB
    home_help = "home_help"  # hemtjänst
    # The excluded kinds: never without needs assessment (SoL 11:5).
    contact_person_or_family = "contact_person_or_family"
    family_home_care = "family_home_care"
    lvm_home_care = "lvm_home_care"
    special_youth_home_care = "special_youth_home_care"
    youth_18_20_residential_care = "youth_18_20_residential_care"
    special_housing_elderly_or_disabled = "special_housing_elderly_or_disabled"
    other_24h_care_home = "other_24h_care_home"
    economic_assistance = "economic_assistance"


class Role(StrEnum):
    """The role in which a person takes part."""

    child = "child"
    parent = "parent"
    relative = "relative"  # anhörig / närstående
    adult = "adult"


class SubjectRule(StrEnum):
    """On whom the case is registered (seed 004)."""

    recipient = "recipient"
    child = "child"  # parent-targeted: the case is registered on the child's personnummer


class DocumentationRule(StrEnum):
    standard = "standard"  # SoL 14:3
    counselling_exempt = "counselling_exempt"  # SoL 14:4
    identity_exempt = "identity_exempt"  # SoL 14:5

    @property
    def paragraph(self) -> str:
        return {
            DocumentationRule.standard: "SoL 14:3",
            DocumentationRule.counselling_exempt: "SoL 14:4",
            DocumentationRule.identity_exempt: "SoL 14:5",
        }[self]

    @property
    def keeps_identity(self) -> bool:
        """Only the standard rule documents who the person is."""
        return self is DocumentationRule.standard


@dataclass(frozen=True, slots=True)
class Conditions:
    """Villkor: the machine-checkable facts a provider may check (a summary check only).

    `min_age`/`max_age` bound the participant's own age. `child_min_age`/`child_max_age`
    bound the age of the child the intervention is about: the participant themself when
    they take part as a child, or a child the parent comes about.
    """

    min_age: int | None = None
    max_age: int | None = None
    roles: tuple[Role, ...] = ()  # empty: anyone
    child_min_age: int | None = None
    child_max_age: int | None = None
    school_years: tuple[int, ...] = ()  # empty: any; 0 = förskoleklass, 1-9 grundskola
    no_accompanying_children: bool = False
    residence_in_committee: bool = False
    max_sessions: int | None = None
    # SoL 21:2: the committee considered the intervention appropriate for ages 15-17.
    ages_15_17_considered: bool = False


@dataclass(frozen=True, slots=True)
class Intervention:
    """One intervention as one decision offers it (a version: the slug recurs across decisions)."""

    id: str  # slug, unique within a committee's catalog
    name: str
    description: str
    area: Area
    category: Category
    delivery_form: DeliveryForm
    kind: Kind
    target_group: str
    conditions: Conditions
    delivered_in_home: bool
    subject_rule: SubjectRule
    documentation_rule: DocumentationRule
    special_reasons: str | None = None


@dataclass(frozen=True, slots=True)
class Committee:
    """A social committee, with the configuration its disposal rules read (`app.disposal.rules`)."""

    id: str  # slug, e.g. "sn-sydvast"
    name: str
    # SoL 16:4, SoF 13:1: which personakter are kept for research (default: all, nothing destroyed).
    research_exemption: ResearchExemption = ResearchExemption.ALL
    # The records plan's retention of exempted records (SoL 14:4, 14:5), in years; None: kept.
    records_plan_retention_years: int | None = None
    # Units run by a private provider (SoL 17 kap.); every other unit is municipal.
    unit_providers: tuple[tuple[str, ProviderKind], ...] = ()

    def disposal_policy(self) -> CommitteeDisposalPolicy:
        return CommitteeDisposalPolicy(
            exemption=self.research_exemption,
            retention_years=self.records_plan_retention_years,
            providers=dict(self.unit_providers),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """Nämndbeslut: a committee's offering of interventions from a date."""

    id: str
    committee: str
    decided_on: dt.date
    reference: str  # e.g. "§ 123"
    effective_from: dt.date
    effective_to: dt.date | None
    interventions: tuple[Intervention, ...] = field(default_factory=tuple)
    # Slugs this decision stops offering from its effective_from.
    withdrawn: tuple[str, ...] = field(default_factory=tuple)
    # Where the risk and consequence analysis behind the decision's documentation exemptions is
    # found (seeds 001, 003: "risk- och konsekvensanalys"), e.g. a document's registration number.
    risk_analysis_reference: str | None = None

    def in_force_on(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)
