"""Catalog use cases. Each runs inside the caller's transaction; none commits."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.domain import Committee, Decision
from app.catalog.repository import CatalogRepository
from app.catalog.rules import Violation, check_decision
from app.catalog.store import CatalogStore, announce_change
from app.core.auth import Caller
from app.core.db import on_commit
from app.core.errors import FORBIDDEN, ProblemError, problem_type

CATALOG_ADMIN = "catalog:admin"

DECISION_VIOLATES_LAW = problem_type(
    "decision-violates-law",
    422,
    "The decision breaks a rule of the law",
    "A committee decision was checked against SoL before it was stored and broke one or more rules; "
    "`violations` lists each, with the paragraph (`rule`), a stable `code` and the intervention concerned.",
)
DECISION_EXISTS = problem_type(
    "decision-exists",
    409,
    "A decision with this reference already exists",
    "The committee already has a decision with this `reference`; decisions are never rewritten: "
    "record a new decision with a new reference.",
)


def violations_problem(violations: list[Violation], posted: Decision | None = None) -> ProblemError:
    """The 422 for a decision that breaks the law. For a posted decision, each `field` is its path in the
    request body (`body.interventions[2].conditions.min_age`), as the validation problems name it."""
    listed = [dataclasses.asdict(v) for v in violations]
    if posted is not None:
        index = {iv.id: i for i, iv in reversed(list(enumerate(posted.interventions)))}
        for v in listed:
            if v["field"] is None:
                continue
            where = index.get(v["intervention_id"]) if v["intervention_id"] is not None else None
            v["field"] = ("body." if where is None else f"body.interventions[{where}].") + v["field"]
    return ProblemError(
        DECISION_VIOLATES_LAW,
        f"The decision breaks {len(violations)} rule(s); nothing was stored.",
        violations=listed,
    )


def _disposal_of(committee: Committee) -> tuple[object, ...]:
    return (committee.research_exemption, committee.records_plan_retention_years, committee.unit_providers)


class CatalogService:
    def __init__(self, session: AsyncSession, store: CatalogStore) -> None:
        self.session = session
        self.repo = CatalogRepository(session)
        self.store = store

    async def record_decision(self, decision: Decision) -> Decision:
        """Check a decision against the law and store it; the in-memory catalog follows on commit."""
        exists = await self.repo.committee_exists(decision.committee)
        violations = check_decision(decision, committee_exists=exists)
        if violations:
            raise violations_problem(violations, decision)
        if await self.repo.find_decision(decision.committee, decision.reference) is not None:
            raise ProblemError(DECISION_EXISTS, "This committee already has a decision with that reference.")
        await self.repo.add_decision(decision)
        on_commit(self.session, lambda: self.store.add([], [decision]))
        await announce_change(self.session)  # the other processes' stores
        return decision

    async def put_committee(
        self, committee_id: str, caller: Caller, change: Callable[[Committee | None], Committee]
    ) -> Committee:
        """Register or change a committee for an API caller: each committee is its own controller and
        changes only itself; a new committee, or another one, needs `catalog:admin`, and so does a
        change of the disposal configuration (research exemption, records plan, provider kinds),
        which decides what is destroyed."""
        current = await self.repo.get_committee(committee_id)
        committee = change(current)
        if not caller.has(CATALOG_ADMIN):
            if current is None:
                raise ProblemError(
                    FORBIDDEN,
                    f"Registering a new committee requires the scope `{CATALOG_ADMIN}`.",
                    required_scope=CATALOG_ADMIN,
                )
            if committee.id != caller.committee:
                raise ProblemError(
                    FORBIDDEN,
                    f"A committee may change only itself; another committee requires the scope `{CATALOG_ADMIN}`.",
                    required_scope=CATALOG_ADMIN,
                )
            if _disposal_of(committee) != _disposal_of(current):
                raise ProblemError(
                    FORBIDDEN,
                    f"Changing the disposal configuration requires the scope `{CATALOG_ADMIN}`.",
                    required_scope=CATALOG_ADMIN,
                )
        changed = await self.repo.upsert_committee(committee)
        if current is not None:
            changed = await self.repo.configure_disposal(committee) or changed
        if changed:
            on_commit(self.session, lambda: self.store.add([committee], []))
            await announce_change(self.session)
        return committee

    async def register_committee(self, committee: Committee) -> None:
        if await self.repo.upsert_committee(committee):
            on_commit(self.session, lambda: self.store.add([committee], []))
            await announce_change(self.session)

    async def load(
        self,
        committees: list[Committee],
        decisions: list[Decision],
        on_decision: Callable[[], None] | None = None,
    ) -> tuple[int, int]:
        """Load a catalog file: idempotent. Returns (decisions added, decisions already present);
        `on_decision` is called after each decision (a progress display)."""
        for committee in committees:
            await self.register_committee(committee)
        await self.session.flush()
        added = unchanged = 0
        for decision in decisions:
            existing = await self.repo.find_decision(decision.committee, decision.reference)
            if existing is not None:
                if dataclasses.replace(existing, id=decision.id) != decision:
                    raise ProblemError(
                        DECISION_EXISTS,
                        f"{decision.committee} {decision.reference}: a different decision with this "
                        "reference is already stored.",
                    )
                unchanged += 1
            else:
                await self.record_decision(decision)
                added += 1
            if on_decision is not None:
                on_decision()
        return added, unchanged
