"""The outbox dispatcher on SQLite and PostgreSQL: order per case, refs, retries, dead letters,
the lease guard, the admin API and the metrics."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid

import pytest

from app.core.db import Database
from app.journal.dispatcher import Dispatcher
from app.journal.links import journal_status
from app.journal.port import JournalPermanentError, JournalTransientError
from tests.integration.outbox_support import (
    TEST_PERSONNUMMER,
    FakeClock,
    Flaky,
    by_case_ref,
    case_events,
    dispatcher,
    drain,
    in_process_simulator,
    insert_events,
    links,
    person_id_for,
    person_update_event,
    rows,
)

pytestmark = pytest.mark.usefixtures("db")


async def test_cases_arrive_in_order_with_refs_stored(db: Database) -> None:
    sim = in_process_simulator()
    cases = [str(uuid.uuid4()) for _ in range(5)]
    events = [e for i, case_id in enumerate(cases) for e in case_events(i, case_id, notes=2, with_plan=True)]
    random.Random(7).shuffle(cases)  # interleave cases, keep each case's own order
    await insert_events(db, events)

    async with db.sessions() as session:
        before = await journal_status(session, "case", cases)
    assert {state for state, _ in before.values()} == {"pending"} and len(before) == 5

    delivered = await drain(dispatcher(db, sim.journal, batch_size=2, concurrency=2))
    assert delivered == len(events)

    state = await sim.state()
    assert len(state["cases"]) == 5
    found = await links(db)
    async with db.sessions() as session:
        status = await journal_status(session, "case", [*cases, str(uuid.uuid4())])
    assert len(status) == 5, "an id without events or link is absent"
    sim_cases = by_case_ref(state)
    for case_id in cases:
        sync, ref = status[case_id]
        assert sync == "delivered" and ref == found[("case", case_id)].external_ref
        case = sim_cases[ref]
        kinds = [h.split(":")[0] for h in case["history"]]
        assert kinds == ["registered", "entry", "entry", "plan", "entry", "closing"]
        assert [e["text"] for e in case["entries"]] == ["Samtal 1 genomfört.", "Samtal 2 genomfört.", "Avslut."]
    person_refs = {p["personnummer"]: p["person_ref"] for p in state["persons"]}
    for i in range(5):
        link = found[("person", person_id_for(i))]
        assert link.external_ref == person_refs[TEST_PERSONNUMMER[i]]
    assert all(r.status == "delivered" and r.attempts == 1 and r.lease_token is None for r in await rows(db))
    await sim.aclose()


async def test_person_update_waits_for_the_registration_then_uses_the_ref(db: Database) -> None:
    sim = in_process_simulator()
    clock = FakeClock()
    case_id = str(uuid.uuid4())
    # The person's update is written first; it cannot be sent before the registration gave a ref.
    await insert_events(db, [person_update_event(0), *case_events(0, case_id, notes=0, close=False)])
    d = dispatcher(db, sim.journal, clock=clock, backoff_base=1, backoff_cap=2)
    await d.run_once()
    first = {r.kind: r for r in await rows(db)}
    assert first["case.registered"].status == "delivered"
    assert first["person.updated"].status == "pending" and first["person.updated"].attempts == 1
    assert first["person.updated"].last_error == "JournalTransientError person-ref-unknown"
    await drain(d, clock=clock)
    person = (await sim.state())["persons"][0]
    assert person["name"] == "Testperson 0 Ny" and person["phone"] == "070-0000000"
    async with db.sessions() as session:
        assert (await journal_status(session, "person", [person_id_for(0)]))[person_id_for(0)][0] == "delivered"
    await sim.aclose()


async def test_transient_failure_backs_off_honouring_retry_after_and_keeps_order(db: Database) -> None:
    sim = in_process_simulator()
    clock = FakeClock()
    case_id = str(uuid.uuid4())
    await insert_events(db, case_events(0, case_id, notes=3))
    journal = Flaky(sim.journal, {"add_journal_entry": [JournalTransientError("busy", retry_after=40, status=503)]})
    d = dispatcher(db, journal, clock=clock, backoff_base=0.5, backoff_cap=10, rng=random.Random(1))

    assert await d.run_once() == 1  # the registration; the first entry failed, the rest released
    events = await rows(db)
    assert [e.status for e in events] == ["delivered", "pending", "pending", "pending", "pending"]
    assert events[1].attempts == 1 and events[2].attempts == 0
    assert events[1].last_error == "JournalTransientError HTTP 503"
    wait = (events[1].next_attempt_at.replace(tzinfo=dt.UTC) - clock()).total_seconds()
    assert 40 <= wait < 41, "Retry-After (40 s) wins over a smaller backoff"
    assert d.last_cycle.released == 3

    clock.advance(39)
    assert await d.run_once() == 0, "not before Retry-After; later events wait behind the head"
    clock.advance(2)
    assert await d.run_once() == 4
    case = (await sim.state())["cases"][0]
    assert [e["text"] for e in case["entries"]] == [
        "Samtal 1 genomfört.", "Samtal 2 genomfört.", "Samtal 3 genomfört.", "Avslut."
    ]  # fmt: skip
    assert case["history"][-1] == "closing"
    await sim.aclose()


def test_backoff_is_exponential_with_full_jitter_capped_and_never_below_retry_after() -> None:
    d = Dispatcher(None, None, backoff_base=0.5, backoff_cap=8, rng=random.Random(3))  # type: ignore[arg-type]
    for attempts in range(1, 12):
        ceiling = min(8, 0.5 * 2 ** (attempts - 1))
        samples = [d.backoff(attempts) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8  # jitter spans the range
    assert all(d.backoff(1, retry_after=30) >= 30 for _ in range(50))


async def test_permanent_error_dead_letters_blocks_the_case_until_an_admin_retries(db: Database, client, auth) -> None:
    sim = in_process_simulator()
    clock = FakeClock()
    blocked, other = str(uuid.uuid4()), str(uuid.uuid4())
    await insert_events(db, case_events(0, blocked, notes=2) + case_events(1, other, notes=1))
    problem = "https://journal.example.se/problems/validation"
    journal = Flaky(sim.journal, {"add_journal_entry": [JournalPermanentError("no", status=422, problem_type=problem)]})
    d = dispatcher(db, journal, clock=clock)
    await drain(d, clock=clock)

    events = await rows(db)
    by_case = {case_id: [e for e in events if e.aggregate_id == case_id] for case_id in (blocked, other)}
    assert [e.status for e in by_case[blocked]] == ["delivered", "dead", "pending", "pending"]
    dead = by_case[blocked][1]
    assert dead.attempts == 1 and dead.last_error == f"JournalPermanentError HTTP 422 {problem}"
    assert {e.status for e in by_case[other]} == {"delivered"}, "another case is not held up"
    async with db.sessions() as session:
        status = await journal_status(session, "case", [blocked, other])
    assert status[blocked][0] == "failed" and status[other][0] == "delivered"
    assert (await links(db))[("case", blocked)].sync_state == "failed"

    listed = await client.get("/v1/outbox", params={"status": "dead"}, headers=auth("outbox:admin"))
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [dead.id]
    assert "payload" not in listed.json()["items"][0]

    assert (await client.post(f"/v1/outbox/{dead.id}/retry", headers=auth("cases:read"))).status_code == 403
    retried = await client.post(f"/v1/outbox/{dead.id}/retry", headers=auth("outbox:admin"))
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending" and retried.json()["attempts"] == 0
    assert (await links(db))[("case", blocked)].sync_state == "pending"

    await drain(d, clock=clock)
    assert {e.status for e in await rows(db)} == {"delivered"}
    case = by_case_ref(await sim.state())[(await links(db))[("case", blocked)].external_ref]
    assert [e["text"] for e in case["entries"]] == ["Samtal 1 genomfört.", "Samtal 2 genomfört.", "Avslut."]
    assert (await links(db))[("case", blocked)].sync_state == "delivered"

    again = await client.post(f"/v1/outbox/{dead.id}/retry", headers=auth("outbox:admin"))
    assert again.status_code == 409 and again.json()["type"] == "/problems/outbox-event-not-retryable"
    missing = await client.post(f"/v1/outbox/{uuid.uuid4()}/retry", headers=auth("outbox:admin"))
    assert missing.status_code == 404
    await sim.aclose()


async def test_attempts_are_bounded_then_dead(db: Database) -> None:
    sim = in_process_simulator()
    clock = FakeClock()
    await insert_events(db, case_events(0, str(uuid.uuid4()), notes=0, close=False))
    journal = Flaky(sim.journal, {"upsert_person": [JournalTransientError("down", status=500) for _ in range(10)]})
    d = dispatcher(db, journal, clock=clock, max_attempts=3)
    await drain(d, clock=clock)
    (event,) = await rows(db)
    assert event.status == "dead" and event.attempts == 3
    assert event.last_error == "JournalTransientError HTTP 500 (after 3 attempts)"
    await sim.aclose()


async def test_an_expired_lease_cannot_complete_what_another_worker_took(db: Database) -> None:
    sim = in_process_simulator()
    clock = FakeClock()
    case_id = str(uuid.uuid4())
    await insert_events(db, case_events(0, case_id, notes=2))
    slow = dispatcher(db, sim.journal, clock=clock, lease_seconds=10, event_timeout=2, worker_id="slow")
    fast = dispatcher(db, sim.journal, clock=clock, lease_seconds=10, event_timeout=2, worker_id="fast")

    claim = await slow.claim()
    assert claim is not None and claim.size == 4
    assert await fast.claim() is None, "a leased aggregate is not claimed twice"
    outcomes, refs = await slow.deliver(claim)  # delivered, but the worker stalls before completing
    clock.advance(11)
    taken = await fast.claim()
    assert taken is not None and taken.size == 1, "a head whose lease expired is claimed alone"
    (head,) = [e for run in taken.runs.values() for e in run]
    assert head.reclaimed and head.attempts == 1, "the expired lease counts as an attempt"

    late = await slow.complete(claim, outcomes, refs)
    assert late.lease_lost == 1 and late.delivered == 3, "only what nobody else took"
    assert [e.status for e in await rows(db)] == ["in_flight", "delivered", "delivered", "delivered"]
    assert (await rows(db))[0].lease_token == taken.token, "the stale worker did not complete the head"

    outcomes, refs = await fast.deliver(taken)
    done = await fast.complete(taken, outcomes, refs)
    assert done.delivered == 1
    assert (await rows(db))[0].attempts == 2
    state = await sim.state()
    assert len(state["cases"]) == 1 and len(state["cases"][0]["entries"]) == 3, "the second delivery was a replay"
    assert state["counters"]["replays"] >= 1
    await sim.aclose()


async def test_a_run_stops_before_the_lease_would_expire(db: Database) -> None:
    sim = in_process_simulator()
    clock = FakeClock()
    await insert_events(db, case_events(0, str(uuid.uuid4()), notes=3))
    d = dispatcher(db, sim.journal, clock=clock, lease_seconds=10, event_timeout=2)
    claim = await d.claim()
    assert claim is not None
    clock.advance(7.5)  # past expiry (10) - event_timeout (2) - margin (1)
    outcomes, refs = await d.deliver(claim)
    assert {o.kind for o in outcomes} == {"released"}
    result = await d.complete(claim, outcomes, refs)
    assert result.released == 5 and {e.status for e in await rows(db)} == {"pending"}
    assert all(e.attempts == 0 for e in await rows(db))
    await sim.aclose()


async def test_admin_lists_events_by_status_with_a_cursor(db: Database, client, auth) -> None:
    ids = await insert_events(db, case_events(0, str(uuid.uuid4()), notes=3))
    headers = auth("outbox:admin")
    first = await client.get("/v1/outbox", params={"limit": 2, "status": "pending"}, headers=headers)
    assert first.status_code == 200
    page = first.json()
    assert [i["id"] for i in page["items"]] == ids[:2] and page["next_cursor"]
    second = await client.get("/v1/outbox", params={"limit": 10, "cursor": page["next_cursor"]}, headers=headers)
    assert [i["id"] for i in second.json()["items"]] == ids[2:] and second.json()["next_cursor"] is None
    item = second.json()["items"][0]
    assert set(item) == {
        "id", "aggregate_type", "aggregate_id", "kind", "status", "attempts",
        "next_attempt_at", "last_error", "created_at", "delivered_at", "actions",
    }  # fmt: skip
    assert item["actions"] == []
    assert (await client.get("/v1/outbox", params={"status": "delivered"}, headers=headers)).json()["items"] == []
    assert (await client.get("/v1/outbox", params={"cursor": "nonsense!"}, headers=headers)).status_code == 422
    assert (await client.get("/v1/outbox", params={"status": "lost"}, headers=headers)).status_code == 422
    assert (await client.get("/v1/outbox")).status_code == 401
    assert (await client.get("/v1/outbox", headers=auth("cases:read"))).status_code == 403


async def test_metrics_expose_backlog_age_and_dead_letters_without_ids(db: Database, client) -> None:
    sim = in_process_simulator()
    case_ids = [str(uuid.uuid4()) for _ in range(3)]
    event_ids = await insert_events(db, [e for i, c in enumerate(case_ids) for e in case_events(i, c, notes=1)])
    journal = Flaky(sim.journal, {"register_case": [JournalPermanentError("no", status=422)]})
    await dispatcher(db, journal).run_once()

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'iub_outbox_backlog{status="pending"} 2.0' in text  # the dead case's two later events
    assert 'iub_outbox_backlog{status="in_flight"} 0.0' in text
    assert 'iub_outbox_backlog{status="dead"} 1.0' in text
    assert "iub_outbox_dead_letters 1.0" in text
    assert "iub_outbox_oldest_pending_age_seconds" in text
    assert 'iub_outbox_deliveries_total{kind="case.registered"}' in text
    assert 'iub_outbox_failures_total{kind="case.registered",outcome="dead"}' in text
    for value in (*case_ids, *event_ids, *TEST_PERSONNUMMER):
        assert value not in text
    await sim.aclose()


async def test_the_app_runs_the_dispatcher_in_process_against_the_embedded_simulator(
    db: Database, database_url: str
) -> None:
    from app.main import create_app
    from tests.conftest import make_settings

    case_id = str(uuid.uuid4())
    await insert_events(db, case_events(0, case_id, notes=1))
    settings = make_settings(database_url, outbox_in_process=True, journal_base_url="embedded")
    application = create_app(settings, database=db)
    async with application.router.lifespan_context(application):
        for _ in range(100):
            async with db.sessions() as session:
                status = await journal_status(session, "case", [case_id])
            if status[case_id][0] == "delivered":
                break
            await asyncio.sleep(0.05)
    assert status[case_id][0] == "delivered" and status[case_id][1]
