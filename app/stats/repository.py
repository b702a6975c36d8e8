"""Group meetings and the published statistics. Meetings are scoped to the caller's committee and unit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Caller
from app.stats.models import GroupMeetingRow, StatsCellRow, StatsSnapshotRow
from app.stats.periods import quarter_index
from app.stats.tables import CellId, MeetingFact

# Where a page of meetings ended: (held_on, created_at, id) of its last meeting.
MeetingKey = tuple[dt.date, dt.datetime, str]


class MeetingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: GroupMeetingRow) -> None:
        self.session.add(row)

    async def of_group(
        self, group_id: str, caller: Caller, *, limit: int, after: MeetingKey | None = None
    ) -> list[GroupMeetingRow]:
        """The group's meetings newest first, after the meeting `after` (a page's last) when given."""
        key = tuple_(GroupMeetingRow.held_on, GroupMeetingRow.created_at, GroupMeetingRow.id)
        query = (
            select(GroupMeetingRow)
            .where(
                GroupMeetingRow.committee == caller.committee,
                GroupMeetingRow.unit == caller.unit,
                GroupMeetingRow.group_id == group_id,
            )
            .order_by(GroupMeetingRow.held_on.desc(), GroupMeetingRow.created_at.desc(), GroupMeetingRow.id.desc())
            .limit(limit)
        )
        if after is not None:
            query = query.where(key < tuple_(*after))
        return list((await self.session.scalars(query)).all())

    async def facts(self, committee: str, *, through: dt.date) -> list[MeetingFact]:
        """Every unit's meetings of the committee, as counts (the note is never read)."""
        query = select(
            GroupMeetingRow.unit,
            GroupMeetingRow.intervention_id,
            GroupMeetingRow.held_on,
            GroupMeetingRow.participants,
            GroupMeetingRow.age_bands,
            GroupMeetingRow.record_key,
        ).where(GroupMeetingRow.committee == committee, GroupMeetingRow.held_on <= through)
        return [
            MeetingFact(unit, intervention, quarter_index(held_on), participants, age_bands, key)
            for unit, intervention, held_on, participants, age_bands, key in (await self.session.execute(query)).all()
        ]


class SnapshotRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, committee: str) -> StatsSnapshotRow | None:
        return await self.session.get(StatsSnapshotRow, committee, populate_existing=True)

    async def lock(self, committee: str) -> StatsSnapshotRow:
        """The committee's snapshot row, locked until the transaction ends (one refresh at a time)."""
        dialect = self.session.get_bind().dialect.name
        upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        placeholder = {
            "committee": committee,
            "taken_at": dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
            "method": "",
            "threshold": 0,
            "first_quarter": 0,
            "last_quarter": -1,
            "rows": [],
        }
        await self.session.execute(upsert(StatsSnapshotRow).values(**placeholder).on_conflict_do_nothing())
        query = select(StatsSnapshotRow).where(StatsSnapshotRow.committee == committee).with_for_update()
        return (await self.session.scalars(query.execution_options(populate_existing=True))).one()

    async def replace_cells(self, committee: str, cells: Mapping[CellId, int | None]) -> None:
        await self.session.execute(delete(StatsCellRow).where(StatsCellRow.committee == committee))
        rows = [
            {"committee": committee, "period": period, "row": row, "var": var, "value": value}
            for (period, row, var), value in cells.items()
        ]
        for start in range(0, len(rows), 5000):
            await self.session.execute(insert(StatsCellRow), rows[start : start + 5000])

    async def cells(self, committee: str, periods: Iterable[str], variables: Iterable[str]) -> dict[CellId, int | None]:
        query = select(StatsCellRow.period, StatsCellRow.row, StatsCellRow.var, StatsCellRow.value).where(
            StatsCellRow.committee == committee,
            StatsCellRow.period.in_(list(periods)),
            StatsCellRow.var.in_(list(variables)),
        )
        return {(p, r, v): value for p, r, v, value in (await self.session.execute(query)).all()}
