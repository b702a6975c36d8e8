"""The journal-system contract, the simulator that implements it and the adapter that uses it.

(a) the contract is valid OpenAPI 3.1 and its examples match their schemas; (b) every
request the adapter makes, and (c) every simulator response, errors included, validates
against it; (d) idempotency; (e) each fault mode and its mapping to the port's errors;
(f) Retry-After. In-process through `httpx.ASGITransport`, plus one real uvicorn server for
what only a socket shows (client timeouts).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from app.journal.http_adapter import HttpJournalSystem, parse_retry_after
from app.journal.port import (
    CaseClosing,
    CaseDisposed,
    CaseRegistration,
    ClosingReason,
    EntryKind,
    InterventionPlan,
    JournalEntry,
    JournalPermanentError,
    JournalSystem,
    JournalTransientError,
    PersonContactUpdate,
    PersonRecord,
    PlanPersonal,
    derive_key,
)
from app.journal.simulator import SimulatorFaults, create_simulator_app
from tests.contract.journal_harness import (
    CONTRACT_PATH,
    TEST_PERSONNUMMER_FILE,
    ValidatingTransport,
    contract_dict,
)

# Skatteverket test personnummer.
CHILD = PersonRecord("201004082382", "Alva Testsson", address="Testgatan 1, 414 51 Göteborg")
GUARDIAN = PersonRecord(
    "198101022393",
    "Kim Testsson",
    address="Skyddad adress 7",
    phone="+46 31 00 00 00",
    protected_identity=True,
)
ADULT = PersonRecord("199410042387", "Robin Testsson", email="robin@example.se")

REGISTRATION = CaseRegistration(
    person=CHILD,
    guardian=GUARDIAN,
    unit="sn-sydvast-familjestod",
    intervention_id="familjebehandling-kort",
    intervention_name="Familjebehandling, kortare insats",
    process_steps=3,
    opened_on=dt.date(2025, 9, 1),
)
ENTRY = JournalEntry(EntryKind.planning, dt.date(2025, 9, 1), "Planeringssamtal med vårdnadshavare.")
PLAN = InterventionPlan(
    starts_on=dt.date(2025, 9, 1),
    follow_up_on=dt.date(2025, 10, 15),
    description="Familjebehandling, kortare insats",
    responsible_contact="Familjestöd Sydväst",
    goals="Färre konflikter vid läggdags.",
    frequency="1 gång/vecka",
    personal=PlanPersonal(next_of_kin="Moster"),
)
CLOSING = CaseClosing(
    closed_on=dt.date(2025, 11, 20),
    reason=ClosingReason.ended_early,
    early_termination_reason="Familjen flyttade.",
    disposal_due_on=dt.date(2030, 11, 20),
)
TWELVE_DIGITS = re.compile(r"(?<!\d)\d{12}(?!\d)")


def new_key() -> str:
    return str(uuid.uuid4())


class Rig:
    """A simulator app, a validating client on it and the adapter over that client."""

    def __init__(self, faults: SimulatorFaults | None = None) -> None:
        self.transport = ValidatingTransport(httpx.ASGITransport(create_simulator_app(faults)))
        self.client = httpx.AsyncClient(transport=self.transport, base_url="http://journal.test")
        self.journal: JournalSystem = HttpJournalSystem(self.client)

    async def faults(self, **settings: Any) -> None:
        response = await self.client.put("/_sim/faults", json=settings)
        assert response.status_code == 200, response.text

    async def state(self) -> dict[str, Any]:
        return (await self.client.get("/_sim/state")).json()  # type: ignore[no-any-return]

    async def write(self, method: str, path: str, body: Any, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return await self.client.request(method, path, json=body, headers=headers)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    yield r
    await r.client.aclose()
    assert r.transport.errors() == []


async def open_case(journal: JournalSystem) -> tuple[str, str]:
    person_ref = await journal.upsert_person(new_key(), CHILD)
    return person_ref, await journal.register_case(new_key(), REGISTRATION, person_ref)


# (a) The contract ---------------------------------------------------------------------------


def test_contract_is_valid_openapi_3_1() -> None:
    spec = contract_dict()
    assert spec["openapi"].startswith("3.1")
    validate_spec(spec)


def _examples(node: Any, pointer: str) -> Iterator[tuple[str, str, Any]]:
    """(schema pointer, example pointer, value) for every media-type example in the contract."""
    if isinstance(node, dict):
        if "schema" in node and ("examples" in node or "example" in node):
            for name, ex in node.get("examples", {}).items():
                yield f"{pointer}/schema", f"{pointer}/examples/{name}", ex["value"]
            if "example" in node:
                yield f"{pointer}/schema", f"{pointer}/example", node["example"]
        for k, v in node.items():
            yield from _examples(v, f"{pointer}/{str(k).replace('~', '~0').replace('/', '~1')}")


def test_every_example_matches_its_schema() -> None:
    spec = contract_dict()
    registry: Registry[Any] = Registry().with_resource(
        "urn:contract", Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    found = list(_examples(spec, ""))
    assert len(found) >= 15
    for schema_at, example_at, value in found:
        validator = Draft202012Validator(
            {"$ref": f"urn:contract#{schema_at}"}, registry=registry, format_checker=FormatChecker()
        )
        errors = [e.message for e in validator.iter_errors(value)]
        assert errors == [], example_at


def test_contract_uses_only_official_test_personnummer() -> None:
    if not TEST_PERSONNUMMER_FILE.exists():
        pytest.skip("Skatteverket's test personnummer list is not beside the repository")
    official = set(TEST_PERSONNUMMER_FILE.read_text().split())
    used = set(TWELVE_DIGITS.findall(CONTRACT_PATH.read_text(encoding="utf-8")))
    assert used and used <= official


# (b) Every adapter request validates against the contract ----------------------------------


DISPOSED = CaseDisposed(
    disposed_on=dt.date(2031, 2, 3),
    action="archive_transfer",
    rule="sol_16_4_research_all",
    archive_package="iub-sn-sydvast-20310203-1a2b3c4d-000000001.zip",
)


async def test_adapter_lifecycle_validates_and_keeps_identity_out_of_urls(rig: Rig) -> None:
    key = new_key()
    # One event id may drive several methods: the adapter derives a key per operation.
    person_ref = await rig.journal.upsert_person(key, CHILD)
    case_ref = await rig.journal.register_case(key, REGISTRATION, person_ref)
    await rig.journal.update_person(new_key(), person_ref, PersonContactUpdate("Alva Testsson", phone="+46 31 1"))
    entry_ref = await rig.journal.add_journal_entry(new_key(), case_ref, ENTRY)
    await rig.journal.put_plan(new_key(), case_ref, PLAN)
    await rig.journal.close_case(new_key(), case_ref, CLOSING)
    await rig.journal.record_disposed(new_key(), case_ref, DISPOSED)

    exchanges = rig.transport.exchanges
    assert {(e.method, e.status) for e in exchanges} == {
        ("POST", 201),
        ("PATCH", 200),
        ("PUT", 200),
        ("POST", 200),
    }
    assert all(not TWELVE_DIGITS.search(e.url) for e in exchanges)
    carrying_identity = {e.url for e in exchanges if b"201004082382" in e.request_body}
    assert carrying_identity == {"http://journal.test/persons"}

    state = await rig.state()
    [case] = state["cases"]
    assert case["case_ref"] == case_ref and case["status"] == "closed"
    assert case["person_ref"] == person_ref
    guardian = next(p for p in state["persons"] if p["personnummer"] == GUARDIAN.personnummer)
    assert case["guardian_ref"] == guardian["person_ref"]
    assert [e["entry_ref"] for e in case["entries"]] == [entry_ref]
    assert case["history"] == ["registered", f"entry:{entry_ref}", "plan:1", "closing", "disposed"]
    assert case["closing"]["disposal_due_on"] == "2030-11-20"
    assert case["disposed"] == {
        "disposed_on": "2031-02-03",
        "action": "archive_transfer",
        "rule": "sol_16_4_research_all",
        "archive_package": "iub-sn-sydvast-20310203-1a2b3c4d-000000001.zip",
    }
    assert case["plan"]["personal"] == {"next_of_kin": "Moster"}


async def test_harness_catches_a_request_that_breaks_the_contract() -> None:
    r = Rig()
    await r.write("POST", "/persons", {"personnummer": CHILD.personnummer, "name": "A", "shoe": 42}, new_key())
    [exchange] = r.transport.exchanges
    assert exchange.status == 422 and any("shoe" in e for e in exchange.request_errors)
    await r.client.aclose()


# (c) Simulator responses, errors included, validate ----------------------------------------


async def test_error_responses_are_problem_documents_in_the_contract() -> None:
    r = Rig()
    _, case_ref = await open_case(r.journal)
    await r.journal.close_case(new_key(), case_ref, CLOSING)
    entry = {"kind": "event", "occurred_on": "2025-09-02", "text": "x"}
    bad_closing = {"closed_on": "2025-11-20", "reason": "ended_early", "disposal_due_on": "2030-11-20"}

    key = new_key()
    await r.write("POST", "/persons", {"personnummer": ADULT.personnummer, "name": "R"}, key)
    expected = {
        400: await r.write("POST", "/persons", {"personnummer": ADULT.personnummer, "name": "R"}),
        404: await r.write("POST", "/cases/C9999999/journal-entries", entry, new_key()),
        409: await r.write("POST", f"/cases/{case_ref}/journal-entries", entry, new_key()),
        422: await r.write("POST", "/cases/C9999999/closing", bad_closing, new_key()),
    }
    reused = await r.write("POST", "/persons", {"personnummer": ADULT.personnummer, "name": "Other"}, key)
    malformed = await r.client.post("/persons", content=b"{", headers={"Idempotency-Key": new_key()})
    await r.faults(failure_rate=1.0, seed=3)
    failures = [await r.client.get(f"/cases/{case_ref}") for _ in range(6)]
    await r.faults(timeout_rate=1.0, timeout_seconds=0.001)
    timed_out = await r.write("POST", f"/cases/{case_ref}/journal-entries", entry, new_key())

    for status, response in expected.items():
        assert response.status_code == status
    assert reused.status_code == 422 and reused.json()["type"].endswith("/idempotency-key-reused")
    assert malformed.status_code == 400
    assert expected[422].json()["errors"][0]["pointer"] == "/"
    assert {f.status_code for f in failures} == {500, 503}
    assert all("retry-after" in f.headers for f in failures if f.status_code == 503)
    assert timed_out.status_code == 504
    problems = [*expected.values(), reused, malformed, *failures, timed_out]
    assert all(p.headers["content-type"] == "application/problem+json" for p in problems)
    # The missing key is the client's contract violation, not the simulator's.
    for exchange in r.transport.exchanges:
        assert exchange.response_errors == [], exchange.url
        assert exchange.request_errors == [] or exchange.status in (400, 422)
    await r.client.aclose()


async def test_protected_identity_never_returns_the_address(rig: Rig) -> None:
    ref = await rig.journal.upsert_person(new_key(), GUARDIAN)
    person = (await rig.client.get(f"/persons/{ref}")).json()
    assert "address" not in person and person["protected_identity"] is True
    # An upsert never lowers protection nor clears data; a PATCH does what it says.
    unprotected = PersonRecord(GUARDIAN.personnummer, GUARDIAN.name, protected_identity=False)
    assert await rig.journal.upsert_person(new_key(), unprotected) == ref
    person = (await rig.client.get(f"/persons/{ref}")).json()
    assert person["protected_identity"] is True and person["phone"] == GUARDIAN.phone
    await rig.journal.update_person(new_key(), ref, PersonContactUpdate(GUARDIAN.name, address="Ny väg 2"))
    person = (await rig.client.get(f"/persons/{ref}")).json()
    assert person["address"] == "Ny väg 2" and person["phone"] is None


# (d) Idempotency ---------------------------------------------------------------------------


async def test_replay_returns_the_first_result_and_writes_once(rig: Rig) -> None:
    key = new_key()
    person_ref = await rig.journal.upsert_person(key, ADULT)
    assert await rig.journal.upsert_person(key, ADULT) == person_ref
    registration = CaseRegistration(ADULT, "enhet-vuxen", "samtal", "Stödsamtal", 5, dt.date(2025, 9, 1))
    case_ref = await rig.journal.register_case(key, registration, person_ref)
    assert await rig.journal.register_case(key, registration, person_ref) == case_ref
    entry_key = new_key()
    entry_ref = await rig.journal.add_journal_entry(entry_key, case_ref, ENTRY)
    assert await rig.journal.add_journal_entry(entry_key, case_ref, ENTRY) == entry_ref
    plan_key = new_key()
    await rig.journal.put_plan(plan_key, case_ref, PLAN)
    await rig.journal.put_plan(plan_key, case_ref, PLAN)

    state = await rig.state()
    assert len(state["persons"]) == 1 and len(state["cases"]) == 1
    assert len(state["cases"][0]["entries"]) == 1 and state["cases"][0]["plan"]["version"] == 1
    assert state["counters"]["writes_applied"] == 4 and state["counters"]["replays"] == 4
    replayed = [e for e in rig.transport.exchanges if e.status in (200, 201)]
    assert len(replayed) == 8


async def test_same_personnummer_is_the_same_person_whatever_the_key(rig: Rig) -> None:
    first = await rig.journal.upsert_person(new_key(), ADULT)
    assert await rig.journal.upsert_person(new_key(), ADULT) == first
    assert len((await rig.state())["persons"]) == 1


async def test_same_key_with_another_body_is_422_and_writes_nothing(rig: Rig) -> None:
    key = new_key()
    _, case_ref = await open_case(rig.journal)
    await rig.journal.add_journal_entry(key, case_ref, ENTRY)
    other = JournalEntry(EntryKind.event, ENTRY.occurred_on, "Något annat.")
    with pytest.raises(JournalPermanentError) as caught:
        await rig.journal.add_journal_entry(key, case_ref, other)
    assert caught.value.status == 422
    state = await rig.state()
    assert len(state["cases"][0]["entries"]) == 1
    assert state["counters"]["idempotency_conflicts"] == 1


async def test_a_replay_is_marked_and_byte_identical(rig: Rig) -> None:
    body = {"personnummer": ADULT.personnummer, "name": ADULT.name}
    key = new_key()
    first = await rig.write("POST", "/persons", body, key)
    # Same content, other key order: still the same request.
    again = await rig.client.post(
        "/persons",
        content=json.dumps({"name": ADULT.name, "personnummer": ADULT.personnummer}),
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers


def test_derived_keys_are_stable_and_distinct() -> None:
    key = "0b6a3c1e-7f64-4d0e-9a4b-2c1d8e3f4a5b"
    assert derive_key(key, "register_case") == derive_key(key, "register_case")
    assert len({derive_key(key, op) for op in ("upsert_person", "register_case", "guardian")}) == 3
    uuid.UUID(derive_key(key, "x"))


# (e) Faults and their mapping ----------------------------------------------------------------


async def test_failure_rate_fails_before_writing_and_is_transient() -> None:
    r = Rig(SimulatorFaults(failure_rate=1.0, seed=1))
    for _ in range(4):
        with pytest.raises(JournalTransientError) as caught:
            await r.journal.upsert_person(new_key(), ADULT)
        assert caught.value.status in (500, 503)
    state = await r.state()
    assert state["persons"] == [] and state["counters"]["faults_injected"]["failure"] == 4
    assert r.transport.errors() == []
    await r.client.aclose()


async def test_bursts_are_periodic_503s_with_retry_after() -> None:
    r = Rig(SimulatorFaults(burst_every=4, burst_length=2, retry_after_seconds=7))
    outcomes: list[float | str | None] = []
    for _ in range(8):
        try:
            await r.journal.upsert_person(new_key(), ADULT)
            outcomes.append("ok")
        except JournalTransientError as exc:
            assert exc.status == 503
            outcomes.append(exc.retry_after)
    assert outcomes == ["ok", "ok", 7.0, 7.0, "ok", "ok", 7.0, 7.0]
    assert r.transport.errors() == []
    await r.client.aclose()


async def test_timeout_writes_nothing_and_holds_the_key() -> None:
    r = Rig(SimulatorFaults(timeout_rate=1.0, timeout_seconds=0.2))
    key = new_key()
    hung = asyncio.create_task(r.journal.upsert_person(key, ADULT))
    await asyncio.sleep(0.05)
    with pytest.raises(JournalTransientError) as in_use:  # 409 idempotency-key-in-use: not yet
        await r.journal.upsert_person(key, ADULT)
    assert in_use.value.status == 409
    with pytest.raises(JournalTransientError) as timed_out:
        await hung
    assert timed_out.value.status == 504
    state = await r.state()
    assert state["persons"] == [] and state["counters"]["faults_injected"]["timeout"] == 1
    await r.faults()
    await r.journal.upsert_person(key, ADULT)
    assert len((await r.state())["persons"]) == 1
    assert r.transport.errors() == []
    await r.client.aclose()


async def test_drop_writes_then_fails_so_only_a_keyed_retry_avoids_duplicates() -> None:
    r = Rig(SimulatorFaults(drop_rate=1.0))
    key = new_key()
    with pytest.raises(JournalTransientError) as caught:
        await r.journal.upsert_person(key, ADULT)
    assert caught.value.status == 500
    written = (await r.state())["persons"]
    assert len(written) == 1  # the write happened although the client saw a failure

    # A naive client registers the case again under a fresh key: a duplicate.
    registration = CaseRegistration(ADULT, "enhet-vuxen", "samtal", "Stödsamtal", 3, ENTRY.occurred_on)
    for _ in range(2):
        with pytest.raises(JournalTransientError):
            await r.journal.register_case(new_key(), registration, written[0]["person_ref"])
    assert len((await r.state())["cases"]) == 2

    # The dispatcher retries with the same key: the stored response is replayed.
    await r.faults()
    assert await r.journal.upsert_person(key, ADULT) == written[0]["person_ref"]
    state = await r.state()
    assert len(state["persons"]) == 1 and state["counters"]["replays"] == 1
    assert state["counters"]["faults_injected"]["drop"] == 3
    assert r.transport.errors() == []
    await r.client.aclose()


async def test_latency_delays_every_request() -> None:
    r = Rig(SimulatorFaults(latency_ms=30))
    started = time.perf_counter()
    await r.journal.upsert_person(new_key(), ADULT)
    assert time.perf_counter() - started >= 0.03
    await r.client.aclose()


async def test_exactly_once_under_every_fault_with_keyed_retries() -> None:
    """A dispatcher-like loop (retry transient errors with the same key) ends in the exact
    state a fault-free run gives, for several seeds."""
    for seed in range(5):
        faults = SimulatorFaults(
            failure_rate=0.2, drop_rate=0.3, timeout_rate=0.1, timeout_seconds=0.0, burst_every=7,
            burst_length=1, seed=seed,
        )  # fmt: skip
        r = Rig(faults)
        attempts = 0

        async def deliver(call: Any, *args: Any) -> Any:
            nonlocal attempts
            key = new_key()
            for _ in range(50):
                attempts += 1
                try:
                    return await call(key, *args)
                except JournalTransientError:
                    continue
            raise AssertionError("never delivered")

        person_ref = await deliver(r.journal.upsert_person, CHILD)
        case_ref = await deliver(r.journal.register_case, REGISTRATION, person_ref)
        texts = [f"Anteckning {i}." for i in range(5)]
        for text in texts:
            await deliver(
                r.journal.add_journal_entry,
                case_ref,
                JournalEntry(EntryKind.execution, ENTRY.occurred_on, text),
            )
        await deliver(r.journal.put_plan, case_ref, PLAN)
        await deliver(r.journal.close_case, case_ref, CLOSING)

        state = await r.state()
        assert len(state["persons"]) == 2 and len(state["cases"]) == 1, seed
        case = state["cases"][0]
        assert [e["text"] for e in case["entries"]] == texts
        assert case["plan"]["version"] == 1 and case["status"] == "closed"
        assert attempts > 9 and sum(state["counters"]["faults_injected"].values()) > 0
        assert r.transport.errors() == []
        await r.client.aclose()


async def test_faults_are_reproducible_from_the_seed() -> None:
    async def statuses(seed: int) -> list[int]:
        r = Rig(SimulatorFaults(failure_rate=0.5, seed=seed))
        out = [(await r.client.get("/persons/P0000001")).status_code for _ in range(20)]
        await r.client.aclose()
        return out

    assert await statuses(11) == await statuses(11)
    assert await statuses(11) != await statuses(12)


async def test_fault_settings_are_validated(rig: Rig) -> None:
    response = await rig.client.put("/_sim/faults", json={"failure_rate": 2})
    assert response.status_code == 422
    response = await rig.client.put("/_sim/faults", json={"burst_every": 2, "burst_length": 3})
    assert response.status_code == 422
    assert (await rig.client.get("/_sim/faults")).json()["failure_rate"] == 0.0


async def test_reset_empties_the_state(rig: Rig) -> None:
    await open_case(rig.journal)
    assert (await rig.client.post("/_sim/reset")).status_code == 204
    state = await rig.state()
    assert state["persons"] == [] and state["cases"] == [] and state["counters"]["writes_applied"] == 0


async def test_not_found_closed_and_invalid_are_permanent(rig: Rig) -> None:
    _, case_ref = await open_case(rig.journal)
    await rig.journal.close_case(new_key(), case_ref, CLOSING)
    with pytest.raises(JournalPermanentError) as closed:
        await rig.journal.add_journal_entry(new_key(), case_ref, ENTRY)
    with pytest.raises(JournalPermanentError) as missing:
        await rig.journal.put_plan(new_key(), "C9999999", PLAN)
    with pytest.raises(JournalPermanentError) as unknown_person:
        await rig.journal.register_case(new_key(), REGISTRATION, "P9999999")
    assert closed.value.status == 409 and closed.value.problem_type is not None
    assert closed.value.problem_type.endswith("/case-closed")
    assert missing.value.status == 404 and unknown_person.value.status == 404


def _mock(status: int, body: Any = None, headers: dict[str, str] | None = None) -> HttpJournalSystem:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://journal.test")
    return HttpJournalSystem(client, now=lambda: dt.datetime(2025, 9, 1, 12, 0, tzinfo=dt.UTC))


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
async def test_transient_statuses(status: int) -> None:
    with pytest.raises(JournalTransientError) as caught:
        await _mock(status, {"type": "about:blank", "title": "x", "status": status}).upsert_person(new_key(), ADULT)
    assert caught.value.status == status


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 413, 422])
async def test_permanent_statuses(status: int) -> None:
    with pytest.raises(JournalPermanentError) as caught:
        await _mock(status, {"type": "about:blank", "title": "x", "status": status}).upsert_person(new_key(), ADULT)
    assert caught.value.status == status


async def test_key_in_use_conflict_is_transient() -> None:
    problem = {
        "type": "https://journal.example.se/problems/idempotency-key-in-use",
        "title": "t",
        "status": 409,
    }
    with pytest.raises(JournalTransientError):
        await _mock(409, problem).upsert_person(new_key(), ADULT)


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("cut")]
)
async def test_no_response_is_transient(exc: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://journal.test")
    with pytest.raises(JournalTransientError) as caught:
        await HttpJournalSystem(client).upsert_person(new_key(), ADULT)
    assert caught.value.status is None and caught.value.retry_after is None


async def test_a_success_without_a_ref_is_permanent() -> None:
    with pytest.raises(JournalPermanentError):
        await _mock(201, {"unexpected": True}).upsert_person(new_key(), ADULT)
    with pytest.raises(JournalPermanentError):
        await _mock(201, ["not", "an", "object"]).upsert_person(new_key(), ADULT)


async def test_error_messages_never_carry_a_personnummer() -> None:
    problem = {
        "type": "about:blank",
        "title": "Invalid",
        "status": 422,
        "detail": "Bad 201004082382 / 20100408-2382",
    }
    with pytest.raises(JournalPermanentError) as caught:
        await _mock(422, problem).upsert_person(new_key(), CHILD)
    assert "2382" not in str(caught.value) and "[personnummer]" in str(caught.value)


# (f) Retry-After ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        ("Mon, 01 Sep 2025 12:02:00 GMT", 120.0),
        ("Mon, 01 Sep 2025 11:00:00 GMT", 0.0),
        ("soon", None),
        (None, None),
    ],
)
async def test_retry_after_seconds_or_http_date(value: str | None, seconds: float | None) -> None:
    headers = {"Retry-After": value} if value else {}
    with pytest.raises(JournalTransientError) as caught:
        await _mock(503, {"type": "about:blank", "title": "x", "status": 503}, headers).upsert_person(new_key(), ADULT)
    assert caught.value.retry_after == seconds


def test_parse_retry_after_naive_date_is_utc() -> None:
    now = dt.datetime(2025, 9, 1, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after("Mon, 01 Sep 2025 12:00:30 -0000", now) == 30.0


# Over a real socket: what ASGITransport cannot show --------------------------------------------


@pytest.fixture(scope="module")
def live_sim() -> Iterator[str]:
    app = create_simulator_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(5)


async def test_over_uvicorn_timeout_and_drop_are_transient(live_sim: str) -> None:
    async with httpx.AsyncClient(base_url=live_sim, timeout=0.1) as client:
        journal = HttpJournalSystem(client)
        await client.post("/_sim/reset")
        await client.put("/_sim/faults", json={"timeout_rate": 1.0, "timeout_seconds": 1.0})
        key = new_key()
        with pytest.raises(JournalTransientError) as timed_out:
            await journal.upsert_person(key, ADULT)
        assert timed_out.value.status is None  # the client's own timeout: no response at all
        with pytest.raises(JournalTransientError) as in_use:  # the server still holds the key
            await journal.upsert_person(key, ADULT)
        assert in_use.value.status == 409

        await client.put("/_sim/faults", json={"drop_rate": 1.0})
        while True:  # until the hung request lets go of the key
            with pytest.raises(JournalTransientError) as dropped:
                await journal.upsert_person(key, ADULT)
            if dropped.value.status != 409:
                break
            await asyncio.sleep(0.05)
        assert dropped.value.status == 500
        await client.put("/_sim/faults", json={})
        ref = await journal.upsert_person(key, ADULT)
        state = (await client.get("/_sim/state")).json()
        assert [p["person_ref"] for p in state["persons"]] == [ref]
        assert state["counters"]["replays"] == 1
