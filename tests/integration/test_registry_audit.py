"""Persons, the registry occurrence question (förekomst) and the audit trail (SoLPUL 10 §).

Personnummer literals are Skatteverket's official test numbers; phone numbers are from the ranges
PTS reserves for fiction; e-mail addresses use the reserved domain example.com.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from app.cases.models import AuditRecordRow, PersonRow
from app.journal.models import OutboxEvent

pytestmark = pytest.mark.usefixtures("demo_catalog")

ADULT = "199003012391"
PARENT = "198507012394"
CHILD = "201503012385"
UNKNOWN = "197712012397"
WRITE = "cases:write cases:read"


async def open_case(
    client, auth, intervention_id: str, *, unit: str = "unit-a", committee: str = "sn-sydvast", **body: Any
) -> dict[str, Any]:
    payload = {"intervention_id": intervention_id, "opened_on": "2026-09-01", **body}
    response = await client.post("/v1/cases", json=payload, headers=auth(WRITE, unit=unit, committee=committee))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def identity(pnr: str, name: str = "Sigrid Provsson", **extra: Any) -> dict[str, Any]:
    return {"personnummer": pnr, "name": name, **extra}


async def audit_rows(db) -> list[AuditRecordRow]:
    async with db.sessions() as session:
        return list((await session.scalars(select(AuditRecordRow).order_by(AuditRecordRow.at))).all())


# --- registry occurrence -------------------------------------------------------------------------


async def test_registry_occurrence_finds_identified_cases_in_every_unit_of_the_committee(client, auth, db):
    own = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT))
    elsewhere = await open_case(
        client,
        auth,
        "familjebehandling",
        unit="unit-b",
        subject=identity(ADULT, "Sigrid Provsson"),
        child=identity(CHILD, "Pelle Provsson"),
    )
    await open_case(client, auth, "krisstod", subject=identity(ADULT))  # exempted: never found
    await open_case(client, auth, "skyddat-boende-vuxna", committee="sn-centrum", subject=identity(ADULT))
    await client.post(
        f"/v1/cases/{own['id']}/notes",
        headers=auth(WRITE),
        json={"kind": "event", "occurred_on": "2026-09-02", "text": "Hemlig anteckning."},
    )

    response = await client.post(
        "/v1/registry/occurrences",
        json={"personnummer": f"{ADULT[2:8]}-{ADULT[8:]}"},
        headers=auth("registry:read", unit="registrator"),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["found"] is True
    assert {(c["case_id"], c["unit"], c["role"]) for c in body["cases"]} == {
        (own["id"], "unit-a", "registered"),
        (elsewhere["id"], "unit-b", "guardian"),
    }
    assert set(body["cases"][0]) == {
        "case_id",
        "intervention_id",
        "intervention_name",
        "unit",
        "role",
        "opened_on",
        "closed_on",
        "status",
    }
    assert "Hemlig" not in response.text
    child = await client.post("/v1/registry/occurrences", json={"personnummer": CHILD}, headers=auth("registry:read"))
    assert [c["role"] for c in child.json()["cases"]] == ["registered"]

    rows = [r for r in await audit_rows(db) if r.action == "registry.occurrence"]
    assert rows[0].person_id == own["person_id"] and rows[0].why_code == "registry_request"
    assert rows[0].unit == "registrator"


async def test_exempted_cases_can_never_be_found(client, auth):
    await open_case(client, auth, "krisstod", subject=identity(UNKNOWN))
    await open_case(client, auth, "anhorigstod", subject=identity(UNKNOWN))
    response = await client.post(
        "/v1/registry/occurrences", json={"personnummer": UNKNOWN}, headers=auth("registry:read")
    )
    assert response.json() == {"found": False, "cases": []}


@pytest.mark.parametrize("value", [ADULT[:-1] + "2", "1990-03-01", "Sigrid Provsson", ""])  # wrong check digit
async def test_registry_occurrence_with_a_bad_personnummer_is_422_without_echo(client, auth, value):
    response = await client.post(
        "/v1/registry/occurrences", json={"personnummer": value}, headers=auth("registry:read")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "personnummer"
    if value:
        assert value not in response.text


async def test_registry_occurrence_requires_its_scope(client, auth):
    response = await client.post("/v1/registry/occurrences", json={"personnummer": ADULT}, headers=auth(WRITE))
    assert response.status_code == 403


# --- persons ------------------------------------------------------------------------------------


async def test_patch_person_changes_contact_data_once_for_every_case(client, auth, db):
    first = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT, phone="070-174 06 10"))
    second = await open_case(client, auth, "hemtjanst-service", subject=identity(ADULT))
    assert first["person_id"] == second["person_id"]
    person_id = first["person_id"]
    response = await client.patch(
        f"/v1/persons/{person_id}", headers=auth(WRITE), json={"phone": "070-174 06 11", "email": "ny@example.com"}
    )
    assert response.status_code == 200
    assert (response.json()["phone"], response.json()["email"]) == ("070-174 06 11", "ny@example.com")
    async with db.sessions() as session:
        events = (await session.scalars(select(OutboxEvent).where(OutboxEvent.kind == "person.updated"))).all()
    assert len(events) == 1
    assert events[0].aggregate_type == "person" and events[0].aggregate_id == person_id
    assert events[0].payload["update"] == {
        "name": "Sigrid Provsson",
        "address": None,
        "phone": "070-174 06 11",
        "email": "ny@example.com",
        "protected_identity": False,
    }
    assert ADULT not in str(events[0].payload)  # the person is named by id and ref, not personnummer


async def test_setting_protected_identity_deletes_the_address(client, auth, db):
    case = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT, address="Provgatan 3"))
    url = f"/v1/persons/{case['person_id']}"
    response = await client.patch(url, json={"protected_identity": True}, headers=auth(WRITE))
    assert response.json()["address"] is None and response.json()["protected_identity"] is True
    again = await client.patch(url, json={"address": "Provgatan 5"}, headers=auth(WRITE))
    assert again.json()["redactions"] == [{"path": "address", "kind": "address", "rule": "protected_identity"}]
    async with db.sessions() as session:
        row = await session.get(PersonRow, case["person_id"])
        assert row is not None and row.address is None
        payloads = [e.payload for e in (await session.scalars(select(OutboxEvent))).all()]
    assert "Provgatan 5" not in str(payloads)
    cleared = await client.patch(url, json={"protected_identity": False, "address": "Provgatan 7"}, headers=auth(WRITE))
    assert cleared.json()["address"] == "Provgatan 7"


@pytest.mark.parametrize("body", [{"name": None}, {"personnummer": ADULT}, {"phone": "x" * 41}])
async def test_malformed_person_patch_is_422_without_echo(client, auth, body):
    case = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT))
    response = await client.patch(f"/v1/persons/{case['person_id']}", json=body, headers=auth(WRITE))
    assert response.status_code == 422
    assert ADULT not in response.text and "xxxxx" not in response.text


async def test_person_of_another_unit_is_404(client, auth):
    case = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT))
    response = await client.patch(
        f"/v1/persons/{case['person_id']}", json={"phone": "070-174 06 12"}, headers=auth(WRITE, unit="unit-b")
    )
    assert response.status_code == 404


# --- audit ------------------------------------------------------------------------------------------


async def test_every_identified_read_and_write_is_audited_with_its_purpose(client, auth, db):
    case = await open_case(
        client,
        auth,
        "familjebehandling",
        subject=identity(PARENT, "Petra Provsson"),
        child=identity(CHILD, "Pelle Provsson"),
    )
    anonymous = await open_case(client, auth, "krisstod", subject=identity(ADULT))
    await client.get(f"/v1/cases/{case['id']}", headers={**auth("cases:read"), "X-Purpose": "follow_up"})
    await client.get(f"/v1/cases/{anonymous['id']}", headers=auth("cases:read"))
    await client.get("/v1/cases", headers=auth("cases:read"))
    await client.post(
        f"/v1/cases/{case['id']}/notes",
        headers=auth(WRITE),
        json={"kind": "event", "occurred_on": "2026-09-02", "text": "Anteckning."},
    )
    await client.post(
        f"/v1/cases/{case['id']}/close",
        headers={**auth(WRITE), "X-Purpose": "carrying_out"},
        json={"closed_on": "2026-09-03", "reason": "completed"},
    )
    await client.get(f"/v1/persons/{case['person_id']}", headers={**auth("cases:read"), "X-Purpose": "supervision"})

    rows = await audit_rows(db)
    assert {r.case_id for r in rows if r.case_id} == {case["id"]}  # anonymous cases hold no personal data
    actions = [(r.action, r.person_id == case["person_id"], r.why_code) for r in rows]
    for expected in [
        ("case.opened", True, "carrying_out"),
        ("case.read", True, "follow_up"),
        ("case.read", True, "carrying_out"),
        ("case.note_added", True, "carrying_out"),
        ("case.closed", True, "carrying_out"),
        ("person.read", True, "supervision"),
    ]:
        assert expected in actions
    # One row per person concerned: the child the case is registered on and the guardian.
    assert {r.person_id for r in rows if r.action == "case.opened"} == {case["person_id"], case["guardian_person_id"]}
    assert all(r.unit == "unit-a" and r.committee == "sn-sydvast" and r.actor == "test-system" for r in rows)
    for row in rows:
        assert CHILD not in str(vars(row)) and PARENT not in str(vars(row))


async def test_a_list_audits_each_identified_case_it_returns(client, auth, db):
    ids = [
        (await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(pnr)))["id"] for pnr in (ADULT, UNKNOWN)
    ]
    await open_case(client, auth, "krisstod")
    await client.get("/v1/cases", headers=auth("cases:read"))
    reads = [r for r in await audit_rows(db) if r.action == "case.read"]
    assert sorted(str(r.case_id) for r in reads) == sorted(ids)


async def test_audit_api_filters_and_is_scoped_to_the_unit_or_the_whole_committee(client, auth):
    case = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT))
    await open_case(client, auth, "skyddat-boende-vuxna", unit="unit-b", subject=identity(UNKNOWN))
    for _ in range(3):
        await client.get(f"/v1/cases/{case['id']}", headers=auth("cases:read"))

    own = await client.get("/v1/audit", params={"case_id": case["id"]}, headers=auth("audit:read"))
    assert own.status_code == 200
    assert [r["action"] for r in own.json()["items"]] == ["case.read"] * 3 + ["case.opened"]
    page = (
        await client.get("/v1/audit", params={"case_id": case["id"], "limit": 2}, headers=auth("audit:read"))
    ).json()
    rest = (
        await client.get(
            "/v1/audit",
            params={"case_id": case["id"], "limit": 2, "cursor": page["next_cursor"]},
            headers=auth("audit:read"),
        )
    ).json()
    assert len(page["items"]) == 2 and len(rest["items"]) == 2 and rest["next_cursor"] is None
    by_person = (
        await client.get("/v1/audit", params={"person_id": case["person_id"]}, headers=auth("audit:read"))
    ).json()
    assert len(by_person["items"]) == 4
    assert (await client.get("/v1/audit", params={"since": "2999-01-01T00:00:00Z"}, headers=auth("audit:read"))).json()[
        "items"
    ] == []

    unit_b = (await client.get("/v1/audit", headers=auth("audit:read", unit="unit-b"))).json()["items"]
    assert {r["unit"] for r in unit_b} == {"unit-b"}
    committee = (await client.get("/v1/audit", headers=auth("audit:read", unit="sn-sydvast"))).json()["items"]
    assert {r["unit"] for r in committee} == {"unit-a", "unit-b"}
    assert (await client.get("/v1/audit", headers=auth("audit:read", committee="sn-centrum"))).json()["items"] == []
    assert (await client.get("/v1/audit", headers=auth("cases:read"))).status_code == 403


async def test_unknown_purpose_is_422_without_echo(client, auth):
    case = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT))
    response = await client.get(f"/v1/cases/{case['id']}", headers={**auth("cases:read"), "X-Purpose": "curiosity"})
    assert response.status_code == 422
    assert "curiosity" not in response.text


async def test_audit_records_cannot_be_rewritten_in_the_database(client, auth, db):
    # SoLPUL 10 §: a recorded access stays as recorded; the table refuses updates.
    case = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT))
    assert case["identity"] == "identified"
    with pytest.raises(DBAPIError):
        async with db.sessions() as session, session.begin():
            await session.execute(update(AuditRecordRow).values(why_code="supervision"))
    assert {r.why_code for r in await audit_rows(db)} == {"carrying_out"}
