"""Cases through the API: the documentation rule decides what is stored (SoL 14 kap. 3–5 §§).

Personnummer literals are Skatteverket's official test numbers; phone numbers are from the ranges
PTS reserves for fiction; e-mail addresses use the reserved domain example.com.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from app.cases.models import CaseNoteRow, CaseRow, PersonContactRow, PersonRow
from app.journal.models import OutboxEvent
from app.kit.clock import today

pytestmark = pytest.mark.usefixtures("demo_catalog")

ADULT = "199003012391"
PARENT = "198507012394"
CHILD = "201503012385"
OTHER_ADULT = "197712012397"
BAD_PNR = ADULT[:-1] + str((int(ADULT[-1]) + 1) % 10)  # the same number with a wrong check digit
PHONE = "070-174 06 42"
EMAIL = "sigrid.test@example.com"

WRITE = "cases:write cases:read"


def identity(pnr: str | None, name: str = "Sigrid Provsson", **extra: Any) -> dict[str, Any]:
    return {"personnummer": pnr, "name": name, **extra}


def participant_for(body: dict[str, Any]) -> dict[str, Any]:
    """An exempted case documents gender and age; a subject's personnummer gives the age."""
    given = (body.get("subject") or {}).get("personnummer")
    return {"gender": "female"} if given else {"gender": "female", "age": 40}


async def open_case(client, auth, intervention_id: str, *, unit: str = "unit-a", **body: Any):
    payload = {"intervention_id": intervention_id, "opened_on": "2026-09-01", **body}
    payload.setdefault("participant", participant_for(body))
    return await client.post("/v1/cases", json=payload, headers=auth(WRITE, unit=unit))


async def opened(client, auth, intervention_id: str, **body: Any) -> dict[str, Any]:
    response = await open_case(client, auth, intervention_id, **body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def outbox(db, case_id: str | None = None) -> list[OutboxEvent]:
    async with db.sessions() as session:
        query = select(OutboxEvent).order_by(OutboxEvent.seq)
        if case_id is not None:
            query = query.where(OutboxEvent.aggregate_id == case_id)
        return list((await session.scalars(query)).all())


async def person(db, person_id: str) -> PersonRow:
    async with db.sessions() as session:
        row: PersonRow | None = await session.get(PersonRow, person_id)
        assert row is not None
        return row


async def contacts(db, person_id: str) -> list[PersonContactRow]:
    async with db.sessions() as session:
        query = select(PersonContactRow).where(PersonContactRow.person_id == person_id)
        return list((await session.scalars(query.order_by(PersonContactRow.unit))).all())


def assert_not_echoed(response, *values: str) -> None:
    for value in values:
        assert value not in response.text
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 10:
            assert digits not in re.sub(r"\D", "", response.text.replace(response.json().get("request_id", ""), ""))


# --- the standard rule (SoL 14:3) ---------------------------------------------------------------


async def test_sol_14_3_standard_case_registers_the_person_and_queues_the_journal_event(client, auth, db):
    case = await opened(
        client,
        auth,
        "skyddat-boende-vuxna",
        subject=identity(ADULT, phone=PHONE, email=EMAIL, address="Provgatan 3, 414 51 Göteborg"),
        participant={"gender": "female", "role": "adult"},
        start_assessment={"wellbeing": 2, "social_situation": ["insecure_housing"]},
        informed_of_right_to_apply=True,
        informed_of_documentation=True,
        notes=[{"kind": "planning", "occurred_on": "2026-09-02", "text": "Sigrid Provsson vill ha stöd."}],
    )
    assert case["identity"] == "identified"
    assert case["registered_on"] == "subject"
    assert case["participant_code"] is None
    assert case["journal_sync"] == "pending"
    assert case["documentation_rule"] == "standard"
    assert case["participant"]["age"] == 36  # from the personnummer on the opening date, never stored as a date
    assert case["last_entry_on"] == "2026-09-02"
    # SoL 16:1: no date while the case is open; Göteborg transfers the file to the archive when due.
    assert (case["retention_basis"], case["disposal_due_on"], case["disposal_action"]) == (
        "sol_16_1",
        None,
        "archive_transfer",
    )
    assert case["redactions"] == []
    assert case["notes"][0]["text"] == "Sigrid Provsson vill ha stöd."  # identified: kept as written
    row = await person(db, case["person_id"])
    assert (row.committee, row.personnummer, row.name) == ("sn-sydvast", ADULT, "Sigrid Provsson")
    assert [(c.unit, c.phone) for c in await contacts(db, case["person_id"])] == [("unit-a", PHONE)]

    events = await outbox(db, case["id"])
    assert [e.kind for e in events] == ["case.registered", "case.note_added"]
    registered = events[0].payload
    assert events[0].aggregate_type == "case"
    assert registered["case_id"] == case["id"]
    assert registered["person_id"] == case["person_id"]
    assert registered["registration"]["person"] == {
        "personnummer": ADULT,
        "name": "Sigrid Provsson",
        "address": "Provgatan 3, 414 51 Göteborg",
        "phone": PHONE,
        "email": EMAIL,
        "protected_identity": False,
    }
    assert registered["registration"]["guardian"] is None
    assert registered["registration"]["unit"] == "unit-a"
    assert registered["registration"]["process_steps"] == 3
    assert registered["registration"]["opened_on"] == "2026-09-01"
    assert registered["registration"]["documentation_basis"] == "standard"
    assert events[1].payload["entry"] == {
        "kind": "planning",
        "occurred_on": "2026-09-02",
        "text": "Sigrid Provsson vill ha stöd.",
    }


async def test_parent_targeted_standard_case_is_registered_on_the_childs_personnummer(client, auth, db):
    case = await opened(
        client,
        auth,
        "familjebehandling",
        subject=identity(PARENT, "Petra Provsson"),
        child=identity(CHILD, "Pelle Provsson"),
        participant={"role": "parent"},
    )
    assert case["registered_on"] == "child"
    assert (await person(db, case["person_id"])).personnummer == CHILD
    assert (await person(db, case["guardian_person_id"])).personnummer == PARENT
    registration = (await outbox(db, case["id"]))[0].payload["registration"]
    assert registration["person"]["personnummer"] == CHILD
    assert registration["guardian"]["personnummer"] == PARENT


@pytest.mark.parametrize(
    ("child", "field"),
    [
        (None, "body.child.personnummer"),
        ({"name": "Pelle Provsson"}, "body.child.personnummer"),
        ({"personnummer": BAD_PNR, "name": "Pelle Provsson"}, "body.child.personnummer"),
        ({"personnummer": CHILD}, "body.child.name"),
    ],
)
async def test_parent_targeted_case_without_a_valid_child_is_422_without_echo(client, auth, db, child, field):
    body: dict[str, Any] = {"subject": identity(PARENT, "Petra Provsson")}
    if child is not None:
        body["child"] = child
    response = await open_case(client, auth, "familjebehandling", **body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/validation-error"
    assert field in {e["field"] for e in response.json()["errors"]}
    assert_not_echoed(response, BAD_PNR, PARENT, "Pelle")
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CaseRow)) == 0
        assert await session.scalar(select(func.count()).select_from(PersonRow)) == 0


@pytest.mark.parametrize("subject", [None, {"name": "Sigrid Provsson"}, identity(BAD_PNR), identity("19900301")])
async def test_standard_case_without_a_valid_personnummer_is_422_without_echo(client, auth, subject):
    body = {} if subject is None else {"subject": subject}
    response = await open_case(client, auth, "skyddat-boende-vuxna", **body)
    assert response.status_code == 422
    assert "body.subject.personnummer" in {e["field"] for e in response.json()["errors"]}
    assert_not_echoed(response, BAD_PNR, "19900301")


async def test_protected_identity_address_is_never_stored_returned_or_sent(client, auth, db):
    case = await opened(
        client,
        auth,
        "skyddat-boende-vuxna",
        subject=identity(ADULT, address="Hemliga vägen 9", protected_identity=True),
    )
    assert case["redactions"] == [{"path": "subject.address", "kind": "address", "rule": "protected_identity"}]
    row = await person(db, case["person_id"])
    assert row.protected_identity is True
    assert all(c.address is None for c in await contacts(db, case["person_id"]))
    sent = (await outbox(db, case["id"]))[0].payload["registration"]["person"]
    assert sent["address"] is None and sent["protected_identity"] is True
    got = await client.get(f"/v1/persons/{case['person_id']}", headers=auth("cases:read"))
    assert got.status_code == 200 and got.json()["address"] is None
    assert "Hemliga" not in got.text


async def test_a_known_person_is_one_record_shared_by_all_their_cases(client, auth, db):
    first = await opened(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT, phone=PHONE))
    second = await opened(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT, email=EMAIL), unit="unit-b")
    closing = {"closed_on": "2026-09-01", "reason": "completed"}
    assert (await client.post(f"/v1/cases/{first['id']}/close", json=closing, headers=auth(WRITE))).status_code == 200
    again = await opened(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT, email=EMAIL))
    assert first["person_id"] == second["person_id"] == again["person_id"]
    # Contact details are each unit's own; an opening adds to the unit's record, never clears.
    recorded = [(c.unit, c.phone, c.email) for c in await contacts(db, first["person_id"])]
    assert recorded == [("unit-a", PHONE, EMAIL), ("unit-b", None, EMAIL)]


async def test_unknown_intervention_is_422_and_not_echoed(client, auth):
    response = await open_case(client, auth, "finns-inte-alls", subject=identity(ADULT))
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/intervention-not-offered"
    assert "finns-inte-alls" not in response.text


async def test_intervention_not_yet_in_force_on_the_opening_date_is_422(client, auth):
    response = await open_case(client, auth, "krisstod", opened_on="2025-06-30")
    assert response.json()["type"] == "/problems/intervention-not-offered"


# --- the exemptions (SoL 14:5, 14:4) ----------------------------------------------------------


async def test_sol_14_5_identity_values_never_persisted(client, auth, db):
    case = await opened(
        client,
        auth,
        "krisstod",
        subject=identity(ADULT, phone=PHONE, email=EMAIL, address="Provgatan 3"),
        participant={"gender": "male", "birth_year": 1990},
        notes=[
            {
                "kind": "execution",
                "occurred_on": "2026-09-01",
                "text": f"Sigrid ringde från {PHONE}, bor på Provgatan 3, pnr {ADULT[2:8]}-{ADULT[8:]}.",
            }
        ],
    )
    assert case["identity"] == "anonymous"
    assert case["person_id"] is None and case["registered_on"] is None
    assert re.fullmatch(r"IUB-[2-9A-HJ-NP-Z]{8}", case["participant_code"])
    assert case["journal_sync"] == "not_applicable"
    assert (case["retention_basis"], case["disposal_due_on"], case["disposal_action"]) == ("records_plan", None, "keep")
    assert case["participant"] == {"gender": "male", "age": 36, "age_band": "30-49", "role": None}
    assert {(r["path"], r["kind"]) for r in case["redactions"]} == {
        ("subject.personnummer", "personnummer"),
        ("subject.name", "name"),
        ("subject.phone", "phone"),
        ("subject.email", "email"),
        ("subject.address", "address"),
        ("participant.birth_year", "birth_year"),
        ("notes[0].text", "name"),
        ("notes[0].text", "phone"),
        ("notes[0].text", "address"),
        ("notes[0].text", "personnummer"),
    }
    assert {r["rule"] for r in case["redactions"]} == {"SoL 14:5"}
    text = case["notes"][0]["text"]
    assert "Sigrid" not in text and "174" not in text and "Provgatan" not in text and ADULT[8:] not in text
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PersonRow)) == 0
        stored = (await session.scalars(select(CaseNoteRow))).one()
        assert stored.text == text
    assert await outbox(db) == []


async def test_sol_14_4_counselling_exempt_keeps_unit_level_data_only(client, auth, db):
    case = await opened(
        client,
        auth,
        "anhorigstod",
        subject=identity(ADULT, "Bertil Provsson"),
        participant={"gender": "female", "age": 36, "role": "relative"},
        start_assessment={"wellbeing": 3, "social_situation": ["working"]},
    )
    assert case["identity"] == "anonymous"
    assert {r["rule"] for r in case["redactions"]} == {"SoL 14:4"}
    assert case["participant"] == {"gender": "female", "age": 36, "age_band": "30-49", "role": "relative"}
    assert case["start_assessment"] == {"wellbeing": 3, "social_situation": ["working"]}
    assert await outbox(db) == []


async def test_anonymous_case_never_gets_an_outbox_event(client, auth, db):
    case = await opened(client, auth, "motiverande-samtal", subject=identity(ADULT))
    headers = auth(WRITE)
    base = f"/v1/cases/{case['id']}"
    note = {"kind": "execution", "occurred_on": "2026-09-03", "text": "Samtal om motivation."}
    assert (await client.post(f"{base}/notes", json=note, headers=headers)).status_code == 201
    plan = {
        "drawn_up_on": "2026-09-02",
        "starts_on": "2026-09-01",
        "description": "Motiverande samtal",
        "responsible_contact": "Mottagningen",
    }
    assert (await client.put(f"{base}/plan", json=plan, headers=headers)).status_code == 200
    assert (await client.post(f"{base}/sessions", json={"held_on": "2026-09-04"}, headers=headers)).status_code == 201
    closing = {"closed_on": "2026-09-10", "reason": "completed"}
    assert (await client.post(f"{base}/close", json=closing, headers=headers)).status_code == 200
    assert await outbox(db) == []


async def test_later_notes_are_scrubbed_with_the_known_identity_given_for_scrubbing_only(client, auth, db):
    case = await opened(client, auth, "samtal-om-vald")
    response = await client.post(
        f"/v1/cases/{case['id']}/notes",
        json={
            "kind": "event",
            "occurred_on": "2026-09-02",
            "text": "Provsson berättade om helgen.",
            "known_identity": [{"name": "Sigrid Provsson"}],
        },
        headers=auth(WRITE),
    )
    assert response.status_code == 201
    assert response.json()["note"]["text"] == "[namn] berättade om helgen."
    assert response.json()["redactions"] == [{"path": "text", "kind": "name", "rule": "SoL 14:5"}]


async def test_plan_personal_section_is_kept_for_identified_cases_only(client, auth, db):
    plan = {
        "starts_on": "2026-09-01",
        "description": "Stöd",
        "responsible_contact": "Enheten",
        "goals": "Ring Sigrid på 070-174 06 42.",
        "personal": {"next_of_kin": "Bror Provsson"},
    }
    anonymous = await opened(client, auth, "krisstod")
    response = await client.put(f"/v1/cases/{anonymous['id']}/plan", json=plan, headers=auth(WRITE))
    assert response.status_code == 200
    assert response.json()["plan"]["personal"] is None
    assert response.json()["plan"]["goals"] == "Ring Sigrid på [telefon]."
    assert {"path": "personal.next_of_kin", "kind": "next_of_kin", "rule": "SoL 14:5"} in response.json()["redactions"]

    identified = await opened(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT))
    response = await client.put(f"/v1/cases/{identified['id']}/plan", json=plan, headers=auth(WRITE))
    assert response.json()["plan"]["personal"] == {"next_of_kin": "Bror Provsson"}
    assert response.json()["plan"]["goals"] == plan["goals"]
    assert response.json()["status"] == "registered"  # three steps: planning does not move the status
    again = await client.put(f"/v1/cases/{identified['id']}/plan", json=plan, headers=auth(WRITE))
    assert again.json()["plan"]["version"] == 2
    kinds = [e.kind for e in await outbox(db, identified["id"])]
    assert kinds == ["case.registered", "case.plan_set", "case.plan_set"]
    plan_event = (await outbox(db, identified["id"]))[1].payload
    assert plan_event["plan"]["personal"] == {"next_of_kin": "Bror Provsson"}
    assert plan_event["plan"]["starts_on"] == "2026-09-01"


# --- the rule is snapshotted at opening ------------------------------------------------------


async def test_documentation_rule_and_cap_are_snapshotted_at_opening(client, auth):
    headers = auth("catalog:read catalog:write " + WRITE)
    old_case = await opened(client, auth, "krisstod", opened_on="2026-01-15")
    decision = (await client.get("/v1/catalog/decisions", headers=headers)).json()["items"][0]
    successor = dict(decision, reference="§ 300", decided_on="2026-01-20", effective_from="2026-02-01")
    for item in successor["interventions"]:
        if item["id"] == "krisstod":
            item["conditions"] = dict(item["conditions"], max_sessions=5)
            item["documentation_rule"] = "standard"
            item["special_reasons"] = None
    assert (await client.post("/v1/catalog/decisions", json=successor, headers=headers)).status_code == 201

    for day in ("2026-02-02", "2026-02-03", "2026-02-04"):
        assert (
            await client.post(f"/v1/cases/{old_case['id']}/sessions", json={"held_on": day}, headers=headers)
        ).status_code == 201
    fourth = await client.post(f"/v1/cases/{old_case['id']}/sessions", json={"held_on": "2026-02-05"}, headers=headers)
    assert fourth.status_code == 409
    note = await client.post(
        f"/v1/cases/{old_case['id']}/notes",
        headers=headers,
        json={"kind": "event", "occurred_on": "2026-02-05", "text": "Ring 070-174 06 42."},
    )
    assert note.json()["note"]["text"] == "Ring [telefon]."  # still identity_exempt
    new_case = await opened(client, auth, "krisstod", opened_on="2026-03-01", subject=identity(ADULT))
    assert (new_case["documentation_rule"], new_case["max_sessions"]) == ("standard", 5)


# --- sessions, status, closing -----------------------------------------------------------------


async def test_session_cap_reached_is_409_explaining_needs_assessed_support(client, auth):
    case = await opened(client, auth, "krisstod")
    for number in (1, 2, 3):
        response = await client.post(
            f"/v1/cases/{case['id']}/sessions", json={"held_on": "2026-09-02"}, headers=auth(WRITE)
        )
        assert response.json()["session"]["number"] == number
        assert response.json()["status"] == "in_progress"
    response = await client.post(
        f"/v1/cases/{case['id']}/sessions", json={"held_on": "2026-09-02"}, headers=auth(WRITE)
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/session-cap-reached"
    assert "behovsprövad insats" in response.json()["detail"]
    assert response.json()["max_sessions"] == 3


async def test_five_step_process_moves_through_every_step_and_refuses_an_early_follow_up(client, auth):
    headers = auth(WRITE)
    assert (await client.get("/v1/units/me/process", headers=headers)).json()["process_steps"] == 3
    put = await client.put("/v1/units/me/process", json={"process_steps": 5}, headers=headers)
    assert put.json() == {"unit": "unit-a", "process_steps": 5}
    assert (await client.put("/v1/units/me/process", json={"process_steps": 4}, headers=headers)).status_code == 422

    case = await opened(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT))
    base = f"/v1/cases/{case['id']}"
    assert (case["process_steps"], case["status"]) == (5, "registered")

    def note(kind: str) -> dict[str, str]:
        return {"kind": kind, "occurred_on": "2026-09-05", "text": f"Anteckning: {kind}."}

    early = await client.post(f"{base}/notes", json=note("follow_up"), headers=headers)
    assert early.status_code == 409
    assert early.json()["type"] == "/problems/illegal-transition"
    assert (await client.post(f"{base}/notes", json=note("planning"), headers=headers)).json()["status"] == "planned"
    session = await client.post(f"{base}/sessions", json={"held_on": "2026-09-06"}, headers=headers)
    assert session.json()["status"] == "in_progress"
    assert (await client.post(f"{base}/notes", json=note("follow_up"), headers=headers)).json()["status"] == (
        "followed_up"
    )
    closed = await client.post(
        f"{base}/close", json={"closed_on": "2026-09-07", "reason": "completed"}, headers=headers
    )
    assert closed.json()["status"] == "closed"
    # Another unit keeps its own process.
    assert (await client.get("/v1/units/me/process", headers=auth(WRITE, unit="unit-b"))).json()["process_steps"] == 3


async def test_sol_16_1_disposal_due_five_years_after_last_entry(client, auth, db):
    case = await opened(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT), opened_on="2026-02-28")
    base = f"/v1/cases/{case['id']}"
    assert case["disposal_due_on"] is None  # not while the case is open
    await client.post(
        f"{base}/notes",
        headers=auth(WRITE),
        json={"kind": "execution", "occurred_on": "2026-05-04", "text": "Genomfört."},
    )
    closing = {
        "closed_on": "2026-06-01",
        "reason": "ended_early",
        "early_termination_reason": "moved",
        "early_termination_note": "Flyttade till Borås.",
        "end_assessment": {"wellbeing": 4},
        "participant_view": {"satisfaction": 5, "comment": "Bra."},
    }
    closed = (await client.post(f"{base}/close", json=closing, headers=auth(WRITE))).json()
    assert (closed["last_entry_on"], closed["disposal_due_on"], closed["disposal_deadline_on"]) == (
        "2026-06-01",
        "2031-06-01",
        "2032-12-31",
    )
    assert (closed["retention_basis"], closed["disposal_action"]) == ("sol_16_1", "archive_transfer")
    assert closed["closing"]["early_termination_reason"] == "moved"
    assert closed["closing"]["early_termination_note"] == "Flyttade till Borås."
    event = (await outbox(db, case["id"]))[-1]
    assert event.kind == "case.closed"
    assert event.payload["closing"] == {
        "closed_on": "2026-06-01",
        "reason": "ended_early",
        "disposal_due_on": "2031-06-01",
        "disposal_deadline_on": "2032-12-31",
        "disposal_action": "archive_transfer",  # Göteborg destroys nothing (SoL 16 kap. 4 §)
        "retention_basis": "sol_16_1",
        # the journal system takes the code's Swedish label, then the note
        "early_termination_reason": "Flyttat. Flyttade till Borås.",
    }
    assert event.payload["entry"]["kind"] == "closing"
    assert "Orsak till avbrott: Flyttat. Flyttade till Borås." in event.payload["entry"]["text"]


@pytest.mark.parametrize(
    "body",
    [
        {"closed_on": "2026-09-10", "reason": "ended_early"},
        {"closed_on": "2026-09-10", "reason": "ended_early", "early_termination_note": "Sjuk."},
        {"closed_on": "2026-09-10", "reason": "ended_early", "early_termination_reason": "Sjuk."},
        {"closed_on": "2026-09-10", "reason": "ended_early", "early_termination_reason": "other"},
        {
            "closed_on": "2026-09-10",
            "reason": "ended_early",
            "early_termination_reason": "other",
            "early_termination_note": " ",
        },
        {"closed_on": "2026-09-10", "reason": "completed", "early_termination_reason": "moved"},
        {"closed_on": "2026-09-10", "reason": "completed", "early_termination_note": "Sjuk."},
        {"closed_on": "2026-08-01", "reason": "completed"},
        {"closed_on": "2099-01-01", "reason": "completed"},
        {"closed_on": "2026-09-10", "reason": "finished"},
    ],
)
async def test_malformed_closing_is_422(client, auth, body):
    case = await opened(client, auth, "krisstod")
    response = await client.post(f"/v1/cases/{case['id']}/close", json=body, headers=auth(WRITE))
    assert response.status_code == 422
    assert "Sjuk" not in response.text and "finished" not in response.text


async def test_closed_case_takes_nothing_more(client, auth):
    case = await opened(client, auth, "krisstod")
    base = f"/v1/cases/{case['id']}"
    headers = auth(WRITE)
    assert (
        await client.post(f"{base}/close", json={"closed_on": "2026-09-02", "reason": "completed"}, headers=headers)
    ).status_code == 200
    attempts = [
        client.post(f"{base}/notes", json={"kind": "event", "occurred_on": "2026-09-03", "text": "x"}, headers=headers),
        client.post(f"{base}/sessions", json={"held_on": "2026-09-03"}, headers=headers),
        client.put(
            f"{base}/plan",
            json={"starts_on": "2026-09-01", "description": "d", "responsible_contact": "r"},
            headers=headers,
        ),
        client.post(f"{base}/close", json={"closed_on": "2026-09-03", "reason": "completed"}, headers=headers),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 409
        assert response.json()["type"] == "/problems/case-closed"
    assert (await client.get(base, headers=auth("cases:read"))).json()["status"] == "closed"


@pytest.mark.parametrize(
    ("occurred_on", "code"),
    [("2026-08-31", "date_before_opening_date"), ((today() + dt.timedelta(days=1)).isoformat(), "date_in_future")],
)
async def test_entry_dates_outside_the_case_are_422(client, auth, occurred_on, code):
    case = await opened(client, auth, "krisstod")
    response = await client.post(
        f"/v1/cases/{case['id']}/notes",
        headers=auth(WRITE),
        json={"kind": "event", "occurred_on": occurred_on, "text": "x"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == code


# --- visibility ----------------------------------------------------------------------------------


async def test_cross_unit_reads_and_writes_are_404_like_a_missing_case(client, auth):
    case = await opened(client, auth, "skyddat-boende-vuxna", subject=identity(ADULT))
    other = auth(WRITE, unit="unit-b")
    base = f"/v1/cases/{case['id']}"
    for response in (
        await client.get(base, headers=other),
        await client.post(
            f"{base}/notes", json={"kind": "event", "occurred_on": "2026-09-02", "text": "x"}, headers=other
        ),
        await client.post(f"{base}/sessions", json={"held_on": "2026-09-02"}, headers=other),
        await client.post(f"{base}/close", json={"closed_on": "2026-09-02", "reason": "completed"}, headers=other),
        await client.get(f"/v1/persons/{case['person_id']}", headers=other),
        await client.get("/v1/cases/00000000-0000-4000-8000-000000000000", headers=auth("cases:read")),
    ):
        assert response.status_code == 404
        assert response.json()["type"] == "/problems/not-found"
    assert (await client.get("/v1/cases", headers=other)).json()["items"] == []
    other_committee = auth("cases:read", committee="sn-centrum")
    assert (await client.get(base, headers=other_committee)).status_code == 404


async def test_get_returns_notes_plan_and_sessions_of_the_own_units_case(client, auth):
    case = await opened(
        client, auth, "krisstod", notes=[{"kind": "planning", "occurred_on": "2026-09-01", "text": "Första kontakt."}]
    )
    base = f"/v1/cases/{case['id']}"
    await client.post(f"{base}/sessions", json={"held_on": "2026-09-02", "form": "meeting"}, headers=auth(WRITE))
    got = (await client.get(base, headers=auth("cases:read"))).json()
    assert [n["text"] for n in got["notes"]] == ["Första kontakt."]
    assert got["sessions"][0]["form"] == "meeting" and got["session_count"] == 1
    assert got["plan"] is None and got["redactions"] == []


async def test_list_is_cursor_paginated_and_filtered(client, auth):
    ids = [(await opened(client, auth, "krisstod"))["id"] for _ in range(3)]
    ids.append((await opened(client, auth, "spel-om-pengar"))["id"])
    headers = auth("cases:read")
    first = (await client.get("/v1/cases", params={"limit": 2, "intervention_id": "krisstod"}, headers=headers)).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = (
        await client.get(
            "/v1/cases",
            params={"limit": 2, "intervention_id": "krisstod", "cursor": first["next_cursor"]},
            headers=headers,
        )
    ).json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    assert {c["id"] for c in first["items"] + second["items"]} == set(ids[:3])
    everything = (await client.get("/v1/cases", headers=headers)).json()["items"]
    assert len(everything) == 4
    code = everything[0]["participant_code"]
    by_code = (await client.get("/v1/cases", params={"participant_code": code}, headers=headers)).json()
    assert [c["participant_code"] for c in by_code["items"]] == [code]
    assert (await client.get("/v1/cases", params={"status": "closed"}, headers=headers)).json()["items"] == []
    bad = await client.get("/v1/cases", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=headers)
    assert bad.status_code == 422 and "bm90LWEtY3Vyc29y" not in bad.text
    assert (await client.get("/v1/cases", params={"limit": 500}, headers=headers)).status_code == 422


async def test_a_retried_opening_or_session_with_the_same_idempotency_key_writes_once(client, auth, db):
    headers = {**auth(WRITE), "Idempotency-Key": "open-1"}
    body = {"intervention_id": "krisstod", "opened_on": "2026-09-01", "participant": {"gender": "male", "age": 30}}
    first = await client.post("/v1/cases", json=body, headers=headers)
    again = await client.post("/v1/cases", json=body, headers=headers)
    assert again.headers["idempotent-replayed"] == "true" and again.json()["id"] == first.json()["id"]
    session_headers = {**auth(WRITE), "Idempotency-Key": "session-1"}
    url = f"/v1/cases/{first.json()['id']}/sessions"
    for _ in range(2):
        response = await client.post(url, json={"held_on": "2026-09-02"}, headers=session_headers)
        assert response.json()["session"]["number"] == 1
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CaseRow)) == 1
        assert (await session.scalars(select(CaseRow))).one().session_count == 1


async def test_scopes_are_required(client, auth):
    assert (await client.get("/v1/cases", headers=auth("catalog:read"))).status_code == 403
    response = await client.post("/v1/cases", json={"intervention_id": "krisstod"}, headers=auth("cases:read"))
    assert response.status_code == 403
    assert (await client.get("/v1/cases")).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"intervention_id": "krisstod", "subject": {"personnummer": ADULT, "nickname": "Siggan Provsson"}},
        {"intervention_id": "krisstod", "start_assessment": {"wellbeing": 9}},
        {"intervention_id": "krisstod", "participant": {"gender": "Sigrid Provsson"}},
        {"intervention_id": "krisstod", "notes": [{"kind": "diary", "occurred_on": "2026-09-01", "text": "x"}]},
        {"intervention_id": "Krisstöd Sigrid Provsson"},
        {"intervention_id": "krisstod", "opened_on": "Sigrid Provsson"},
    ],
)
async def test_malformed_opening_is_422_and_never_echoes_a_value(client, auth, body):
    response = await client.post("/v1/cases", json=body, headers=auth(WRITE))
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/validation-error"
    assert_not_echoed(response, "Sigrid", "Siggan", "Provsson", ADULT, "diary")


async def test_every_outbox_payload_reads_back_into_the_ports_records(client, auth, db):
    from app.journal import events as codec
    from app.journal.port import CaseClosing, CaseRegistration, InterventionPlan, JournalEntry, PersonContactUpdate

    case = await opened(
        client,
        auth,
        "familjebehandling",
        subject=identity(PARENT, "Petra Provsson"),
        child=identity(CHILD, "Pelle Provsson", phone=PHONE),
        notes=[{"kind": "planning", "occurred_on": "2026-09-01", "text": "Start."}],
    )
    base, headers = f"/v1/cases/{case['id']}", auth(WRITE)
    plan = {
        "drawn_up_on": "2026-09-02",
        "starts_on": "2026-09-01",
        "follow_up_on": "2026-10-01",
        "description": "Familjebehandling",
        "responsible_contact": "Enheten",
        "personal": {"next_of_kin": "Moster"},
    }
    assert (await client.put(f"{base}/plan", json=plan, headers=headers)).status_code == 200
    assert (await client.post(f"{base}/sessions", json={"held_on": "2026-09-03"}, headers=headers)).status_code == 201
    closing = {"closed_on": "2026-09-10", "reason": "completed", "participant_view": {"comment": "Bra stöd."}}
    assert (await client.post(f"{base}/close", json=closing, headers=headers)).status_code == 200
    assert (
        await client.patch(f"/v1/persons/{case['person_id']}", json={"email": "ny@example.com"}, headers=headers)
    ).status_code == 200

    events = await outbox(db)
    assert [e.kind for e in events] == [
        "case.registered",
        "case.note_added",
        "case.plan_set",
        "case.session_recorded",
        "case.closed",
        "person.updated",
    ]
    registration = codec.read_registration(events[0].payload)
    assert isinstance(registration, CaseRegistration)
    assert registration.person.personnummer == CHILD and registration.guardian is not None
    assert events[0].payload["person_id"] == case["person_id"]
    assert events[0].payload["guardian_person_id"] == case["guardian_person_id"]
    assert isinstance(codec.read_entry(events[1].payload), JournalEntry)
    read_plan = codec.read_plan(events[2].payload)
    assert isinstance(read_plan, InterventionPlan) and read_plan.personal.next_of_kin == "Moster"
    session_entry = codec.read_entry(events[3].payload)
    assert (session_entry.kind, session_entry.text) == ("execution", "Samtal 1 genomförd.")
    closing_record = codec.read_closing(events[4].payload)
    assert isinstance(closing_record, CaseClosing) and closing_record.disposal_due_on == dt.date(2031, 9, 10)
    assert "Bra stöd." in codec.read_entry(events[4].payload).text
    update = codec.read_person_update(events[5].payload)
    assert isinstance(update, PersonContactUpdate) and update.email == "ny@example.com"
    assert events[5].aggregate_type == "person" and events[5].aggregate_id == case["person_id"]


async def test_every_201_says_where_in_location(client, auth):
    headers = auth(WRITE)
    created = await open_case(client, auth, "krisstod")
    assert created.status_code == 201
    case_url = f"/v1/cases/{created.json()['id']}"
    assert created.headers["location"] == case_url
    writes = [
        ("notes", {"kind": "execution", "occurred_on": "2026-09-02", "text": "Samtal."}),
        ("sessions", {"held_on": "2026-09-02"}),
        ("coded-entries", {"code": "concern_reported", "occurred_on": "2026-09-02"}),
    ]
    for path, body in writes:
        response = await client.post(f"{case_url}/{path}", json=body, headers=headers)
        assert response.status_code == 201, path
        assert response.headers["location"] == case_url, path


async def test_every_timestamp_is_answered_with_its_time_zone(client, auth):
    case = await opened(
        client, auth, "skyddat-boende-vuxna", subject=identity(ADULT), facts={"accompanying_children": False}
    )
    headers = auth(WRITE + " audit:read")
    plan = {"starts_on": "2026-09-02", "description": "Skyddat boende.", "responsible_contact": "Enhet A"}
    assert (await client.put(f"/v1/cases/{case['id']}/plan", json=plan, headers=headers)).status_code == 200
    moments = [r["at"] for r in (await client.get("/v1/audit", headers=headers)).json()["items"]]
    versions = (await client.get(f"/v1/cases/{case['id']}/plan/versions", headers=headers)).json()["items"]
    moments += [v["recorded_at"] for v in versions]
    person = (await client.get(f"/v1/persons/{case['person_id']}", headers=headers)).json()
    moments += [n["recorded_at"] for n in person["names"]]
    assert len(moments) >= 3
    for moment in moments:
        assert dt.datetime.fromisoformat(moment).utcoffset() == dt.timedelta(0), moment
