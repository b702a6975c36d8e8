"""Every catalog query, mapping rows to and from the domain types."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

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
from app.catalog.models import CommitteeRow, CommitteeUnitRow, DecisionRow, InterventionRow
from app.disposal.rules import ProviderKind, ResearchExemption


def conditions_to_json(conditions: Conditions) -> dict[str, Any]:
    data = dataclasses.asdict(conditions)
    data["roles"] = [str(r) for r in conditions.roles]
    data["school_years"] = list(conditions.school_years)
    return data


def conditions_from_json(data: dict[str, Any]) -> Conditions:
    values = dict(data)
    values["roles"] = tuple(Role(r) for r in values.get("roles", ()))
    values["school_years"] = tuple(values.get("school_years", ()))
    known = {f.name for f in dataclasses.fields(Conditions)}
    return Conditions(**{k: v for k, v in values.items() if k in known})


def _intervention(row: InterventionRow) -> Intervention:
    return Intervention(
        id=row.slug,
        name=row.name,
        description=row.description,
        area=Area(row.area),
        category=Category(row.category),
        delivery_form=DeliveryForm(row.delivery_form),
        kind=Kind(row.kind),
        target_group=row.target_group,
        conditions=conditions_from_json(row.conditions),
        delivered_in_home=row.delivered_in_home,
        subject_rule=SubjectRule(row.subject_rule),
        documentation_rule=DocumentationRule(row.documentation_rule),
        special_reasons=row.special_reasons,
    )


def _committee(row: CommitteeRow, units: Sequence[CommitteeUnitRow]) -> Committee:
    return Committee(
        id=row.id,
        name=row.name,
        research_exemption=ResearchExemption(row.research_exemption),
        records_plan_retention_years=row.records_plan_retention_years,
        unit_providers=tuple(
            sorted((u.unit, ProviderKind(u.provider_kind)) for u in units if u.committee_id == row.id)
        ),
    )


def _unit_rows(committee: Committee) -> list[CommitteeUnitRow]:
    """Rows for the units that are not municipal (a unit without a row is municipal)."""
    return [
        CommitteeUnitRow(committee_id=committee.id, unit=unit, provider_kind=str(kind))
        for unit, kind in committee.unit_providers
        if kind is not ProviderKind.MUNICIPAL
    ]


def _decision(row: DecisionRow) -> Decision:
    return Decision(
        id=row.id,
        committee=row.committee_id,
        decided_on=row.decided_on,
        reference=row.reference,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        interventions=tuple(_intervention(i) for i in row.interventions),
        withdrawn=tuple(row.withdrawn or ()),
        risk_analysis_reference=row.risk_analysis_reference,
    )


class CatalogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load_all(self) -> tuple[list[Committee], list[Decision]]:
        committees = (await self.session.scalars(select(CommitteeRow).order_by(CommitteeRow.id))).all()
        units = (await self.session.scalars(select(CommitteeUnitRow))).all()
        decisions = (
            await self.session.scalars(select(DecisionRow).options(selectinload(DecisionRow.interventions)))
        ).all()
        return [_committee(c, units) for c in committees], [_decision(d) for d in decisions]

    async def get_committee(self, committee_id: str) -> Committee | None:
        """One committee with its disposal configuration (two queries)."""
        row = await self.session.get(CommitteeRow, committee_id)
        if row is None:
            return None
        units = (
            await self.session.scalars(select(CommitteeUnitRow).where(CommitteeUnitRow.committee_id == committee_id))
        ).all()
        return _committee(row, units)

    async def committee_exists(self, committee_id: str) -> bool:
        return await self.session.get(CommitteeRow, committee_id) is not None

    async def upsert_committee(self, committee: Committee) -> bool:
        """Insert with its disposal configuration, or rename; True when something changed.

        An existing committee's disposal configuration changes only by `configure_disposal`.
        """
        row = await self.session.get(CommitteeRow, committee.id)
        if row is None:
            self.session.add(
                CommitteeRow(
                    id=committee.id,
                    name=committee.name,
                    research_exemption=str(committee.research_exemption),
                    records_plan_retention_years=committee.records_plan_retention_years,
                )
            )
            await self.session.flush()  # the committee row exists before its units reference it
            self.session.add_all(_unit_rows(committee))
            return True
        if row.name != committee.name:
            row.name = committee.name
            return True
        return False

    async def configure_disposal(self, committee: Committee) -> bool:
        """Store the committee's disposal configuration as given (the row exists); True when it changed."""
        row = await self.session.get(CommitteeRow, committee.id)
        if row is None:
            raise LookupError("no such committee")
        changed = (row.research_exemption, row.records_plan_retention_years) != (
            str(committee.research_exemption),
            committee.records_plan_retention_years,
        )
        row.research_exemption = str(committee.research_exemption)
        row.records_plan_retention_years = committee.records_plan_retention_years
        units = (
            await self.session.scalars(select(CommitteeUnitRow).where(CommitteeUnitRow.committee_id == committee.id))
        ).all()
        wanted = _unit_rows(committee)
        if {(u.unit, u.provider_kind) for u in units} != {(u.unit, u.provider_kind) for u in wanted}:
            changed = True
            for unit_row in units:
                await self.session.delete(unit_row)
            await self.session.flush()
            self.session.add_all(wanted)
        return changed

    async def find_decision(self, committee: str, reference: str) -> Decision | None:
        row = await self.session.scalar(
            select(DecisionRow)
            .where(DecisionRow.committee_id == committee, DecisionRow.reference == reference)
            .options(selectinload(DecisionRow.interventions))
        )
        return None if row is None else _decision(row)

    async def add_decision(self, decision: Decision) -> None:
        row = DecisionRow(
            id=decision.id,
            committee_id=decision.committee,
            decided_on=decision.decided_on,
            reference=decision.reference,
            effective_from=decision.effective_from,
            effective_to=decision.effective_to,
            withdrawn=list(decision.withdrawn),
            risk_analysis_reference=decision.risk_analysis_reference,
        )
        for position, intervention in enumerate(decision.interventions):
            row.interventions.append(
                InterventionRow(
                    position=position,
                    slug=intervention.id,
                    name=intervention.name,
                    description=intervention.description,
                    area=str(intervention.area),
                    category=str(intervention.category),
                    delivery_form=str(intervention.delivery_form),
                    kind=str(intervention.kind),
                    target_group=intervention.target_group,
                    conditions=conditions_to_json(intervention.conditions),
                    delivered_in_home=intervention.delivered_in_home,
                    subject_rule=str(intervention.subject_rule),
                    documentation_rule=str(intervention.documentation_rule),
                    special_reasons=intervention.special_reasons,
                )
            )
        self.session.add(row)
        await self.session.flush()
