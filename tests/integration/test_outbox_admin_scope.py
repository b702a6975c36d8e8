"""`outbox:admin` is scoped to the caller's committee; `outbox:admin:all` widens it to every committee."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from app.journal.models import OutboxEvent

pytestmark = pytest.mark.usefixtures("demo_catalog")

ADULT = "199003012391"


async def open_identified(client, auth, committee: str) -> dict[str, Any]:
    body = {
        "intervention_id": "skyddat-boende-vuxna",
        "opened_on": "2026-09-01",
        "subject": {"personnummer": ADULT, "name": "Sigrid Provsson"},
    }
    response = await client.post("/v1/cases", json=body, headers=auth("cases:write", committee=committee))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def events(db) -> list[OutboxEvent]:
    async with db.sessions() as session:
        return list((await session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq))).all())


async def test_outbox_admin_sees_only_its_committee(client, auth, db):
    own = await open_identified(client, auth, "sn-sydvast")
    other = await open_identified(client, auth, "sn-centrum")
    patched = await client.patch(
        f"/v1/persons/{other['person_id']}", json={"phone": "070-174 06 10"}, headers=auth(committee="sn-centrum")
    )
    assert patched.status_code == 200
    # Every event names the committee whose record it carries, from the moment it is written.
    written = await events(db)
    assert [(e.kind, e.committee) for e in written] == [
        ("case.registered", "sn-sydvast"),
        ("case.registered", "sn-centrum"),
        ("person.updated", "sn-centrum"),
    ]
    async with db.sessions() as session, session.begin():
        await session.execute(update(OutboxEvent).values(status="dead"))
    own_event, other_event = written[0].id, written[1].id

    admin = auth("outbox:admin", committee="sn-sydvast")
    listed = await client.get("/v1/outbox", headers=admin)
    assert [i["aggregate_id"] for i in listed.json()["items"]] == [own["id"]]
    dead = await client.get("/v1/outbox", params={"status": "dead"}, headers=admin)
    assert [i["id"] for i in dead.json()["items"]] == [own_event]
    # Another committee's event is answered like one that does not exist, and stays as it was.
    refused = await client.post(f"/v1/outbox/{other_event}/retry", headers=admin)
    assert refused.status_code == 404 and refused.json()["type"] == "/problems/not-found"
    assert (await client.post(f"/v1/outbox/{own_event}/retry", headers=admin)).status_code == 200
    assert {e.id: e.status for e in await events(db)}[other_event] == "dead"

    everyone = auth("outbox:admin outbox:admin:all", committee="sn-sydvast")
    listed_all = await client.get("/v1/outbox", headers=everyone)
    assert [i["id"] for i in listed_all.json()["items"]] == [e.id for e in written]
    assert (await client.post(f"/v1/outbox/{other_event}/retry", headers=everyone)).status_code == 200
    # The widening scope alone opens nothing.
    assert (await client.get("/v1/outbox", headers=auth("outbox:admin:all"))).status_code == 403


async def test_an_event_without_a_committee_is_seen_only_by_outbox_admin_all(client, auth, db):
    await open_identified(client, auth, "sn-sydvast")
    async with db.sessions() as session, session.begin():
        await session.execute(update(OutboxEvent).values(committee=None))
    assert (await client.get("/v1/outbox", headers=auth("outbox:admin"))).json()["items"] == []
    everyone = await client.get("/v1/outbox", headers=auth("outbox:admin outbox:admin:all"))
    assert len(everyone.json()["items"]) == 1
