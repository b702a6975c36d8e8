"""The database goes away under write load and comes back: nothing lost, nothing doubled, no 500.

The service runs in a real HTTP server (uvicorn, keep-alive) and reaches PostgreSQL through a
TCP proxy that the test closes — every open connection aborted, new ones refused — and opens
again. The shared PostgreSQL server itself is never touched. Clients write cases with an
`Idempotency-Key` and retry 503 and 409 answers with the same key, as the problems tell them.
Afterwards: every 2xx answer is in the database exactly once, the service answered 503 (never
500) while the database was away, a keep-alive connection survived its 503, and the service
recovered by itself. It runs with and without the pool's pre-ping, which only covers
connections taken from the pool: the 503s must come from the errors themselves.
"""

from __future__ import annotations

import asyncio
import string
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import h11
import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app.cases.models import CaseNoteRow, CaseRow
from app.core.db import Database
from app.kit import clock
from app.main import create_app
from tests.conftest import PG_HOST, PG_PORT, make_settings
from tests.integration.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("demo_catalog")]

TODAY = clock.today().isoformat()
WRITERS = 6
WRITES_PER_WRITER = 8
MAX_ATTEMPTS = 120  # per write; a 503 or 409 is retried after RETRY_PAUSE
RETRY_PAUSE = 0.1


@dataclass
class Load:
    statuses: Counter[int] = field(default_factory=Counter)
    accepted: dict[str, str] = field(default_factory=dict)  # marker -> case id of the 2xx answer
    unfinished: list[str] = field(default_factory=list)
    while_away: Counter[int] = field(default_factory=Counter)


def _marker(writer: int, index: int) -> str:
    """Letters only: free text of an exempted case is scrubbed of anything number-like."""
    letters = string.ascii_lowercase
    return f"kontrollanteckning {letters[writer]}{letters[index]}"


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    tcp = TcpProxy(PG_HOST, PG_PORT)
    await tcp.start()
    yield tcp
    await tcp.stop()


async def _serve(app: object) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    # An idle keep-alive connection is kept a minute (uvicorn's default is 5 s): on a busy machine the
    # probe's connection may idle that long while the writers meet the outage.
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on", timeout_keep_alive=60)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port


async def _writer(base: str, headers: dict[str, str], writer: int, load: Load, proxy: TcpProxy) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        for index in range(WRITES_PER_WRITER):
            marker = _marker(writer, index)
            body = {
                "intervention_id": "krisstod",
                "participant": {"age": 30 + index, "gender": "unknown"},
                "notes": [{"kind": "execution", "occurred_on": TODAY, "text": marker}],
            }
            for _attempt in range(MAX_ATTEMPTS):
                away = not proxy.is_up
                response = await client.post(
                    "/v1/cases", json=body, headers={**headers, "Idempotency-Key": marker.replace(" ", "-")}
                )
                load.statuses[response.status_code] += 1
                if away:
                    load.while_away[response.status_code] += 1
                if response.status_code == 201:
                    load.accepted[marker] = response.json()["id"]
                    break
                if response.status_code not in (409, 503):
                    load.unfinished.append(f"{marker}: {response.status_code}")
                    break
                await asyncio.sleep(RETRY_PAUSE)
            else:
                load.unfinished.append(f"{marker}: still not written")
            await asyncio.sleep(0.02)


class KeepAliveProbe:
    """One HTTP/1.1 connection kept open across requests (h11 on a raw stream)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.headers = [("host", "127.0.0.1"), *headers.items()]
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.connection = h11.Connection(our_role=h11.CLIENT)

    async def get(self, target: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        if self.connection.our_state is h11.DONE:
            self.connection.start_next_cycle()
        self.writer.write(self.connection.send(h11.Request(method="GET", target=target, headers=self.headers)))
        self.writer.write(self.connection.send(h11.EndOfMessage()))
        await self.writer.drain()
        status = 0
        while True:
            event = self.connection.next_event()
            if event is h11.NEED_DATA:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("the server closed the keep-alive connection")
                self.connection.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@pytest.mark.parametrize("pre_ping", [True, False], ids=["pre-ping", "no-pre-ping"])
async def test_writes_during_a_database_outage_land_exactly_once_and_the_service_recovers_by_itself(
    backend: str, database_url: str, db: Database, proxy: TcpProxy, auth, pre_ping: bool
) -> None:
    if backend != "postgresql":
        pytest.skip("the outage is a cut TCP connection: SQLite has none (its 503 is tested with a refused open)")
    through_proxy = make_url(database_url).set(port=proxy.port).render_as_string(hide_password=False)
    service_db = Database.connect(through_proxy, pool_pre_ping=pre_ping)
    app = create_app(make_settings(through_proxy), database=service_db)
    server, serving, port = await _serve(app)
    base = f"http://127.0.0.1:{port}"
    headers = auth("cases:write cases:read")
    load = Load()
    probe = KeepAliveProbe(port, headers)
    try:
        assert await probe.get("/v1/cases") == 200
        writers = [asyncio.create_task(_writer(base, headers, w, load, proxy)) for w in range(WRITERS)]
        for _ in range(500):  # let some writes land first
            if len(load.accepted) >= WRITERS or all(w.done() for w in writers):
                break
            await asyncio.sleep(0.02)
        await proxy.cut()
        for _ in range(500):  # until the writers have met the outage
            if load.while_away[503] >= WRITERS or all(w.done() for w in writers):
                break
            await asyncio.sleep(0.02)
        during = await probe.get("/v1/cases")
        await proxy.restore()
        after = await probe.get("/v1/cases")  # the same connection
        await asyncio.gather(*writers)
    finally:
        await probe.close()
        server.should_exit = True
        await serving
        await service_db.dispose()

    assert (during, after) == (503, 200), "503 while away, then served again on the same keep-alive connection"
    assert load.statuses[500] == 0, load.statuses
    assert load.while_away[503] > 0, (load.while_away, load.statuses, load.unfinished[:3])
    assert not load.unfinished, load.unfinished
    assert len(load.accepted) == WRITERS * WRITES_PER_WRITER, "the service recovered by itself"
    async with db.sessions() as session:
        for marker, case_id in load.accepted.items():
            written = (await session.execute(select(CaseNoteRow.case_id).where(CaseNoteRow.text == marker))).all()
            assert [row.case_id for row in written] == [case_id], marker
        assert await session.scalar(select(func.count()).select_from(CaseRow)) == len(load.accepted)
