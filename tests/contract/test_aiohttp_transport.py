"""The journal client a worker uses (aiohttp) against the simulator over loopback, and without one.

Personnummer literals are Skatteverket's official test numbers.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import uvicorn

from app.journal.http_adapter import AiohttpTransport, HttpJournalSystem
from app.journal.port import CaseRegistration, EntryKind, JournalEntry, JournalTransientError, PersonRecord
from app.journal.simulator import create_simulator_app
from tests.integration.outbox_support import free_port

ADULT = "199003012391"


async def test_a_case_is_registered_and_journalled_over_loopback_and_a_replay_is_one_write() -> None:
    app = create_simulator_app()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    transport = AiohttpTransport(f"http://127.0.0.1:{port}/", timeout=5, connections=4)
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.02)
        journal = HttpJournalSystem(transport)
        person = await journal.upsert_person("event-1", PersonRecord(personnummer=ADULT, name="Sigrid Provsson"))
        registration = CaseRegistration(
            PersonRecord(personnummer=ADULT, name="Sigrid Provsson"), "unit-a", "samtalsstod", "Samtalsstöd", 3,
            dt.date(2026, 9, 1),
        )  # fmt: skip
        case = await journal.register_case("event-1", registration, person)
        entry = JournalEntry(EntryKind.execution, dt.date(2026, 9, 2), "Samtal genomfört.")
        first = await journal.add_journal_entry("event-2", case, entry)
        again = await journal.add_journal_entry("event-2", case, entry)  # a lost answer, retried
        assert first == again
        counters = app.state.simulator.counters
        assert counters["writes_applied"] == 3 and counters["replays"] == 1
    finally:
        await transport.aclose()
        server.should_exit = True
        await serving


async def test_no_journal_system_listening_is_a_transient_error_naming_no_value() -> None:
    transport = AiohttpTransport(f"http://127.0.0.1:{free_port()}", timeout=2)
    try:
        with pytest.raises(JournalTransientError) as raised:
            await HttpJournalSystem(transport).upsert_person("event-1", PersonRecord(personnummer=ADULT, name="Sigrid"))
    finally:
        await transport.aclose()
    assert raised.value.status is None
    assert "no response (Client" in str(raised.value)
    assert ADULT not in str(raised.value) and "Sigrid" not in str(raised.value)
