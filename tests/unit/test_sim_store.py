"""The simulator's memory stays flat: it keeps the most recently used records, and a record it let
go of still takes writes (its ref was handed out), so a long drain never fails for its sake; it
keeps the most recent idempotency records."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from app.journal.sim_store import (
    MAX_ENTRIES,
    CaseRegistrationIn,
    JournalEntryIn,
    PersonUpsertIn,
    SimProblem,
    SimStore,
)
from app.journal.simulator import create_simulator_app

# Skatteverket's test personnummer.
PNRS = ["199003012391", "198507012394", "195201161857", "194401012390", "200504012394"]


def registration(person_ref: str) -> CaseRegistrationIn:
    return CaseRegistrationIn(
        case_type="IFO Registrering IUB",
        person_ref=person_ref,
        unit="unit-a",
        intervention={"id": "skyddat-boende-vuxna", "name": "Skyddat boende"},  # type: ignore[arg-type]
        registered_until="until_further_notice",
        process_steps=3,
        opened_on=dt.date(2026, 9, 1),
        documentation_basis="standard",
    )


ENTRY = JournalEntryIn(kind="execution", occurred_on=dt.date(2026, 9, 2), text="Samtal.")


def test_it_keeps_at_most_max_records_of_each_kind_the_most_recently_used() -> None:
    store = SimStore(max_records=3)
    people = [store.upsert_person(PersonUpsertIn(personnummer=p, name="Test"))[1]["person_ref"] for p in PNRS]
    cases = [store.register_case(registration(people[-1]))[1]["case_ref"] for _ in range(3)]
    store.add_entry(cases[0], ENTRY)  # the oldest case is used again: it stays
    store.register_case(registration(people[-1]))
    assert len(store.persons) == 3 and len(store.cases) == 3 and len(store.by_personnummer) == 3
    assert cases[0] in store.cases and cases[1] not in store.cases


def test_a_record_let_go_of_still_takes_writes_but_unknown_refs_are_404() -> None:
    store = SimStore(max_records=1)
    first = store.upsert_person(PersonUpsertIn(personnummer=PNRS[0], name="Test"))[1]["person_ref"]
    store.upsert_person(PersonUpsertIn(personnummer=PNRS[1], name="Test"))
    case_ref = store.register_case(registration(first))[1]["case_ref"]  # the person is a stub now
    store.register_case(registration(first))
    status, entry = store.add_entry(case_ref, ENTRY)  # the case was let go of
    assert status == 201 and entry["case_ref"] == case_ref
    with pytest.raises(SimProblem) as missing:
        store.add_entry("C9999999", ENTRY)
    assert missing.value.status == 404
    with pytest.raises(SimProblem):
        store.get_person("P9999999")


def test_a_case_keeps_its_last_entries() -> None:
    store = SimStore()
    person = store.upsert_person(PersonUpsertIn(personnummer=PNRS[0], name="Test"))[1]["person_ref"]
    case_ref = store.register_case(registration(person))[1]["case_ref"]
    for _ in range(MAX_ENTRIES + 10):
        store.add_entry(case_ref, ENTRY)
    assert len(store.cases[case_ref].entries) == MAX_ENTRIES
    assert len(store.cases[case_ref].history) == MAX_ENTRIES


async def test_it_keeps_the_most_recent_idempotency_records() -> None:
    app = create_simulator_app(max_keys=2)
    body = {"personnummer": PNRS[0], "name": "Testperson"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        for key in ("k1", "k2", "k3", "k3", "k2"):  # k3 and k2 replay; k1 was let go of
            response = await client.post("/persons", json=body, headers={"Idempotency-Key": key})
            assert response.status_code in (200, 201)
        counters = app.state.simulator.counters
        assert counters["writes_applied"] == 3 and counters["replays"] == 2
        assert list(app.state.simulator._keys) == ["k2", "k3"]
        await client.post("/persons", json=body, headers={"Idempotency-Key": "k1"})  # taken as new
        assert counters["writes_applied"] == 4
