"""The journal clients a worker uses (the lean HTTP/1.1 client, and aiohttp) against the simulator
over loopback, and without one; the lean client against servers that answer in other ways
(chunked, gzip, closing the connection, closing an idle keep-alive connection, too slow).

Personnummer literals are Skatteverket's official test numbers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import uvicorn

from app.journal.http1 import Http1Transport
from app.journal.http_adapter import AiohttpTransport, HttpJournalSystem, NoResponse
from app.journal.port import CaseRegistration, EntryKind, JournalEntry, JournalTransientError, PersonRecord
from app.journal.simulator import create_simulator_app
from tests.integration.outbox_support import free_port

ADULT = "199003012391"


TRANSPORTS = pytest.mark.parametrize("transport_class", [Http1Transport, AiohttpTransport])


@TRANSPORTS
async def test_a_case_is_registered_and_journalled_over_loopback_and_a_replay_is_one_write(transport_class) -> None:
    app = create_simulator_app()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    transport = transport_class(f"http://127.0.0.1:{port}/", timeout=5, connections=4)
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


@TRANSPORTS
async def test_no_journal_system_listening_is_a_transient_error_naming_no_value(transport_class) -> None:
    transport = transport_class(f"http://127.0.0.1:{free_port()}", timeout=2)
    try:
        with pytest.raises(JournalTransientError) as raised:
            await HttpJournalSystem(transport).upsert_person("event-1", PersonRecord(personnummer=ADULT, name="Sigrid"))
    finally:
        await transport.aclose()
    assert raised.value.status is None
    assert "no response (" in str(raised.value)
    assert ADULT not in str(raised.value) and "Sigrid" not in str(raised.value)


# The lean client against raw servers ---------------------------------------------------------------

Answer = Callable[[bytes], Awaitable[bytes | None]]  # the request's bytes -> the raw response (None: close)


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Answer], Awaitable[tuple[str, list[int]]]]]:
    """Starts a server that reads one request at a time (head + Content-Length body) and writes what
    `answer` makes of it; (its URL, the connections it accepted as a list that grows)."""
    servers: list[asyncio.Server] = []

    async def start(answer: Answer) -> tuple[str, list[int]]:
        accepted: list[int] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(len(accepted))
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = next(
                        (
                            int(line.split(b":")[1])
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-length:")
                        ),
                        0,
                    )
                    request = head + await reader.readexactly(length)
                    response = await answer(request)
                    if response is None:
                        break
                    writer.write(response)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", accepted

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def _ok(body: bytes, *headers: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def test_the_lean_client_reuses_its_connection_and_reads_chunked_and_gzip_bodies(raw_server) -> None:
    answers = iter(
        [
            _ok(b'{"person_ref":"P1"}', "X-Seen: 1"),
            b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{"entry_r\r\n9\r\nef":"E1"}\r\n0\r\n\r\n',
            _ok(gzip.compress(b'{"case_ref":"C1"}'), "Content-Encoding: gzip"),
        ]
    )
    requests: list[bytes] = []

    async def answer(request: bytes) -> bytes:
        requests.append(request)
        return next(answers)

    url, accepted = await raw_server(answer)
    transport = Http1Transport(url + "/api/v1/", timeout=2, connections=2)
    try:
        first = await transport.send("POST", "/persons", b'{"a":1}', {"Idempotency-Key": "k1"})
        assert first.status_code == 200 and first.json() == {"person_ref": "P1"}
        assert first.headers["x-seen"] == "1" and first.headers.get("CONTENT-TYPE") == "application/json"
        assert (await transport.send("GET", "/x", b"", {})).json() == {"entry_ref": "E1"}
        assert (await transport.send("GET", "/y", b"", {})).json() == {"case_ref": "C1"}
    finally:
        await transport.aclose()
    assert len(accepted) == 1  # one keep-alive connection for all three
    assert requests[0].startswith(b"POST /api/v1/persons HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nIdempotency-Key: k1\r\n" in requests[0] and requests[0].endswith(b'\r\n\r\n{"a":1}')


async def test_the_lean_client_takes_a_new_connection_when_the_server_closes_one(raw_server) -> None:
    calls = 0

    async def answer(request: bytes) -> bytes | None:
        nonlocal calls
        calls += 1
        return _ok(b"{}", "Connection: close") if calls == 1 else _ok(b'{"n":2}')

    url, accepted = await raw_server(answer)
    transport = Http1Transport(url, timeout=2)
    try:
        assert (await transport.send("GET", "/a", b"", {})).json() == {}  # and the server will close it
        assert (await transport.send("GET", "/b", b"", {})).json() == {"n": 2}  # so a fresh connection
    finally:
        await transport.aclose()
    assert len(accepted) == 2


async def test_the_lean_client_retries_a_closed_idle_connection_once_and_then_reports_no_response(raw_server) -> None:
    calls = 0

    async def answer(request: bytes) -> bytes | None:
        nonlocal calls
        calls += 1
        return _ok(b"{}") if calls == 1 else None  # the first answer, then every connection just closes

    url, accepted = await raw_server(answer)
    transport = Http1Transport(url, timeout=2)
    try:
        await transport.send("GET", "/a", b"", {})
        with pytest.raises(NoResponse):
            await transport.send("POST", "/b", b"{}", {"Idempotency-Key": "k"})
    finally:
        await transport.aclose()
    assert calls == 3 and len(accepted) == 2  # the reused connection, then once on a fresh one


async def test_the_lean_client_times_out_as_a_whole_and_refuses_line_breaks_in_headers(raw_server) -> None:
    async def answer(request: bytes) -> bytes:
        await asyncio.sleep(5)
        return _ok(b"{}")

    url, _ = await raw_server(answer)
    transport = Http1Transport(url, timeout=0.2)
    try:
        with pytest.raises(NoResponse) as raised:
            await transport.send("GET", "/slow", b"", {})
        assert str(raised.value) == "TimeoutError"
        with pytest.raises(ValueError):
            await transport.send("GET", "/a", b"", {"X-Request-Id": "a\r\nX-Evil: 1"})
    finally:
        await transport.aclose()
