"""While the database cannot be reached, requests answer 503 `database-unavailable`, never 500.

The app gets an engine of its own whose connection attempts can be refused at will (as a
server that is down refuses them), on SQLite and PostgreSQL alike; the PostgreSQL test that
cuts live connections under write load is `test_database_outage.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select

from app.cases.models import CaseRow
from app.cases.service import CaseService
from app.core.db import Database
from app.kit.idempotency_models import IdempotencyRecord
from app.main import create_app

pytestmark = pytest.mark.usefixtures("demo_catalog")

OPENING = {"intervention_id": "krisstod", "participant": {"age": 34, "gender": "unknown"}}


class Outage:
    """Refuses every new connection of one engine while `down`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.down = False
        event.listen(db.engine.sync_engine, "do_connect", self._connect)

    def _connect(self, *_: Any) -> None:
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")

    async def cut(self) -> None:
        self.down = True
        await self.db.engine.dispose()  # pooled connections go too: the next use must connect

    def restore(self) -> None:
        self.down = False


@pytest.fixture
async def own_db(database_url: str) -> AsyncIterator[Database]:
    db = Database.connect(database_url)
    yield db
    await db.dispose()


@pytest.fixture
def outage(own_db: Database) -> Outage:
    return Outage(own_db)


@pytest.fixture
async def outage_client(settings: Any, own_db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings, database=own_db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://iub.test") as client:
            yield client


@pytest.fixture
def cut_during_case_opening(monkeypatch: pytest.MonkeyPatch, outage: Outage) -> Iterator[None]:
    """The database goes away after the Idempotency-Key was claimed, before the case is written."""
    opened = CaseService.open

    async def open_after_the_database_left(self: CaseService, *args: Any, **kwargs: Any) -> Any:
        if not outage.down and not getattr(outage, "done", False):
            outage.done = True  # type: ignore[attr-defined]
            await outage.cut()
        return await opened(self, *args, **kwargs)

    monkeypatch.setattr(CaseService, "open", open_after_the_database_left)
    yield


async def test_requests_while_the_database_refuses_connections_answer_503_with_retry_after(
    outage_client: httpx.AsyncClient, outage: Outage, auth
) -> None:
    await outage.cut()
    read = await outage_client.get("/v1/cases", headers=auth())
    write = await outage_client.post("/v1/cases", json=OPENING, headers=auth())
    for response in (read, write):
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/database-unavailable"
        assert int(response.headers["retry-after"]) > 0
    outage.restore()
    assert (await outage_client.get("/v1/cases", headers=auth())).status_code == 200


async def test_the_catalog_and_the_summary_check_keep_answering_while_the_database_is_away(
    outage_client: httpx.AsyncClient, outage: Outage, auth
) -> None:
    await outage.cut()
    listed = await outage_client.get("/v1/catalog/interventions", headers=auth())
    checked = await outage_client.post(
        "/v1/eligibility/check", json={"intervention_id": "krisstod", "facts": {"age": 30}}, headers=auth()
    )
    assert (listed.status_code, checked.status_code) == (200, 200)


@pytest.mark.usefixtures("cut_during_case_opening")
async def test_a_request_failed_by_the_database_leaving_releases_its_idempotency_key(
    outage_client: httpx.AsyncClient, outage: Outage, own_db: Database, auth
) -> None:
    headers = {**auth(), "Idempotency-Key": "opening-during-outage"}
    failed = await outage_client.post("/v1/cases", json=OPENING, headers=headers)
    assert failed.status_code == 503
    assert failed.json()["type"] == "/problems/database-unavailable"

    outage.restore()
    retried = await outage_client.post("/v1/cases", json=OPENING, headers=headers)
    assert retried.status_code == 201, retried.text  # not 409 idempotency-key-in-progress
    replayed = await outage_client.post("/v1/cases", json=OPENING, headers=headers)
    assert replayed.headers.get("idempotent-replayed") == "true"
    async with own_db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CaseRow)) == 1
        assert await session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1
