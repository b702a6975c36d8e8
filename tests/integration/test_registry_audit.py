"""Persons, the registry occurrence question (förekomst) and the audit trail (SoLPUL 10 §).

Personnummer literals are Skatteverket's official test numbers; phone numbers are from the ranges
PTS reserves for fiction; e-mail addresses use the reserved domain example.com.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from app.cases.models import AuditRecordRow, PersonContactRow, PersonNameRow, PersonRow
from app.journal.models import OutboxEvent
from tests.disposal.support import official_personnummer

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
    # An exempted case documents gender and age; a subject's personnummer gives the age.
    given = (body.get("subject") or {}).get("personnummer")
    payload.setdefault("participant", {"gender": "female"} if given else {"gender": "female", "age": 40})
    response = await client.post("/v1/cases", json=payload, headers=auth(WRITE, unit=unit, committee=committee))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def identity(pnr: str, name: str = "Sigrid Provsson", **extra: Any) -> dict[str, Any]:
    return {"personnummer": pnr, "name": name, **extra}


def asking(pnr: str, detail: str = "cases", basis: str = "duty_to_disclose") -> dict[str, str]:
    return {"personnummer": pnr, "detail": detail, "basis": basis}


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
        json=asking(f"{ADULT[2:8]}-{ADULT[8:]}"),
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
    child = await client.post("/v1/registry/occurrences", json=asking(CHILD), headers=auth("registry:read"))
    assert [c["role"] for c in child.json()["cases"]] == ["registered"]

    rows = [r for r in await audit_rows(db) if r.action == "registry.occurrence"]
    assert rows[0].person_id == own["person_id"] and rows[0].why_code == "registry_request"
    assert rows[0].unit == "registrator" and rows[0].basis == "duty_to_disclose"


async def test_registry_occurrence_answers_no_more_than_the_detail_asked(client, auth, db):
    case = await open_case(client, auth, "skyddat-boende-vuxna", unit="unit-b", subject=identity(ADULT))
    headers = auth("registry:read", unit="registrator")
    exists = await client.post("/v1/registry/occurrences", json=asking(ADULT, "exists", "consent"), headers=headers)
    assert exists.json() == {"detail": "exists", "found": True, "ongoing": None, "cases": None}
    ongoing = await client.post("/v1/registry/occurrences", json=asking(ADULT, "ongoing", "no_harm"), headers=headers)
    assert ongoing.json() == {"detail": "ongoing", "found": True, "ongoing": True, "cases": None}
    for response in (exists, ongoing):  # another unit's intervention is never named
        assert "skyddat" not in response.text.lower() and "unit-b" not in response.text
    await client.post(
        f"/v1/cases/{case['id']}/close",
        json={"closed_on": "2026-09-02", "reason": "completed"},
        headers=auth(WRITE, unit="unit-b"),
    )
    after = await client.post("/v1/registry/occurrences", json=asking(ADULT, "ongoing"), headers=headers)
    assert (after.json()["found"], after.json()["ongoing"]) == (True, False)
    nobody = await client.post("/v1/registry/occurrences", json=asking(UNKNOWN, "exists"), headers=headers)
    assert nobody.json()["found"] is False
    bases = [r.basis for r in await audit_rows(db) if r.action == "registry.occurrence"]
    assert bases == ["consent", "no_harm", "duty_to_disclose", "duty_to_disclose"]
    audit = (await client.get("/v1/audit", headers=auth("audit:read", unit="registrator"))).json()["items"]
    assert {r["basis"] for r in audit} == {"consent", "no_harm", "duty_to_disclose"}


@pytest.mark.parametrize(
    "body",
    [
        {"personnummer": ADULT, "detail": "cases"},
        {"personnummer": ADULT, "basis": "consent"},
        {"personnummer": ADULT, "detail": "everything", "basis": "consent"},
        {"personnummer": ADULT, "detail": "cases", "basis": "curiosity"},
    ],
)
async def test_registry_occurrence_needs_a_detail_and_a_legal_basis(client, auth, db, body):
    response = await client.post("/v1/registry/occurrences", json=body, headers=auth("registry:read"))
    assert response.status_code == 422
    assert ADULT not in response.text and "curiosity" not in response.text and "everything" not in response.text
    assert await audit_rows(db) == []


async def test_exempted_cases_can_never_be_found(client, auth):
    await open_case(client, auth, "krisstod", subject=identity(UNKNOWN))
    await open_case(client, auth, "anhorigstod", subject=identity(UNKNOWN))
    response = await client.post("/v1/registry/occurrences", json=asking(UNKNOWN), headers=auth("registry:read"))
    assert response.json() == {"detail": "cases", "found": False, "ongoing": False, "cases": []}


@pytest.mark.parametrize("value", [ADULT[:-1] + "2", "1990-03-01", "Sigrid Provsson", ""])  # wrong check digit
async def test_registry_occurrence_with_a_bad_personnummer_is_422_without_echo(client, auth, value):
    response = await client.post("/v1/registry/occurrences", json=asking(value), headers=auth("registry:read"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.personnummer"
    if value:
        assert value not in response.text


async def test_registry_occurrence_requires_its_scope(client, auth):
    response = await client.post("/v1/registry/occurrences", json=asking(ADULT), headers=auth(WRITE))
    assert response.status_code == 403


# --- persons ------------------------------------------------------------------------------------


async def test_patch_person_changes_contact_data_once_for_every_case(client, auth, db):
    first = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT, phone="070-174 06 10"))
    second = await open_case(client, auth, "skyddat-boende-vuxna", unit="unit-b", subject=identity(ADULT))
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
        contacts = (await session.scalars(select(PersonContactRow))).all()
        assert [c.address for c in contacts] == [None]
        payloads = [e.payload for e in (await session.scalars(select(OutboxEvent))).all()]
    assert "Provgatan 5" not in str(payloads)
    cleared = await client.patch(
        url, json={"protected_identity": False, "address": "Provgatan 7"}, headers=auth(f"{WRITE} persons:protect")
    )
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
        ("case.listed", False, "carrying_out"),  # the page's row names the case in `case_ids`
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


async def test_a_page_of_fifty_cases_is_one_audit_row_naming_every_case_and_person(client, auth, db):
    adults = [p for p in official_personnummer() if "1940" <= p[:4] <= "1990"][:50]
    opened = [await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(pnr)) for pnr in adults]
    await open_case(client, auth, "krisstod")  # exempted: on the page, but no personal data
    before = len(await audit_rows(db))

    page = await client.get("/v1/cases", params={"limit": 51}, headers=auth("cases:read"))
    assert len(page.json()["items"]) == 51

    rows = await audit_rows(db)
    assert len(rows) == before + 1
    listed = rows[-1]
    assert (listed.action, listed.case_id, listed.person_id) == ("case.listed", None, None)
    identified = [c for c in page.json()["items"] if c["identity"] == "identified"]
    assert listed.case_ids == [c["id"] for c in identified]  # in page order
    assert sorted(listed.person_ids or []) == sorted(c["person_id"] for c in opened)


async def test_a_page_with_no_identified_case_writes_no_audit_row(client, auth, db):
    await open_case(client, auth, "krisstod")
    await client.get("/v1/cases", headers=auth("cases:read"))
    assert await audit_rows(db) == []


async def test_a_case_and_a_persons_trail_include_the_pages_that_named_them(client, auth):
    guarded = await open_case(
        client, auth, "familjebehandling", subject=identity(PARENT, "Petra Provsson"), child=identity(CHILD)
    )
    other = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT))
    await client.get("/v1/cases", headers={**auth("cases:read"), "X-Purpose": "follow_up"})
    trail = auth("audit:read")

    for params in (
        {"case_id": guarded["id"]},
        {"person_id": guarded["person_id"]},
        {"person_id": guarded["guardian_person_id"]},
    ):
        items = (await client.get("/v1/audit", params=params, headers=trail)).json()["items"]
        assert (items[0]["action"], items[0]["why_code"]) == ("case.listed", "follow_up")
        assert {r["action"] for r in items[1:]} == {"case.opened"}  # a row per person concerned
        assert items[0]["case_ids"] == [other["id"], guarded["id"]]
        assert set(items[0]["person_ids"]) == {other["person_id"], guarded["person_id"], guarded["guardian_person_id"]}
    # A single access names its case and person, and no lists.
    opened = (await client.get("/v1/audit", params={"case_id": other["id"]}, headers=trail)).json()["items"][-1]
    assert (opened["case_id"], opened["case_ids"], opened["person_ids"]) == (other["id"], [], [])


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
    committee = (await client.get("/v1/audit", headers=auth("audit:read audit:committee"))).json()["items"]
    assert {r["unit"] for r in committee} == {"unit-a", "unit-b"}
    other_committee = auth("audit:read audit:committee", committee="sn-centrum")
    assert (await client.get("/v1/audit", headers=other_committee)).json()["items"] == []
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


async def test_committee_wide_audit_needs_audit_committee_scope(client, auth):
    # A unit that happens to be named like its committee is still one unit.
    await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT))
    await open_case(client, auth, "skyddat-boende-vuxna", unit="sn-sydvast", subject=identity(UNKNOWN))
    named_like_committee = auth("audit:read", unit="sn-sydvast")
    items = (await client.get("/v1/audit", headers=named_like_committee)).json()["items"]
    assert {r["unit"] for r in items} == {"sn-sydvast"}
    widened = auth("audit:read audit:committee", unit="unit-b")
    items = (await client.get("/v1/audit", headers=widened)).json()["items"]
    assert {r["unit"] for r in items} == {"unit-a", "sn-sydvast"}
    # The scope widens reading only: without audit:read it opens nothing.
    assert (await client.get("/v1/audit", headers=auth("audit:committee"))).status_code == 403


# --- persons across units and committees ----------------------------------------------------------


async def get_person(client, auth, person_id: str, **caller: Any):
    return await client.get(f"/v1/persons/{person_id}", headers=auth("cases:read", **caller))


async def events_of(db, kind: str) -> list[OutboxEvent]:
    async with db.sessions() as session:
        query = select(OutboxEvent).where(OutboxEvent.kind == kind).order_by(OutboxEvent.seq)
        return list((await session.scalars(query)).all())


async def test_unit_without_a_case_cannot_read_the_person(client, auth):
    case = await open_case(
        client, auth, "skyddat-boende-vuxna", subject=identity(ADULT, address="Provgatan 3", phone="070-174 06 10")
    )
    person_id = case["person_id"]
    for caller in ({"unit": "unit-b"}, {"committee": "sn-centrum"}, {"committee": "sn-centrum", "unit": "unit-b"}):
        assert (await get_person(client, auth, person_id, **caller)).status_code == 404
        patched = await client.patch(
            f"/v1/persons/{person_id}", json={"protected_identity": False}, headers=auth(**caller)
        )
        assert patched.status_code == 404
    # Another committee is another controller: the same personnummer is another register entry.
    elsewhere = await open_case(client, auth, "skyddat-boende-vuxna", committee="sn-centrum", subject=identity(ADULT))
    assert elsewhere["person_id"] != person_id
    theirs = (await get_person(client, auth, elsewhere["person_id"], committee="sn-centrum")).json()
    assert theirs["other_units_contacts"] == [] and theirs["address"] is None and theirs["phone"] is None
    assert (await get_person(client, auth, person_id, committee="sn-centrum")).status_code == 404
    # A guardian's unit has a case with the person too.
    await open_case(
        client,
        auth,
        "familjebehandling",
        unit="unit-c",
        subject=identity(ADULT),
        child=identity(CHILD, "Pelle Provsson"),
    )
    assert (await get_person(client, auth, person_id, unit="unit-c")).status_code == 200


async def test_other_units_contact_details_hidden_until_it_has_a_case(client, auth, db):
    a = await open_case(
        client,
        auth,
        "skyddat-boende-vuxna",
        subject=identity(ADULT, address="Provgatan 3", phone="070-174 06 10", email="a@example.com"),
    )
    person_id = a["person_id"]
    assert (await get_person(client, auth, person_id, unit="unit-b")).status_code == 404
    b = await open_case(
        client, auth, "skyddat-boende-vuxna", unit="unit-b", subject=identity(ADULT, phone="070-174 06 11")
    )
    assert b["person_id"] == person_id
    seen_by_b = (await get_person(client, auth, person_id, unit="unit-b")).json()
    assert (seen_by_b["address"], seen_by_b["phone"], seen_by_b["email"]) == (None, "070-174 06 11", None)
    [from_a] = seen_by_b["other_units_contacts"]
    assert (from_a["address"], from_a["phone"], from_a["email"]) == ("Provgatan 3", "070-174 06 10", "a@example.com")
    # B's change is B's record; A's stays as A recorded it.
    await client.patch(f"/v1/persons/{person_id}", json={"phone": "070-174 06 12"}, headers=auth(WRITE, unit="unit-b"))
    seen_by_a = (await get_person(client, auth, person_id)).json()
    assert (seen_by_a["address"], seen_by_a["phone"]) == ("Provgatan 3", "070-174 06 10")
    assert [c["phone"] for c in seen_by_a["other_units_contacts"]] == ["070-174 06 12"]
    # The journal system keeps one set: the changing unit's value first, others fill the gaps.
    [update] = [e.payload["update"] for e in await events_of(db, "person.updated")]
    assert update == {
        "name": "Sigrid Provsson",
        "address": "Provgatan 3",
        "phone": "070-174 06 12",
        "email": "a@example.com",
        "protected_identity": False,
    }


async def test_protected_persons_phone_and_email_shown_only_to_the_recording_unit(client, auth, db):
    await open_case(
        client,
        auth,
        "skyddat-boende-vuxna",
        subject=identity(ADULT, phone="070-174 06 10", email="a@example.com", protected_identity=True),
    )
    b = await open_case(client, auth, "skyddat-boende-vuxna", unit="unit-b", subject=identity(ADULT))
    seen_by_b = await get_person(client, auth, b["person_id"], unit="unit-b")
    assert seen_by_b.json()["protected_identity"] is True
    assert seen_by_b.json()["other_units_contacts"] == []
    assert "070-174 06 10" not in seen_by_b.text and "a@example.com" not in seen_by_b.text
    seen_by_a = (await get_person(client, auth, b["person_id"])).json()
    assert (seen_by_a["phone"], seen_by_a["email"]) == ("070-174 06 10", "a@example.com")


async def test_a_unit_raising_protection_deletes_every_units_address(client, auth, db):
    a = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT, address="Provgatan 3"))
    b = await open_case(
        client,
        auth,
        "skyddat-boende-vuxna",
        unit="unit-b",
        subject=identity(ADULT, address="Provgatan 4", protected_identity=True),
    )
    assert b["redactions"] == [{"path": "subject.address", "kind": "address", "rule": "protected_identity"}]
    async with db.sessions() as session:
        assert [c.address for c in (await session.scalars(select(PersonContactRow))).all()] == [None]
    seen_by_a = (await get_person(client, auth, a["person_id"])).json()
    assert seen_by_a["protected_identity"] is True and seen_by_a["address"] is None
    # A later opening without the flag neither clears it nor stores an address.
    c = await open_case(
        client, auth, "skyddat-boende-vuxna", unit="unit-c", subject=identity(ADULT, address="Provgatan 5")
    )
    assert c["redactions"] == [{"path": "subject.address", "kind": "address", "rule": "protected_identity"}]
    async with db.sessions() as session:
        row = await session.get(PersonRow, a["person_id"])
        assert row is not None and row.protected_identity is True
        assert all(c.address is None for c in (await session.scalars(select(PersonContactRow))).all())
    registered = [e.payload["registration"]["person"] for e in await events_of(db, "case.registered")]
    assert [p["protected_identity"] for p in registered] == [False, True, True]
    assert "Provgatan 4" not in str(registered) and "Provgatan 5" not in str(registered)


async def test_protected_identity_cleared_only_with_persons_protect(client, auth, db):
    a = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT, protected_identity=True))
    await open_case(client, auth, "skyddat-boende-vuxna", unit="unit-b", subject=identity(ADULT))
    url = f"/v1/persons/{a['person_id']}"
    refused = await client.patch(url, json={"protected_identity": False}, headers=auth(WRITE, unit="unit-b"))
    assert refused.status_code == 403
    assert refused.json()["required_scope"] == "persons:protect"
    assert (await get_person(client, auth, a["person_id"])).json()["protected_identity"] is True
    # Raising it again, or saying nothing about it, needs no extra scope.
    assert (await client.patch(url, json={"protected_identity": True}, headers=auth(WRITE))).status_code == 200
    cleared = await client.patch(
        url, json={"protected_identity": False}, headers=auth(f"{WRITE} persons:protect", unit="unit-b")
    )
    assert cleared.status_code == 200 and cleared.json()["protected_identity"] is False
    actions = [(r.action, r.unit) for r in await audit_rows(db) if r.action.startswith("person.protection")]
    assert actions == [("person.protection_cleared", "unit-b")]
    [update] = [e.payload["update"] for e in await events_of(db, "person.updated")][-1:]
    assert update["protected_identity"] is False


async def test_an_opening_with_another_name_does_not_rename_the_person(client, auth, db):
    a = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT, "Sigrid Provsson"))
    b = await open_case(
        client, auth, "skyddat-boende-vuxna", unit="unit-b", subject=identity(ADULT, "Sigge Annorlunda")
    )
    assert b["person_id"] == a["person_id"]
    person = (await get_person(client, auth, a["person_id"])).json()
    assert person["name"] == "Sigrid Provsson"
    assert [(n["name"], n["source"], n["current"]) for n in person["names"]] == [
        ("Sigrid Provsson", "registration", True),
        ("Sigge Annorlunda", "opening", False),
    ]
    # The journal system keeps the register's name too; nothing renames the person there.
    registered = [e.payload["registration"]["person"]["name"] for e in await events_of(db, "case.registered")]
    assert registered == ["Sigrid Provsson", "Sigrid Provsson"]
    assert await events_of(db, "person.updated") == []
    async with db.sessions() as session:
        [version] = (await session.scalars(select(PersonNameRow))).all()
    assert (version.recorded_unit, version.recorded_by, version.superseded_at) == ("unit-b", "test-system", None)


async def test_a_change_of_name_is_a_new_version_with_who_and_when(client, auth, db):
    a = await open_case(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT, "Sigrid Provsson"))
    await open_case(client, auth, "skyddat-boende-vuxna", unit="unit-b", subject=identity(ADULT, "Sigrid Provsson"))
    changed = await client.patch(
        f"/v1/persons/{a['person_id']}",
        json={"name": "Sigrid Nyman"},
        headers=auth(WRITE, unit="unit-b", sub="handlaggare-b"),
    )
    assert changed.json()["name"] == "Sigrid Nyman"
    assert [(n["name"], n["source"], n["current"]) for n in changed.json()["names"]] == [
        ("Sigrid Provsson", "registration", False),
        ("Sigrid Nyman", "change", True),
    ]
    async with db.sessions() as session:
        row = await session.get(PersonRow, a["person_id"])
        [old] = (await session.scalars(select(PersonNameRow))).all()
    assert row is not None and (row.name_recorded_unit, row.name_recorded_by) == ("unit-b", "handlaggare-b")
    assert (old.name, old.recorded_unit, old.recorded_by) == ("Sigrid Provsson", "unit-a", "test-system")
    assert old.superseded_at is not None
    [update] = [e.payload["update"] for e in await events_of(db, "person.updated")]
    assert update["name"] == "Sigrid Nyman"
