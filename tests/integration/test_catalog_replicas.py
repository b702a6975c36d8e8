"""Two API replicas on one PostgreSQL: a catalog write through one is served by the other within
moments (LISTEN/NOTIFY), without waiting for the refresh interval; a rolled-back write is never seen."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from app.catalog.store import announce_change
from app.core.db import Database
from app.main import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.usefixtures("demo_catalog")


@contextlib.asynccontextmanager
async def replica(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    # Its own engine, as another process has; a refresh interval far longer than the test.
    settings = make_settings(database_url, catalog_refresh_seconds=3600)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://iub.test") as http,
    ):
        yield http, app.state.catalog


async def committees(http: httpx.AsyncClient, auth) -> set[str]:
    response = await http.get("/v1/catalog/committees", headers=auth("catalog:read"))
    assert response.status_code == 200
    return {c["id"] for c in response.json()["items"]}


async def test_a_committee_registered_on_one_replica_is_served_by_the_other_at_once(
    database_url: str, db: Database, backend: str, auth
) -> None:
    if backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite runs one process and refreshes on its interval")
    async with replica(database_url) as (first, _), replica(database_url) as (second, store):
        started = time.monotonic()
        while store.reloads < 2:  # listening: start-up, then the listener's catch-up reload
            assert time.monotonic() - started < 10, "the listener never connected"
            await asyncio.sleep(0.02)
        assert "sn-replika" not in await committees(second, auth)
        started = time.monotonic()
        response = await first.put(
            "/v1/catalog/committees/sn-replika",
            json={"name": "Socialnämnd Replika"},
            headers=auth("catalog:write catalog:admin"),
        )
        assert response.status_code == 200, response.text
        while "sn-replika" not in await committees(second, auth):
            assert time.monotonic() - started < 10, "the other replica never saw the committee"
            await asyncio.sleep(0.05)
        assert store.reloads >= 3  # start-up, catch-up, then the notification


async def test_a_rolled_back_catalog_write_notifies_nobody(database_url: str, db: Database, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    async with replica(database_url) as (_, store):
        await asyncio.sleep(0.5)  # the listener's first (catch-up) reload
        before = store.reloads
        async with db.sessions() as session, session.begin():
            await announce_change(session)
            await session.execute(text("SELECT 1"))
            await session.rollback()
        await asyncio.sleep(0.5)
        assert store.reloads == before
