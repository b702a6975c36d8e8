"""Audit records are kept for IUB_AUDIT_RETENTION_YEARS, then purged; nothing else deletes them.

SoLPUL 10 §: access is documented and checkable, so a recorded access can be neither rewritten
(0005) nor deleted by an ordinary statement (0017). Two paths remove records, each with a grant
only its own transaction sees: disposal (it replaces the records naming a disposed file) and the
retention purge.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import DBAPIError

from app.cases.audit_deletion import audit_deletion, purge_audit, years_before
from app.cases.models import AuditDeleteGrantRow, AuditRecordRow
from app.core.db import Database, new_id
from app.core.settings import Settings

NOW = dt.datetime(2036, 6, 1, 12, tzinfo=dt.UTC)


async def seed(db: Database, *ages_in_days: int, committee: str = "sn-sydvast") -> None:
    rows = [
        {
            "id": new_id(),
            "at": NOW - dt.timedelta(days=age),
            "actor": "handlaggare-1",
            "committee": committee,
            "unit": "unit-a",
            "action": "case.read",
            "case_id": new_id(),
            "person_id": None,
            "case_ids": None,
            "person_ids": None,
            "why_code": "carrying_out",
            "basis": None,
        }
        for age in ages_in_days
    ]
    async with db.sessions() as session, session.begin():
        await session.execute(insert(AuditRecordRow), rows)


async def ages(db: Database) -> list[tuple[str, int]]:
    async with db.sessions() as session:
        rows = (await session.execute(select(AuditRecordRow.committee, AuditRecordRow.at))).all()
    return sorted((committee, (NOW - at).days) for committee, at in rows)


async def grants(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditDeleteGrantRow)) or 0)


def test_the_retention_defaults_to_ten_years_and_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().audit_retention_years == 10
    monkeypatch.setenv("IUB_AUDIT_RETENTION_YEARS", "3")
    assert Settings().audit_retention_years == 3
    monkeypatch.setenv("IUB_AUDIT_RETENTION_YEARS", "0")
    with pytest.raises(ValueError, match="audit_retention_years"):
        Settings()


def test_retention_years_count_calendar_years() -> None:
    assert years_before(NOW, 10) == dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    assert years_before(dt.datetime(2028, 2, 29, tzinfo=dt.UTC), 1) == dt.datetime(2027, 2, 28, tzinfo=dt.UTC)


async def test_an_ordinary_delete_of_an_audit_record_is_refused_by_the_database(db: Database) -> None:
    await seed(db, 4000)
    with pytest.raises(DBAPIError):
        async with db.sessions() as session, session.begin():
            await session.execute(delete(AuditRecordRow))
    assert len(await ages(db)) == 1


async def test_a_grant_is_seen_by_its_own_transaction_only(db: Database) -> None:
    await seed(db, 4000, 4001)
    async with db.sessions() as session, session.begin():
        async with audit_deletion(session, "retention"):
            await session.execute(delete(AuditRecordRow).where(AuditRecordRow.at < NOW - dt.timedelta(days=4000)))
        # Once the block ends, the same transaction is refused again.
        with pytest.raises(DBAPIError):
            async with session.begin_nested():
                await session.execute(delete(AuditRecordRow))
    assert [age for _, age in await ages(db)] == [4000]
    assert await grants(db) == 0


async def test_the_purge_deletes_only_records_older_than_the_retention_in_batches(db: Database) -> None:
    retention = years_before(NOW, 10)
    old, young = 3653 + 1, 3650 - 1  # just past ten years (with leap days), just within
    await seed(db, *[old] * 7, young, 1)
    await seed(db, old, young, committee="sn-centrum")

    assert await purge_audit(db, retention, batch_size=3, dry_run=True) == 8
    assert len(await ages(db)) == 11  # a dry run deletes nothing

    assert await purge_audit(db, retention, batch_size=3) == 8  # three batches of sn-sydvast, one of sn-centrum
    assert await ages(db) == [("sn-centrum", young), ("sn-sydvast", 1), ("sn-sydvast", young)]
    assert await grants(db) == 0
    assert await purge_audit(db, retention, batch_size=3) == 0
