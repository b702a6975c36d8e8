"""What a case shows of disposal: its person's file's dates and action (both databases).

Personnummer are Skatteverket's official test numbers (and an official test samordningsnummer).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select

from app.journal.models import OutboxEvent
from tests.integration.outbox_support import dispatcher, drain, in_process_simulator

pytestmark = pytest.mark.usefixtures("demo_catalog")

ADULT = "199003012391"  # born on the 1st
ADULT_ON_THE_15TH = "198001152399"
SAMORDNINGSNUMMER = "191401682396"  # day 68: the 8th
PARENT = "198507012394"
OTHER_PARENT = "197712012397"
CHILD = "201503012385"
WRITE = "cases:write cases:read"
ADMIN = "catalog:read catalog:write catalog:admin"


async def open_case(client, auth, intervention: str, unit: str = "unit-a", opened_on: str = "2026-09-01", **body: Any):
    payload = {"intervention_id": intervention, "opened_on": opened_on, **body}
    response = await client.post("/v1/cases", json=payload, headers=auth(WRITE, unit=unit))
    assert response.status_code == 201, response.text
    return response.json()


async def adult_case(client, auth, pnr: str = ADULT, unit: str = "unit-a", opened_on: str = "2026-09-01"):
    subject = {"personnummer": pnr, "name": "Sigrid Provsson"}
    return await open_case(client, auth, "skyddat-boende-vuxna", unit, opened_on, subject=subject)


async def child_case(client, auth, parent: str, unit: str):
    return await open_case(
        client,
        auth,
        "familjebehandling",
        unit,
        subject={"personnummer": parent, "name": "Petra Provsson"},
        child={"personnummer": CHILD, "name": "Pelle Provsson"},
        participant={"role": "parent"},
    )


async def close(client, auth, case: dict[str, Any], closed_on: str) -> dict[str, Any]:
    unit = "unit-b" if case.get("_unit") == "unit-b" else "unit-a"
    response = await client.post(
        f"/v1/cases/{case['id']}/close",
        json={"closed_on": closed_on, "reason": "completed"},
        headers=auth(WRITE, unit=unit),
    )
    assert response.status_code == 200, response.text
    return response.json()


async def get(client, auth, case_id: str, unit: str = "unit-a") -> dict[str, Any]:
    response = await client.get(f"/v1/cases/{case_id}", headers=auth(WRITE, unit=unit))
    assert response.status_code == 200, response.text
    return response.json()


async def configure(client, auth, **settings: Any) -> None:
    body = {"name": "Socialnämnden Sydväst", **settings}
    response = await client.put("/v1/catalog/committees/sn-sydvast", json=body, headers=auth(ADMIN))
    assert response.status_code == 200, response.text


async def disposal_events(db, case_id: str) -> list[dict[str, Any]]:
    async with db.sessions() as session:
        query = (
            select(OutboxEvent)
            .where(OutboxEvent.aggregate_id == case_id, OutboxEvent.kind == "case.disposal_changed")
            .order_by(OutboxEvent.seq)
        )
        return [e.payload["disposal"] for e in (await session.scalars(query)).all()]


def dates(case: dict[str, Any]) -> tuple[Any, ...]:
    return (case["retention_basis"], case["disposal_due_on"], case["disposal_deadline_on"], case["disposal_action"])


async def test_sol_16_1_the_file_is_every_case_of_the_person_and_an_open_case_holds_it(client, auth, db):
    first = await adult_case(client, auth, unit="unit-a")
    second = await adult_case(client, auth, unit="unit-b", opened_on="2026-09-15")
    second["_unit"] = "unit-b"
    closed = await close(client, auth, first, "2026-10-01")
    # The other unit's case is open: the file is in use, no date yet.
    assert dates(closed) == ("sol_16_1", None, None, "archive_transfer")
    # A new entry anywhere in the file moves the date: a note in the other case, after the closing.
    note = {"kind": "execution", "occurred_on": "2026-10-20", "text": "Samtal."}
    response = await client.post(f"/v1/cases/{second['id']}/notes", json=note, headers=auth(WRITE, unit="unit-b"))
    assert response.status_code == 201
    last = await close(client, auth, second, "2026-11-03")
    expected = ("sol_16_1", "2031-11-03", "2032-12-31", "archive_transfer")
    assert dates(last) == expected
    assert dates(await get(client, auth, first["id"])) == expected  # the same file, the same date
    # The journal system is told of the first case's new date.
    assert await disposal_events(db, first["id"]) == [
        {"due_on": "2031-11-03", "deadline_on": "2032-12-31", "action": "archive_transfer", "basis": "sol_16_1"}
    ]
    # A new case of the person reopens the file: the closed cases lose their date again.
    third = await adult_case(client, auth, unit="unit-a", opened_on="2026-11-20")
    assert dates(await get(client, auth, first["id"]))[1] is None
    assert dates(third)[1] is None
    assert [e["due_on"] for e in await disposal_events(db, first["id"])] == ["2031-11-03", None]
    assert [e["due_on"] for e in await disposal_events(db, second["id"])] == [None]  # its closing carried the date


async def test_a_parent_targeted_case_is_in_the_childs_file(client, auth):
    one = await child_case(client, auth, PARENT, "unit-a")
    other = await child_case(client, auth, OTHER_PARENT, "unit-b")
    other["_unit"] = "unit-b"
    assert one["person_id"] == other["person_id"]  # the child
    await close(client, auth, other, "2026-11-01")
    assert dates(await get(client, auth, other["id"], unit="unit-b"))[1] is None  # the child's other case is open
    closed = await close(client, auth, one, "2026-10-01")
    # The file's last entry is the other case's closing, two months after this one's.
    assert closed["disposal_due_on"] == "2031-11-01"


async def test_sof_13_1_birthdays_destroy_all_but_the_5th_15th_25th(client, auth):
    await configure(client, auth, research_exemption="birthdays_5_15_25")
    kept = await close(client, auth, await adult_case(client, auth, ADULT_ON_THE_15TH), "2026-10-01")
    destroyed = await close(client, auth, await adult_case(client, auth, ADULT), "2026-10-01")
    coordination = await close(client, auth, await adult_case(client, auth, SAMORDNINGSNUMMER), "2026-10-01")
    assert dates(kept) == ("sol_16_1", "2031-10-01", "2032-12-31", "archive_transfer")
    assert dates(destroyed) == ("sol_16_1", "2031-10-01", "2032-12-31", "destroy")
    assert coordination["disposal_action"] == "destroy"  # day 68 - 60 = the 8th


async def test_sol_17_2_private_units_file_two_years_unless_a_municipal_unit_shares_it(client, auth):
    await configure(client, auth, research_exemption="none", units=[{"unit": "unit-p", "provider_kind": "private"}])
    private = await adult_case(client, auth, ADULT, unit="unit-p")
    response = await client.post(
        f"/v1/cases/{private['id']}/close",
        json={"closed_on": "2026-10-01", "reason": "completed"},
        headers=auth(WRITE, unit="unit-p"),
    )
    assert dates(response.json()) == ("sol_17_2", "2028-10-01", "2029-12-31", "destroy")
    # The same person at a municipal unit: the committee's five years hold the whole file.
    municipal = await close(client, auth, await adult_case(client, auth, ADULT, opened_on="2026-10-15"), "2026-11-01")
    assert dates(municipal) == ("sol_16_1", "2031-11-01", "2032-12-31", "destroy")


async def test_sol_14_exempted_case_follows_the_records_plan(client, auth):
    body = {"participant": {"gender": "female", "age": 40}}
    case = await open_case(client, auth, "krisstod", **body)
    assert dates(case) == ("records_plan", None, None, "keep")  # no records plan retention: kept
    await configure(client, auth, records_plan={"retention_years": 3})
    assert dates(await get(client, auth, case["id"])) == ("records_plan", None, None, "destroy")  # open: not yet
    closed = await close(client, auth, case, "2026-10-01")
    assert dates(closed) == ("records_plan", "2029-10-01", "2030-12-31", "destroy")


async def test_a_page_of_cases_costs_one_disposal_query_whatever_its_size(client, auth, db):
    for pnr in (ADULT, ADULT_ON_THE_15TH, SAMORDNINGSNUMMER, PARENT, OTHER_PARENT):
        await adult_case(client, auth, pnr)
    await open_case(client, auth, "krisstod", participant={"gender": "female", "age": 40})
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    async def page(limit: int) -> list[dict[str, Any]]:
        statements.clear()
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            response = await client.get("/v1/cases", params={"limit": limit}, headers=auth(WRITE))
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return response.json()["items"]

    small = await page(2)
    small_count = len(statements)
    large = await page(6)
    assert len(small) == 2 and len(large) == 6
    assert len(statements) == small_count  # the disposal dates add one aggregate query, not one per case
    assert sum("max(cases.last_entry_on)" in s for s in statements) == 1


async def test_the_journal_system_gets_the_files_date_on_every_case(client, auth, db):
    first = await adult_case(client, auth, unit="unit-a")
    second = await adult_case(client, auth, unit="unit-b", opened_on="2026-09-15")
    second["_unit"] = "unit-b"
    await close(client, auth, first, "2026-10-01")
    await close(client, auth, second, "2026-11-03")
    sim = in_process_simulator()
    try:
        await drain(dispatcher(db, sim.journal))
        closings = [case["closing"] for case in (await sim.state())["cases"]]
    finally:
        await sim.aclose()
    # The first case's closing went out without a date (the second was open), then got the file's.
    assert sorted((c["closed_on"], c["disposal_due_on"], c["disposal_action"]) for c in closings) == [
        ("2026-10-01", "2031-11-03", "archive_transfer"),
        ("2026-11-03", "2031-11-03", "archive_transfer"),
    ]


async def test_a_new_case_reopens_the_file_whatever_other_persons_have_open(client, auth, db):
    """The person's own cases decide (SoL 16:1), never the committee's: another person's open case
    leaves this person's file closed until their own new case."""
    await adult_case(client, auth, pnr=ADULT_ON_THE_15TH, unit="unit-b")  # someone else's, left open
    first = await adult_case(client, auth, unit="unit-a")
    closed = await close(client, auth, first, "2026-10-01")
    assert dates(closed)[1] == "2031-10-01"
    again = await adult_case(client, auth, unit="unit-a", opened_on="2026-11-20")
    assert dates(again)[1] is None
    assert dates(await get(client, auth, first["id"]))[1] is None
    assert [e["due_on"] for e in await disposal_events(db, first["id"])] == [None]
