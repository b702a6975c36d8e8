"""Use cases: record group meetings; answer the predefined tables and the yearly report.

The tables are read from a snapshot of published counts per committee: computed from the
records (through `app.cases.follow_up`, never the case tables directly), protected by the
disclosure control for every table and period at once, and stored. A read whose snapshot is
older than `IUB_STATS_REFRESH_SECONDS`, or does not yet cover the last ended quarter, first
refreshes it in a transaction of its own (`iub stats refresh` does the same from a scheduler).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.follow_up import follow_up_counts
from app.cases.problems import INTERVENTION_NOT_OFFERED, invalid_fields
from app.cases.redaction import Redaction
from app.catalog.snapshot import CatalogSnapshot
from app.core.auth import Caller
from app.core.db import Database, new_id
from app.core.errors import NOT_FOUND, ProblemError
from app.core.settings import Settings
from app.kit.clock import now, today
from app.stats.disclosure import Method
from app.stats.groups import is_group_intervention, scrub_note
from app.stats.models import GroupMeetingRow, StatsSnapshotRow
from app.stats.periods import Period, last_ended_quarter
from app.stats.problems import COMMITTEE_NOT_PERMITTED, NOT_A_GROUP_INTERVENTION, PERIOD_NOT_ENDED
from app.stats.repository import MeetingKey, MeetingRepository, SnapshotRepository
from app.stats.schemas import MeetingIn
from app.stats.tables import COMMITTEE_ROW, TABLES, VARS, CellId, Table, build_cube, canonical, publish

# --- group meetings ------------------------------------------------------------------------


class GroupMeetingService:
    def __init__(self, session: AsyncSession, caller: Caller) -> None:
        self.caller = caller
        self.meetings = MeetingRepository(session)

    async def record(
        self, group_id: str, body: MeetingIn, catalog: CatalogSnapshot
    ) -> tuple[GroupMeetingRow, list[Redaction]]:
        if body.held_on > today():
            raise invalid_fields(("held_on", "date_in_future", "the date cannot be in the future"))
        offered = catalog.find(self.caller.committee, body.intervention_id, body.held_on)
        if offered is None:
            raise ProblemError(INTERVENTION_NOT_OFFERED, "The committee offers no such intervention on that date.")
        intervention = offered.intervention
        if not is_group_intervention(intervention.delivery_form):
            raise ProblemError(NOT_A_GROUP_INTERVENTION, "The committee does not offer this intervention in groups.")
        note, redactions = scrub_note(body.note, intervention.documentation_rule.value)
        participants = body.participants.model_dump()
        row = GroupMeetingRow(
            id=new_id(),
            committee=self.caller.committee,
            unit=self.caller.unit,
            group_id=group_id,
            intervention_id=intervention.id,
            documentation_rule=intervention.documentation_rule.value,
            held_on=body.held_on,
            participants={gender: n for gender, n in participants.items() if n},
            age_bands={band: n for band, n in (body.age_bands or {}).items() if n},
            note=note,
            recorded_by=self.caller.sub,
        )
        self.meetings.add(row)
        return row, redactions

    async def of_group(self, group_id: str, limit: int, after: MeetingKey | None = None) -> list[GroupMeetingRow]:
        return await self.meetings.of_group(group_id, self.caller, limit=limit, after=after)


# --- statistics ------------------------------------------------------------------------------


async def refresh(db: Database, committee: str, settings: Settings, on: dt.date | None = None) -> StatsSnapshotRow:
    """Recompute and store the committee's published counts, through the last ended quarter."""
    on = on or today()
    last = last_ended_quarter(on)
    method = Method(settings.stats_disclosure_method)
    async with db.sessions() as session, session.begin():
        snapshots = SnapshotRepository(session)
        snapshot = await snapshots.lock(committee)  # a concurrent refresh waits here, then finds it fresh
        if not _stale(snapshot, settings, on):
            return snapshot
        through = Period.of_index(last).last_day
        counts = await follow_up_counts(session, committee, through=through)
        meetings = await MeetingRepository(session).facts(committee, through=through)
        cube = build_cube(counts, meetings, last_quarter=last)
        published = await asyncio.to_thread(publish, cube, method, settings.stats_threshold)
        await snapshots.replace_cells(committee, published)
        snapshot.taken_at = now()
        snapshot.method = method.value
        snapshot.threshold = settings.stats_threshold
        snapshot.first_quarter = cube.first
        snapshot.last_quarter = cube.last
        snapshot.rows = cube.rows
    return snapshot


def _stale(snapshot: StatsSnapshotRow, settings: Settings, on: dt.date) -> bool:
    taken_at = snapshot.taken_at if snapshot.taken_at.tzinfo else snapshot.taken_at.replace(tzinfo=dt.UTC)
    return (
        (now() - taken_at).total_seconds() >= settings.stats_refresh_seconds
        or snapshot.last_quarter < last_ended_quarter(on)
        or snapshot.method != settings.stats_disclosure_method
        or snapshot.threshold != settings.stats_threshold
    )


@dataclass(frozen=True)
class Row:
    level: str
    key: str
    label: str
    values: dict[str, int | float | None]


@dataclass(frozen=True)
class TableAnswer:
    table: Table
    committee: str
    period: Period
    as_of: dt.datetime
    method: str
    threshold: int
    rows: list[Row]


@dataclass(frozen=True)
class Published:
    """A committee's published counts for some periods (what the report draws)."""

    committee: str
    committee_name: str
    as_of: dt.datetime
    method: str
    threshold: int
    periods: list[Period]
    rows: list[tuple[str, str, str]]  # (level, key, label)
    cells: dict[CellId, int | None]

    def value(self, period: Period | str, row: str, var: str) -> int | None:
        return self.cells.get(canonical((str(period), row, var)), 0)


class StatsService:
    def __init__(self, db: Database, settings: Settings, caller: Caller, catalog: CatalogSnapshot) -> None:
        self.db = db
        self.settings = settings
        self.caller = caller
        self.catalog = catalog

    def _committee(self, committee: str | None) -> str:
        committee = committee or self.caller.committee
        if committee != self.caller.committee:
            raise ProblemError(COMMITTEE_NOT_PERMITTED, "The token answers for another committee.")
        return committee

    async def published(self, committee: str | None, periods: list[Period], variables: list[str]) -> Published:
        committee = self._committee(committee)
        on = today()
        if not periods or any(not p.ended_by(on) for p in periods):
            raise ProblemError(PERIOD_NOT_ENDED, "Statistics answer a quarter or a year once it has ended.")
        async with self.db.sessions() as session:
            snapshot = await SnapshotRepository(session).get(committee)
        if snapshot is None or _stale(snapshot, self.settings, on):
            snapshot = await refresh(self.db, committee, self.settings, on)
        wanted = {canonical((str(p), COMMITTEE_ROW, v))[0] for p in periods for v in variables}
        async with self.db.sessions() as session:
            cells = await SnapshotRepository(session).cells(committee, sorted(wanted), variables)
        return Published(
            committee=committee,
            committee_name=self._committee_name(committee),
            as_of=snapshot.taken_at if snapshot.taken_at.tzinfo else snapshot.taken_at.replace(tzinfo=dt.UTC),
            method=snapshot.method,
            threshold=snapshot.threshold,
            periods=periods,
            rows=[self._row(committee, key) for key in snapshot.rows],
            cells=cells,
        )

    async def table(self, name: str, committee: str | None, period: Period) -> TableAnswer:
        table = TABLES.get(name)
        if table is None:
            raise ProblemError(NOT_FOUND, "No statistics table has this name (see GET /v1/stats/tables).")
        published = await self.published(committee, [period], table.vars)
        rows = []
        for level, key, label in published.rows:
            row = COMMITTEE_ROW if level == COMMITTEE_ROW else f"{level}:{key}"
            values: dict[str, int | float | None] = {
                c.key: published.value(period, row, c.var) for c in table.columns if c.var is not None
            }
            if name == "informed_of_right_to_apply":
                values["share"] = _share(values["informed"], values["total"])
            rows.append(Row(level, key, label, values))
        return TableAnswer(
            table, published.committee, period, published.as_of, published.method, published.threshold, rows
        )

    async def report(self, committee: str | None, year: int) -> Published:
        """The published counts of the year's ended quarters, and of the year once it has ended."""
        on = today()
        periods: list[Period] = [Period(year, q) for q in range(1, 5) if Period(year, q).ended_by(on)]
        if Period(year).ended_by(on):
            periods.append(Period(year))
        return await self.published(committee, periods, VARS)

    def _committee_name(self, committee: str) -> str:
        found = self.catalog.committees.get(committee)
        return found.name if found is not None else committee

    def _row(self, committee: str, key: str) -> tuple[str, str, str]:
        if key == COMMITTEE_ROW:
            return (COMMITTEE_ROW, committee, self._committee_name(committee))
        level, _, slug = key.partition(":")
        if level == "intervention":
            return (level, slug, self._intervention_name(committee, slug))
        return (level, slug, slug)

    def _intervention_name(self, committee: str, slug: str) -> str:
        for decision in reversed(self.catalog.decisions_of(committee)):
            for intervention in decision.interventions:
                if intervention.id == slug:
                    return intervention.name
        return slug


def _share(part: int | float | None, total: int | float | None) -> float | None:
    """A share only from published counts: a share of a hidden count would reveal it."""
    if part is None or total is None or total == 0:
        return None
    return round(part / total, 3)
