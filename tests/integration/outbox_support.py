"""Helpers for the outbox tests: events written with `app.journal.events`, the simulator, a clock."""

from __future__ import annotations

import datetime as dt
import socket
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import insert, select

from app.core.db import Database
from app.journal import events
from app.journal.dispatcher import Dispatcher
from app.journal.http_adapter import HttpJournalSystem
from app.journal.models import JournalLink, OutboxEvent
from app.journal.port import (
    CaseClosing,
    CaseRegistration,
    ClosingReason,
    EntryKind,
    InterventionPlan,
    JournalEntry,
    PersonContactUpdate,
    PersonRecord,
)
from app.journal.simulator import SimulatorFaults, create_simulator_app

# Skatteverket's test personnummer (never real people).
TEST_PERSONNUMMER = (
    "202003242381", "201802132389", "202202112385", "202205192392", "201805142385",
    "202208142394", "202209222393", "202211142381", "201906092380", "201809142399",
    "201812202396", "201910132388", "201701182386", "201703192391", "201504222389",
    "202301192395", "201509172381", "201512232396", "202305092385", "202307202388",
)  # fmt: skip

OPENED = dt.date(2026, 11, 2)


class FakeClock:
    """A clock that starts just after the real time (so events written now are due) and moves
    only when told."""

    def __init__(self) -> None:
        self.at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


def registration(index: int) -> CaseRegistration:
    pnr = TEST_PERSONNUMMER[index % len(TEST_PERSONNUMMER)]
    return CaseRegistration(
        person=PersonRecord(personnummer=pnr, name=f"Testperson {index % len(TEST_PERSONNUMMER)}"),
        unit="unit-a",
        intervention_id="samtalsstod",
        intervention_name="Samtalsstöd",
        process_steps=3,
        opened_on=OPENED,
    )


def person_id_for(index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"person/{index % len(TEST_PERSONNUMMER)}"))


def entry(number: int) -> JournalEntry:
    return JournalEntry(kind=EntryKind.execution, occurred_on=OPENED, text=f"Samtal {number} genomfört.")


def closing() -> CaseClosing:
    return CaseClosing(
        closed_on=dt.date(2026, 11, 20), reason=ClosingReason.completed, disposal_due_on=dt.date(2031, 11, 20)
    )


def plan() -> InterventionPlan:
    return InterventionPlan(starts_on=OPENED, description="Samtalsstöd", responsible_contact="Kontaktperson A")


def payload_of(build: Any, *args: Any, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    """Run an events.py builder against a stand-in session; (kind, payload)."""

    class _Capture:
        added: Any = None

        def add(self, row: Any) -> None:
            self.added = row

    capture = _Capture()
    build(capture, *args, **kwargs)
    return capture.added.kind, capture.added.payload


def case_events(index: int, case_id: str, *, notes: int = 2, with_plan: bool = False, close: bool = True) -> list:
    """The events of one identified case, in order: (aggregate_type, aggregate_id, kind, payload)."""
    registered = payload_of(events.case_registered, case_id, registration(index), person_id=person_id_for(index))
    out = [("case", case_id, *registered)]
    out += [("case", case_id, *payload_of(events.note_added, case_id, entry(n))) for n in range(1, notes + 1)]
    if with_plan:
        out.append(("case", case_id, *payload_of(events.plan_set, case_id, plan())))
    if close:
        closing_entry = JournalEntry(kind=EntryKind.closing, occurred_on=dt.date(2026, 11, 20), text="Avslut.")
        out.append(("case", case_id, *payload_of(events.case_closed, case_id, closing(), entry=closing_entry)))
    return out


def person_update_event(index: int) -> tuple[str, str, str, dict[str, Any]]:
    update = PersonContactUpdate(name=f"Testperson {index} Ny", phone="070-0000000")
    return ("person", person_id_for(index), *payload_of(events.person_updated, person_id_for(index), update))


async def insert_events(db: Database, rows: list, committee: str = "sn-sydvast") -> list[str]:
    """Bulk-insert events (executemany) in the given order, of the `auth` fixture's committee; their ids."""
    ids = [str(uuid.uuid4()) for _ in rows]
    params = [
        {
            "id": event_id, "aggregate_type": agg_type, "aggregate_id": agg_id, "kind": kind,
            "payload": payload, "status": "pending", "attempts": 0, "committee": committee,
        }
        for event_id, (agg_type, agg_id, kind, payload) in zip(ids, rows, strict=True)
    ]  # fmt: skip
    async with db.sessions() as session, session.begin():
        for start in range(0, len(params), 5000):
            await session.execute(insert(OutboxEvent), params[start : start + 5000])
    return ids


@dataclass
class Sim:
    app: FastAPI
    client: httpx.AsyncClient
    journal: HttpJournalSystem

    async def state(self) -> dict[str, Any]:
        response = await self.client.get("/_sim/state")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def set_faults(self, faults: SimulatorFaults) -> None:
        self.app.state.simulator.set_faults(faults)

    async def aclose(self) -> None:
        await self.client.aclose()


def in_process_simulator(faults: SimulatorFaults | None = None, timeout: float = 5.0) -> Sim:
    app = create_simulator_app(faults)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://journal.test", timeout=timeout)
    return Sim(app, client, HttpJournalSystem(client))


def dispatcher(db: Database, journal: Any, **options: Any) -> Dispatcher:
    options.setdefault("lease_seconds", 30.0)
    options.setdefault("event_timeout", 5.0)
    options.setdefault("poll_interval", 0.05)
    return Dispatcher(db, journal, **options)


async def drain(*dispatchers: Dispatcher, clock: FakeClock | None = None, rounds: int = 200) -> int:
    """Cycle until nothing is claimed; with a fake clock, move it past any backoff first."""
    total = 0
    idle = 0
    for _ in range(rounds):
        claimed = 0
        for d in dispatchers:
            total += await d.run_once()
            claimed += d.last_cycle.claimed
        if claimed:
            idle = 0
            continue
        if clock is None or idle:
            return total
        idle += 1
        clock.advance(3600)
    raise AssertionError("the outbox did not drain")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def by_case_ref(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {case["case_ref"]: case for case in state["cases"]}


async def rows(db: Database) -> list[OutboxEvent]:
    async with db.sessions() as session:
        return list((await session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq))).all())


async def links(db: Database) -> dict[tuple[str, str], JournalLink]:
    async with db.sessions() as session:
        found = (await session.scalars(select(JournalLink))).all()
        return {(link.aggregate_type, link.aggregate_id): link for link in found}


class Flaky:
    """A JournalSystem that fails chosen calls (by method name and how often), then delegates."""

    def __init__(self, inner, failures: dict[str, list[Exception]]) -> None:
        self.inner = inner
        self.failures = failures
        self.calls: list[str] = []

    def __getattr__(self, name: str):
        method = getattr(self.inner, name)

        async def call(*args, **kwargs):
            self.calls.append(name)
            pending = self.failures.get(name)
            if pending:
                raise pending.pop(0)
            return await method(*args, **kwargs)

        return call
