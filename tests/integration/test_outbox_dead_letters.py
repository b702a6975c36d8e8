"""No dead end in delivery, on SQLite and PostgreSQL.

What the API accepts arrives whole; an event the journal system refused can be skipped or
retried after a correction, recorded; an event that kills its worker every time ends dead
after the attempt limit instead of taking every worker down forever.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from app.cases.models import PersonRow
from app.core.db import Database
from app.journal import limits
from app.journal.http_adapter import HttpJournalSystem
from app.journal.links import journal_status
from app.journal.models import OutboxAction, OutboxEvent
from app.journal.port import JournalPermanentError
from app.journal.simulator import create_simulator_app
from tests.contract.journal_harness import ValidatingTransport
from tests.integration.outbox_support import (
    FakeClock,
    Flaky,
    by_case_ref,
    case_events,
    dispatcher,
    drain,
    in_process_simulator,
    insert_events,
    links,
    rows,
)

pytestmark = pytest.mark.usefixtures("demo_catalog")

ADULT = "199003012391"  # Skatteverket's test personnummer
OPERATOR = "outbox:admin"
REFUSED = "https://journal.example.se/problems/validation"
CASE_WRITE = "cases:write cases:read"


async def open_identified_case(client: httpx.AsyncClient, auth: Any, **subject: Any) -> dict[str, Any]:
    body = {
        "intervention_id": "skyddat-boende-vuxna",  # the standard rule (SoL 14:3): it goes to the journal
        "opened_on": "2026-09-01",
        "subject": {"personnummer": ADULT, "name": "Sigrid Provsson", **subject},
    }
    response = await client.post("/v1/cases", json=body, headers=auth(CASE_WRITE))
    assert response.status_code == 201, response.text
    case: dict[str, Any] = response.json()
    return case


def plan(**fields: Any) -> dict[str, Any]:
    return {
        "drawn_up_on": "2026-09-02",
        "starts_on": "2026-09-02",
        "description": "Skyddat boende",
        "responsible_contact": "Kontakt A",
        **fields,
    }


async def actions(db: Database) -> list[OutboxAction]:
    async with db.sessions() as session:
        return list((await session.scalars(select(OutboxAction).order_by(OutboxAction.at))).all())


async def dead_note(db: Database, sim: Any, clock: FakeClock, case_id: str, *, notes: int = 2) -> list[OutboxEvent]:
    """A case whose first note the journal system refused (422): the rest waits behind it."""
    await insert_events(db, case_events(0, case_id, notes=notes))
    refused = JournalPermanentError("refused", status=422, problem_type=REFUSED)
    await drain(dispatcher(db, Flaky(sim.journal, {"add_journal_entry": [refused]}), clock=clock), clock=clock)
    events = await rows(db)
    assert [e.status for e in events] == ["delivered", "dead", *["pending"] * notes]
    return events


# --- the API's limits are the contract's ---------------------------------------------------------


async def test_a_case_written_at_every_api_limit_reaches_the_journal_system_whole(client, auth, db) -> None:
    case = await open_identified_case(
        client,
        auth,
        name="S" * limits.PERSON_NAME_MAX,
        phone="0" * limits.PERSON_PHONE_MAX,
        email="e" * (limits.PERSON_EMAIL_MAX - len("@example.com")) + "@example.com",
        address="Provgatan 3 " + "a" * 288,
    )
    case_url = f"/v1/cases/{case['id']}"
    full_plan = plan(
        description="d" * limits.PLAN_DESCRIPTION_MAX,
        responsible_contact="r" * limits.PLAN_RESPONSIBLE_CONTACT_MAX,
        personal={"next_of_kin": "n" * limits.PLAN_TEXT_MAX},
        **{
            name: name[0] * limits.PLAN_TEXT_MAX
            for name in ("time_frame", "reason_for_seeking", "goals", "form", "frequency", "follow_up")
        },
        reason_for_closing="c" * limits.PLAN_TEXT_MAX,
    )
    assert (await client.put(f"{case_url}/plan", json=full_plan, headers=auth(CASE_WRITE))).status_code == 200
    session = await client.post(f"{case_url}/sessions", json={"held_on": "2026-09-03"}, headers=auth(CASE_WRITE))
    assert session.status_code == 201, session.text
    note = {"kind": "execution", "occurred_on": "2026-09-03", "text": "t" * limits.ENTRY_TEXT_MAX}
    assert (await client.post(f"{case_url}/notes", json=note, headers=auth(CASE_WRITE))).status_code == 201
    note_text, view = "å" * limits.EARLY_TERMINATION_NOTE_MAX, "ä" * limits.PARTICIPANT_VIEW_MAX
    early = "Annan orsak. " + note_text  # the code's label, then the note
    closing = {
        "closed_on": "2026-09-04",
        "reason": "ended_early",
        "early_termination_reason": "other",
        "early_termination_note": note_text,
        "end_assessment": {"wellbeing": 3},
        "participant_view": {"satisfaction": 4, "comment": view},
    }
    closed = await client.post(f"{case_url}/close", json=closing, headers=auth(CASE_WRITE))
    assert closed.status_code == 200, closed.text

    transport = ValidatingTransport(httpx.ASGITransport(create_simulator_app()))
    async with httpx.AsyncClient(transport=transport, base_url="http://journal.test") as http:
        clock = FakeClock()
        await drain(dispatcher(db, HttpJournalSystem(http), clock=clock), clock=clock)
        state = (await http.get("/_sim/state")).json()
    assert transport.errors() == [], "every request within the contract"
    assert {e.status for e in await rows(db)} == {"delivered"}, "nothing dead"
    (journal_case,) = state["cases"]
    assert journal_case["plan"]["responsible_contact"] == full_plan["responsible_contact"]
    assert journal_case["closing"]["early_termination_reason"] == early
    texts = [entry["text"] for entry in journal_case["entries"]]
    assert note["text"] in texts
    assert early in texts[-1] and view in texts[-1], "the closing entry carries both texts, uncut"


async def test_the_api_refuses_what_the_journal_system_would_refuse_and_writes_nothing(client, auth, db) -> None:
    case = await open_identified_case(client, auth)
    case_url = f"/v1/cases/{case['id']}"
    refused = [
        ("PUT", f"{case_url}/plan", plan(responsible_contact="r" * (limits.PLAN_RESPONSIBLE_CONTACT_MAX + 1))),
        ("PUT", f"{case_url}/plan", plan(goals="g" * (limits.PLAN_TEXT_MAX + 1))),
        (
            "POST",
            f"{case_url}/close",
            {
                "closed_on": "2026-09-04",
                "reason": "ended_early",
                "early_termination_reason": "other",
                "early_termination_note": "e" * (limits.EARLY_TERMINATION_NOTE_MAX + 1),
            },
        ),
        (
            "POST",
            f"{case_url}/close",
            {
                "closed_on": "2026-09-04",
                "reason": "completed",
                "participant_view": {"comment": "v" * (limits.PARTICIPANT_VIEW_MAX + 1)},
            },
        ),
        ("PATCH", f"/v1/persons/{case['person_id']}", {"name": "   "}),
    ]
    async with db.sessions() as session:
        before = len((await session.scalars(select(OutboxEvent))).all())
    for method, url, body in refused:
        response = await client.request(method, url, json=body, headers=auth(CASE_WRITE))
        assert response.status_code == 422, (method, url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    async with db.sessions() as session:
        assert len((await session.scalars(select(OutboxEvent))).all()) == before, "no event for the journal"
        assert (await session.get(PersonRow, case["person_id"])).name == "Sigrid Provsson"  # type: ignore[union-attr]


# --- skip --------------------------------------------------------------------------------------------


async def test_skipping_a_dead_event_lets_its_cases_later_events_flow_and_is_recorded(client, auth, db) -> None:
    sim, clock, case_id = in_process_simulator(), FakeClock(), str(uuid.uuid4())
    events = await dead_note(db, sim, clock, case_id)
    dead = events[1]
    async with db.sessions() as session:
        assert (await journal_status(session, "case", [case_id]))[case_id][0] == "failed"

    body = {"reason": "entered_manually", "note": "Ärende INC-4711"}
    skipped = await client.post(f"/v1/outbox/{dead.id}/skip", json=body, headers=auth(OPERATOR, sub="operator-7"))
    assert skipped.status_code == 200, skipped.text
    doc = skipped.json()
    assert doc["status"] == "skipped"
    (action,) = doc["actions"]
    assert action["action"] == "skip" and action["reason"] == "entered_manually"
    assert action["note"] == "Ärende INC-4711"
    assert (action["by"], action["by_committee"], action["by_unit"]) == ("operator-7", "sn-sydvast", "unit-a")
    assert action["status_before"] == "dead" and action["error_before"] == f"JournalPermanentError HTTP 422 {REFUSED}"
    assert action["at"] and not action["reencoded"]
    async with db.sessions() as session:
        assert (await journal_status(session, "case", [case_id]))[case_id][0] == "pending"

    await drain(dispatcher(db, sim.journal, clock=clock), clock=clock)
    assert [e.status for e in await rows(db)] == ["delivered", "skipped", "delivered", "delivered"]
    case = by_case_ref(await sim.state())[(await links(db))[("case", case_id)].external_ref]
    assert [e["text"] for e in case["entries"]] == ["Samtal 2 genomfört.", "Avslut."]
    assert case["history"][-1] == "closing"
    assert (await links(db))[("case", case_id)].sync_state == "delivered"

    listed = await client.get("/v1/outbox", params={"status": "skipped"}, headers=auth(OPERATOR))
    assert [(i["id"], i["actions"][0]["reason"]) for i in listed.json()["items"]] == [(dead.id, "entered_manually")]
    again = await client.post(f"/v1/outbox/{dead.id}/skip", json=body, headers=auth(OPERATOR))
    assert again.status_code == 409 and again.json()["type"] == "/problems/outbox-event-not-skippable"
    retried = await client.post(f"/v1/outbox/{dead.id}/retry", headers=auth(OPERATOR))
    assert retried.status_code == 409, "a skipped event is finished"
    await sim.aclose()


async def test_a_skip_needs_a_reason_code_and_a_note_without_personal_data(client, auth, db) -> None:
    ids = await insert_events(db, case_events(0, str(uuid.uuid4()), notes=1))
    url = f"/v1/outbox/{ids[1]}/skip"
    for body in (
        None,
        {},
        {"reason": "because"},
        {"reason": "other", "note": "Gäller 19900301-2391"},
        {"reason": "other", "note": "Ring 070-174 06 42"},
        {"reason": "other", "note": "Mejla sigrid.test@example.com"},
        {"reason": "other", "note": "n" * 201},
        {"reason": "other", "comment": "x"},
    ):
        response = await client.post(url, json=body, headers=auth(OPERATOR))
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        for value in ("19900301-2391", "070-174 06 42", "sigrid.test@example.com"):
            assert value not in response.text
    found = await client.post(url, json={"reason": "other", "note": "Gäller 19900301-2391"}, headers=auth(OPERATOR))
    assert found.json()["errors"][0]["field"] == "body.note"
    assert (await client.post(url, json={"reason": "superseded"}, headers=auth("cases:read"))).status_code == 403
    for missing in (str(uuid.uuid4()), "not-an-id"):
        response = await client.post(f"/v1/outbox/{missing}/skip", json={"reason": "other"}, headers=auth(OPERATOR))
        assert response.status_code == 404
    assert await actions(db) == [] and {e.status for e in await rows(db)} == {"pending"}, "nothing written"


async def test_an_operator_skips_only_events_of_their_own_committee(client, auth, db) -> None:
    ids = await insert_events(db, case_events(0, str(uuid.uuid4()), notes=0, close=False), committee="sn-centrum")
    url, body = f"/v1/outbox/{ids[0]}/skip", {"reason": "other"}
    refused = await client.post(url, json=body, headers=auth(OPERATOR, committee="sn-sydvast"))
    assert refused.status_code == 404 and refused.json()["type"] == "/problems/not-found"
    assert await actions(db) == [] and (await rows(db))[0].status == "pending"
    everyone = auth(f"{OPERATOR} outbox:admin:all", committee="sn-sydvast")
    assert (await client.post(url, json=body, headers=everyone)).status_code == 200
    (recorded,) = await actions(db)
    assert recorded.actor_committee == "sn-sydvast", "who acted, from which committee"


async def test_skipping_a_registration_skips_the_rest_of_the_case_which_could_not_arrive_without_it(
    client, auth, db
) -> None:
    sim, clock = in_process_simulator(), FakeClock()
    skipped_case, other_case = str(uuid.uuid4()), str(uuid.uuid4())
    await insert_events(db, case_events(0, skipped_case, notes=2) + case_events(1, other_case, notes=1))
    refused = JournalPermanentError("refused", status=422, problem_type=REFUSED)
    await drain(dispatcher(db, Flaky(sim.journal, {"register_case": [refused]}), clock=clock), clock=clock)
    registration = (await rows(db))[0]
    assert registration.status == "dead"

    body = {"reason": "not_for_journal", "note": "Registrerad i fel enhet"}
    response = await client.post(f"/v1/outbox/{registration.id}/skip", json=body, headers=auth(OPERATOR))
    assert response.status_code == 200, response.text
    by_case: dict[str, list[str]] = {}
    for event in await rows(db):
        by_case.setdefault(event.aggregate_id, []).append(event.status)
    assert by_case[skipped_case] == ["skipped"] * 4
    assert set(by_case[other_case]) == {"delivered"}
    recorded = await actions(db)
    assert len(recorded) == 4 and {a.reason for a in recorded} == {"not_for_journal"}
    assert [a.status_before for a in recorded].count("dead") == 1
    await drain(dispatcher(db, sim.journal, clock=clock), clock=clock)
    assert len((await sim.state())["cases"]) == 1, "the skipped case never reached the journal system"
    await sim.aclose()


async def test_an_event_whose_worker_died_can_be_skipped_but_not_one_being_delivered(client, auth, db) -> None:
    ids = await insert_events(db, case_events(0, str(uuid.uuid4()), notes=1))
    claim = await dispatcher(db, None).claim()  # a worker holds the case now
    assert claim is not None
    response = await client.post(f"/v1/outbox/{ids[0]}/skip", json={"reason": "other"}, headers=auth(OPERATOR))
    assert response.status_code == 409 and response.json()["type"] == "/problems/outbox-event-not-skippable"
    async with db.sessions() as session, session.begin():  # the worker died: its lease ran out
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await session.execute(update(OutboxEvent).values(lease_expires_at=past))
    response = await client.post(f"/v1/outbox/{ids[0]}/skip", json={"reason": "other"}, headers=auth(OPERATOR))
    assert response.status_code == 200 and response.json()["actions"][0]["status_before"] == "in_flight"
    assert (await rows(db))[0].lease_token is None


# --- retry after an edit ---------------------------------------------------------------------------


async def test_a_retry_reencodes_an_event_written_before_the_limits_so_that_it_arrives(client, auth, db) -> None:
    sim, clock, case_id = in_process_simulator(), FakeClock(), str(uuid.uuid4())
    registered, *_ = case_events(0, case_id, notes=0, close=False)
    legacy_closing = {  # as the service wrote it when it still accepted 20,000 characters here
        "case_id": case_id,
        "closing": {
            "closed_on": "2026-11-20",
            "reason": "ended_early",
            "disposal_due_on": "2031-11-20",
            "early_termination_reason": "å" * 20_000,
        },
        "entry": {"kind": "closing", "occurred_on": "2026-11-20", "text": "Orsak till avbrott: " + "å" * 25_000},
    }
    ids = await insert_events(db, [registered, ("case", case_id, "case.closed", legacy_closing)])
    d = dispatcher(db, sim.journal, clock=clock)
    await drain(d, clock=clock)
    assert [e.status for e in await rows(db)] == ["delivered", "dead"]

    plain = await client.post(f"/v1/outbox/{ids[1]}/retry", headers=auth(OPERATOR))
    assert plain.status_code == 200 and plain.json()["actions"][0]["reason"] is None
    await drain(d, clock=clock)
    assert (await rows(db))[1].status == "dead", "sent as it was, refused as before"

    body = {"reencode": True, "reason": "data_corrected", "note": "Äldre händelse, anpassad till kontraktet"}
    retried = await client.post(f"/v1/outbox/{ids[1]}/retry", json=body, headers=auth(OPERATOR))
    assert retried.status_code == 200, retried.text
    last = retried.json()["actions"][-1]
    assert (last["action"], last["reencoded"], last["payload_changed"]) == ("retry", True, True)
    assert len(retried.json()["actions"]) == 2
    await drain(d, clock=clock)
    assert [e.status for e in await rows(db)] == ["delivered", "delivered"]
    (case,) = (await sim.state())["cases"]
    reason = case["closing"]["early_termination_reason"]
    assert len(reason) == limits.EARLY_TERMINATION_REASON_MAX and reason.endswith(limits.TRUNCATION_MARK)
    assert len(case["entries"][-1]["text"]) == limits.ENTRY_TEXT_MAX
    await sim.aclose()


async def test_a_retry_after_correcting_the_plan_through_the_api_sends_the_plan_as_it_is_now(client, auth, db) -> None:
    sim, clock = in_process_simulator(), FakeClock()
    d = dispatcher(db, sim.journal, clock=clock)
    case = await open_identified_case(client, auth)
    await drain(d, clock=clock)
    case_url = f"/v1/cases/{case['id']}"
    assert (await client.put(f"{case_url}/plan", json=plan(), headers=auth(CASE_WRITE))).status_code == 200
    async with db.sessions() as session, session.begin():  # a plan written before the limits applied
        event = await session.scalar(select(OutboxEvent).where(OutboxEvent.kind == "case.plan_set"))
        assert event is not None
        event.payload = {**event.payload, "plan": {**event.payload["plan"], "responsible_contact": "K" * 2_000}}
    await drain(d, clock=clock)
    dead = next(e for e in await rows(db) if e.kind == "case.plan_set")
    assert dead.status == "dead"

    corrected = plan(responsible_contact="Kontakt B, Skyddat boende Väster")
    assert (await client.put(f"{case_url}/plan", json=corrected, headers=auth(CASE_WRITE))).status_code == 200
    body = {"reencode": True, "reason": "data_corrected"}
    retried = await client.post(f"/v1/outbox/{dead.id}/retry", json=body, headers=auth(OPERATOR))
    assert retried.status_code == 200 and retried.json()["actions"][0]["payload_changed"] is True
    await drain(d, clock=clock)
    assert {e.status for e in await rows(db)} == {"delivered"}
    (journal_case,) = (await sim.state())["cases"]
    assert journal_case["plan"]["responsible_contact"] == "Kontakt B, Skyddat boende Väster"
    assert [h.split(":")[0] for h in journal_case["history"]].count("plan") == 2
    await sim.aclose()


# --- a poison event ---------------------------------------------------------------------------------


class WorkerCrash(BaseException):
    """What an out-of-memory kill or a segfault is to the dispatcher: nothing after it runs."""


class Poisoned:
    """The simulator, except that one entry kills the worker that sends it."""

    def __init__(self, inner: Any, poison_text: str) -> None:
        self.inner, self.poison_text, self.crashes = inner, poison_text, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def add_journal_entry(self, key: str, case_ref: str, entry: Any) -> str:
        if entry.text == self.poison_text:
            self.crashes += 1
            raise WorkerCrash
        return str(await self.inner.add_journal_entry(key, case_ref, entry))


async def test_an_event_that_crashes_its_worker_every_time_is_dead_lettered_after_the_attempt_limit(
    client, auth, db
) -> None:
    sim, clock, case_id = in_process_simulator(), FakeClock(), str(uuid.uuid4())
    await insert_events(db, case_events(0, case_id, notes=2, close=False))  # registration, note 1, note 2
    journal = Poisoned(sim.journal, "Samtal 1 genomfört.")
    for _ in range(20):
        worker = dispatcher(db, journal, clock=clock, max_attempts=3, lease_seconds=10, event_timeout=2)
        try:
            await worker.run_once()
        except WorkerCrash:
            clock.advance(11)  # the worker is gone; its lease runs out
        if (await rows(db))[1].status == "dead":
            break
    registration, poison, behind = await rows(db)
    assert poison.status == "dead" and poison.attempts == 3
    assert poison.last_error == "LeaseExpired (after 3 attempts)"
    assert journal.crashes == 3, "tried exactly max_attempts times"
    assert registration.status == "delivered", "the innocent head of the crashed run arrived (a replay)"
    assert behind.status == "in_flight" and behind.attempts == 0, "waits behind the dead event"
    async with db.sessions() as session:
        assert (await journal_status(session, "case", [case_id]))[case_id][0] == "failed"
    assert "iub_outbox_dead_letters 1.0" in (await client.get("/metrics")).text

    skip = {"reason": "entered_manually"}
    assert (await client.post(f"/v1/outbox/{poison.id}/skip", json=skip, headers=auth(OPERATOR))).status_code == 200
    await drain(dispatcher(db, journal, clock=clock, max_attempts=3), clock=clock)
    assert [e.status for e in await rows(db)] == ["delivered", "skipped", "delivered"]
    assert (await rows(db))[2].attempts == 2, "the crashed run counted once, then it arrived"
    (case,) = (await sim.state())["cases"]
    assert [e["text"] for e in case["entries"]] == ["Samtal 2 genomfört."]
    await sim.aclose()


# --- shown in /metrics ----------------------------------------------------------------------------------


async def test_metrics_show_skipped_events_and_operators_actions_without_ids(client, auth, db) -> None:
    sim, clock, case_id = in_process_simulator(), FakeClock(), str(uuid.uuid4())
    events = await dead_note(db, sim, clock, case_id)
    dead = events[1]
    before = (await client.get("/metrics")).text
    assert "iub_outbox_skipped 0.0" in before
    headers = auth(OPERATOR, sub="operator-42")
    await client.post(f"/v1/outbox/{dead.id}/retry", json={"reason": "journal_system_fixed"}, headers=headers)
    await client.post(f"/v1/outbox/{dead.id}/skip", json={"reason": "superseded"}, headers=headers)
    text = (await client.get("/metrics")).text
    assert "iub_outbox_skipped 1.0" in text
    assert 'iub_outbox_operator_actions_total{action="retry",reason="journal_system_fixed"} 1.0' in text
    assert 'iub_outbox_operator_actions_total{action="skip",reason="superseded"} 1.0' in text
    for value in (case_id, *(e.id for e in events), "operator-42"):
        assert value not in text
    await sim.aclose()
