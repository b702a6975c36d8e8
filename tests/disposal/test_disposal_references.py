"""Disposal deletes a batch's files with the foreign keys' work done per batch (triggers off for
its deletes) only where that removes exactly what the keys would: PostgreSQL, a role that may set
`session_replication_role`, and the keys into the deleted tables exactly the known ones."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.cases.erasure import REFERENCES, set_based_available
from app.core.db import Database


async def test_set_based_only_with_the_known_foreign_keys(db: Database, backend: str) -> None:
    async with db.sessions() as session:
        available = await set_based_available(session)
    if backend != "postgresql":
        assert not available
        return
    assert available  # the tests' role is the server's superuser, the schema the migrations'
    async with db.engine.begin() as connection:
        await connection.exec_driver_sql(
            "CREATE TABLE disposal_reference_probe (case_id VARCHAR(36) REFERENCES cases (id) ON DELETE CASCADE)"
        )
    try:
        async with db.sessions() as session:
            assert not await set_based_available(session)  # a key it does not know: the triggers stay
    finally:
        async with db.engine.begin() as connection:
            await connection.exec_driver_sql("DROP TABLE disposal_reference_probe")
    async with db.sessions() as session:
        assert await set_based_available(session)


async def test_set_based_not_for_a_role_without_the_setting(db: Database, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    async with db.sessions() as session, session.begin():
        await session.execute(text("DROP ROLE IF EXISTS iub_disposal_probe"))
        await session.execute(text("CREATE ROLE iub_disposal_probe"))
        try:
            await session.execute(text("SET LOCAL ROLE iub_disposal_probe"))
            assert not await set_based_available(session)
        finally:
            await session.execute(text("RESET ROLE"))
            await session.execute(text("DROP ROLE iub_disposal_probe"))


def test_the_known_keys_name_every_table_deleted_from() -> None:
    assert {referred for _, _, referred, _ in REFERENCES} == {"cases", "persons"}


async def test_set_based_deletes_fail_on_a_hold_as_the_key_would(db: Database, backend: str) -> None:
    """A hold the batch did not see (set after its check) makes the batch fail, as the hold's
    RESTRICT key makes it fail with the triggers on; the batch is then made again."""
    if backend != "postgresql":
        pytest.skip("the set-based path is PostgreSQL's")
    from sqlalchemy.exc import IntegrityError

    from app.cases.erasure import check_no_references, erase_cases, references_unchecked
    from bench.disposal import SEED

    async with db.sessions() as session, session.begin():
        for statement in SEED:
            await session.execute(text(statement), {"n": 1})
        case_id = await session.scalar(text("SELECT id FROM cases"))
        await session.execute(
            text(
                "INSERT INTO disposal_holds (id, committee, unit, case_id, reason, created_by, created_at)"
                " VALUES ('00000000-0000-4000-8000-00000000b01d', 'bench-destroy', 'unit-a', :case, 'court',"
                " 'test', now())"
            ),
            {"case": case_id},
        )
    with pytest.raises(IntegrityError):
        async with db.sessions() as session, session.begin(), references_unchecked(session):
            await erase_cases(session, [case_id], set_based=True)
            await check_no_references(session, [case_id], [])
    async with db.sessions() as session:  # rolled back: the case and its entries are all there
        assert await session.scalar(text("SELECT count(*) FROM case_notes WHERE case_id = :c"), {"c": case_id}) == 2
        assert await session.scalar(text("SELECT count(*) FROM cases")) == 1
    async with db.sessions() as session, session.begin(), references_unchecked(session):
        await session.execute(text("DELETE FROM disposal_holds"))
        assert await erase_cases(session, [case_id], set_based=True) == 1
        await check_no_references(session, [case_id], [])
    async with db.sessions() as session:  # its entries went with it, as by the cascade
        for table in ("case_notes", "case_plans", "case_plan_versions", "case_sessions", "case_coded_entries"):
            assert await session.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table
