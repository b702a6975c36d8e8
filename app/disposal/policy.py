"""Where the disposal rules' configuration comes from: the committee in the catalog.

`load_policies(session, committee_id)` reads it through the catalog's repository (two queries)
for jobs that run outside a request (disposal lists, execution). Requests read the same
configuration from the in-memory catalog (`Committee.disposal_policy()`), without a query.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.repository import CatalogRepository
from app.disposal.rules import CommitteeDisposalPolicy

__all__ = ["CommitteeDisposalPolicy", "load_policies"]


async def load_policies(session: AsyncSession, committee_id: str) -> CommitteeDisposalPolicy:
    """The committee's research exemption, records plan retention and provider kind per unit.

    A committee missing from the catalog gets the defaults, which destroy nothing.
    """
    committee = await CatalogRepository(session).get_committee(committee_id)
    return CommitteeDisposalPolicy() if committee is None else committee.disposal_policy()
