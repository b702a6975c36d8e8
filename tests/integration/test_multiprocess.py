"""Deployed as on several machines, on PostgreSQL: two API processes (`iub serve`) and two workers
(`iub worker`) against one database, under concurrent load, delivering to a journal simulator in
its own process that fails 10 % of requests and loses 5 % of the responses of applied writes.

- Every accepted write is present once: each opening is sent to one API process and its retry
  (the same `Idempotency-Key`) to the other, and both answer the same case; notes likewise.
- Every identified case reaches the journal system exactly once and in its own order.
- Both workers stopped with SIGTERM in the middle of deliveries (a quarter delivered, the load still
  running) exit promptly and leave no event in flight (leases released, nothing to wait out); a
  worker started afterwards delivers the rest.

Bounded in time: the whole test must finish in 60 s. Personnummer literals are Skatteverket's
official test numbers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.cases.models import CaseNoteRow, CaseRow
from app.core.auth import issue_dev_token
from app.core.db import Database
from app.journal.models import OutboxEvent
from app.journal.runtime import run_worker
from tests.conftest import TEST_SECRET, make_settings
from tests.integration.outbox_support import free_port

pytestmark = pytest.mark.usefixtures("demo_catalog")

ADULTS = ("199003012391", "198507012394", "195201161857", "194401012390", "200504012394")
CASES = 30
NOTES = 2
LIMIT_SECONDS = 60


def _spawn(*args: str, **env: str) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "IUB_ENV": "test", "IUB_AUTH_DEV_SECRET": TEST_SECRET, "IUB_LOG_LEVEL": "WARNING"}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        env={**environment, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _up(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"{url} exited with {process.returncode}"
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def _stop(process: subprocess.Popen[bytes], timeout: float = 10) -> int | None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None
    return process.returncode


async def _counts(db: Database) -> dict[str, int]:
    async with db.sessions() as session:
        result = await session.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status))
        return {status: count for status, count in result.all()}


def _token(unit: str) -> dict[str, str]:
    settings = make_settings("sqlite+aiosqlite://")
    token = issue_dev_token(settings, sub="load", unit=unit, committee="sn-sydvast", scope="cases:write cases:read")
    return {"Authorization": f"Bearer {token}"}


async def test_two_api_processes_and_two_workers_under_load_with_journal_faults(
    database_url: str, db: Database, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("several processes against one database need PostgreSQL")
    started = time.monotonic()
    deadline = started + LIMIT_SECONDS
    sim_url = f"http://127.0.0.1:{free_port()}"
    faults = (
        "--failure-rate",
        "0.1",
        "--drop-rate",
        "0.05",
        "--retry-after",
        "0",
        "--latency-ms",
        "20",
        "--seed",
        "13",
    )
    sim = _spawn("journal-sim", "--port", sim_url.rsplit(":", 1)[1], *faults)
    api_ports = [free_port(), free_port()]
    api_env = {"IUB_DATABASE_URL": database_url, "IUB_OUTBOX_IN_PROCESS": "false"}
    apis = [_spawn("serve", "--port", str(port), **api_env) for port in api_ports]
    worker_env = {
        "IUB_DATABASE_URL": database_url,
        "IUB_JOURNAL_BASE_URL": sim_url,
        "IUB_JOURNAL_TIMEOUT_SECONDS": "2",
        "IUB_OUTBOX_MAX_ATTEMPTS": "40",
        "IUB_DISPOSAL_IN_WORKER": "false",
    }
    worker_args = (
        "worker",
        "--concurrency",
        "8",
        "--batch-size",
        "10",
        "--poll-seconds",
        "0.1",
        "--lease-seconds",
        "30",
    )
    workers = [_spawn(*worker_args, **worker_env) for _ in range(2)]
    processes = [sim, *apis, *workers]
    try:
        await _up(sim_url + "/_sim/faults", sim, deadline)
        urls = [f"http://127.0.0.1:{port}" for port in api_ports]
        for url, process in zip(urls, apis, strict=True):
            await _up(url + "/health/ready", process, deadline)

        accepted: dict[int, str] = {}
        notes: dict[int, list[str]] = {}
        gate = asyncio.Semaphore(16)

        async def one_case(i: int, clients: list[httpx.AsyncClient]) -> None:
            first, second = clients[i % 2], clients[(i + 1) % 2]
            headers = _token(f"unit-{i}")
            opening = {
                "intervention_id": "skyddat-boende-vuxna",
                "opened_on": "2026-09-01",
                "subject": {"personnummer": ADULTS[i % len(ADULTS)], "name": f"Testperson {i}"},
                "participant": {"gender": "female", "role": "adult"},
                "facts": {"accompanying_children": False},
            }
            async with gate:
                key = {"Idempotency-Key": str(uuid.uuid4())}
                answer = await first.post("/v1/cases", json=opening, headers=headers | key)
                assert answer.status_code == 201, answer.text
                again = await second.post("/v1/cases", json=opening, headers=headers | key)  # a client's retry
                assert again.status_code == 201 and again.json()["id"] == answer.json()["id"], again.text
                case_id = accepted[i] = answer.json()["id"]
                notes[i] = []
                for n in range(1, NOTES + 1):
                    body = {"kind": "execution", "occurred_on": "2026-09-02", "text": f"Samtal {n} genomfört."}
                    key = {"Idempotency-Key": str(uuid.uuid4())}
                    path = f"/v1/cases/{case_id}/notes"
                    written = await clients[(i + n) % 2].post(path, json=body, headers=headers | key)
                    assert written.status_code == 201, written.text
                    replayed = await clients[(i + n + 1) % 2].post(path, json=body, headers=headers | key)
                    assert replayed.status_code == 201 and replayed.json() == written.json()
                    notes[i].append(body["text"])

        total = CASES * (1 + NOTES)

        async def stop_workers_midway() -> tuple[list[int | None], float]:
            """Both workers stopped with SIGTERM once a quarter is delivered, while the load goes on
            (workers that keep pace with the writes would otherwise have delivered it all)."""
            while (await _counts(db)).get("delivered", 0) < total // 4:
                assert time.monotonic() < deadline, await _counts(db)
                await asyncio.sleep(0.05)
            stopping = time.monotonic()
            codes = await asyncio.gather(*(asyncio.to_thread(_stop, w, 20) for w in workers))
            return codes, time.monotonic() - stopping

        stopper = asyncio.create_task(stop_workers_midway())
        async with (
            httpx.AsyncClient(base_url=urls[0], timeout=20) as a,
            httpx.AsyncClient(base_url=urls[1], timeout=20) as b,
        ):
            await asyncio.gather(*(one_case(i, [a, b]) for i in range(CASES)))

        # Every accepted write, once.
        async with db.sessions() as session:
            case_ids = set((await session.scalars(select(CaseRow.id))).all())
            note_count = await session.scalar(select(func.count()).select_from(CaseNoteRow))
        assert case_ids == set(accepted.values())
        assert note_count == CASES * NOTES

        # The workers stopped mid-delivery: they exited promptly and left nothing in flight.
        codes, stop_seconds = await stopper
        assert codes == [0, 0], codes
        assert stop_seconds < 20
        at_stop = await _counts(db)
        assert at_stop.get("in_flight", 0) == 0, f"leases left behind: {at_stop}"
        assert at_stop.get("delivered", 0) < total, "everything was delivered before the stop: nothing shown"

        # A worker (here in this process: a third interpreter would only add its start-up) delivers the rest.
        settings = make_settings(
            database_url, journal_base_url=sim_url, journal_timeout_seconds=2, outbox_max_attempts=40
        )
        options = {"batch_size": 10, "poll_interval": 0.1}
        while (counts := await _counts(db)) != {"delivered": total}:
            assert "dead" not in counts, counts
            assert time.monotonic() < deadline, f"not delivered in {LIMIT_SECONDS} s: {counts}"
            if not await run_worker(db, settings, asyncio.Event(), concurrency=8, once=True, options=options):
                await asyncio.sleep(0.1)  # what is left waits for its retry time

        async with httpx.AsyncClient(base_url=sim_url) as http:
            state: dict[str, Any] = (await http.get("/_sim/state")).json()
        assert state["counters"]["faults_injected"]["failure"] > 0 and state["counters"]["faults_injected"]["drop"] > 0
        assert len(state["cases"]) == CASES, "each case registered exactly once"
        for case in state["cases"]:
            assert [h.split(":")[0] for h in case["history"]] == ["registered", *["entry"] * NOTES]
            assert [e["text"] for e in case["entries"]] == [f"Samtal {n} genomfört." for n in range(1, NOTES + 1)]
        # Person upsert + registration + one entry per note, each applied once.
        assert state["counters"]["writes_applied"] == CASES * (2 + NOTES)
        assert state["counters"]["idempotency_conflicts"] == 0
        assert time.monotonic() - started < LIMIT_SECONDS
    finally:
        for process in processes:
            _stop(process, 5)
