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
