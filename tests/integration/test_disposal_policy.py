"""The disposal rules' configuration as stored per committee and unit (both databases)."""

from __future__ import annotations

import dataclasses

from app.catalog.domain import Committee
from app.catalog.repository import CatalogRepository
from app.core.db import Database
from app.disposal.policy import CommitteeDisposalPolicy, load_policies
from app.disposal.rules import ProviderKind, ResearchExemption


async def test_demo_committees_are_goteborgs_research_exemption_all(demo_catalog: Database) -> None:
    async with demo_catalog.sessions() as session:
        for committee in ("sn-centrum", "sn-hisingen", "sn-nordost", "sn-sydvast"):
            policy = await load_policies(session, committee)
            assert policy.exemption is ResearchExemption.ALL
            assert policy.retention_years is None  # exempted records kept
            assert policy.provider("any-unit") is ProviderKind.MUNICIPAL


async def test_configuration_round_trips(db: Database) -> None:
    committee = Committee(
        "sn-test",
        "Socialnämnden Test",
        research_exemption=ResearchExemption.BIRTHDAYS_5_15_25,
        records_plan_retention_years=3,
        unit_providers=(("unit-p", ProviderKind.PRIVATE),),
    )
    async with db.sessions() as session, session.begin():
        assert await CatalogRepository(session).upsert_committee(committee)
    async with db.sessions() as session:
        policy = await load_policies(session, "sn-test")
        assert policy.exemption is ResearchExemption.BIRTHDAYS_5_15_25
        assert policy.retention_years == 3
        assert policy.provider("unit-p") is ProviderKind.PRIVATE
        assert policy.provider("unit-m") is ProviderKind.MUNICIPAL
        committees, _ = await CatalogRepository(session).load_all()
        assert committees == [committee]

    changed = dataclasses.replace(
        committee,
        research_exemption=ResearchExemption.NONE,
        records_plan_retention_years=None,
        unit_providers=(("unit-q", ProviderKind.PRIVATE), ("unit-m", ProviderKind.MUNICIPAL)),
    )
    async with db.sessions() as session, session.begin():
        repo = CatalogRepository(session)
        assert not await repo.upsert_committee(changed)  # a rename only: the configuration stays
        assert await repo.configure_disposal(changed)
    async with db.sessions() as session, session.begin():
        assert not await CatalogRepository(session).configure_disposal(changed)  # unchanged
        policy = await load_policies(session, "sn-test")
        assert policy.exemption is ResearchExemption.NONE
        assert policy.retention_years is None
        assert dict(policy.providers) == {"unit-q": ProviderKind.PRIVATE}  # municipal units have no row


async def test_unknown_committee_gets_the_defaults_that_destroy_nothing(db: Database) -> None:
    async with db.sessions() as session:
        assert await load_policies(session, "sn-nobody") == CommitteeDisposalPolicy()
