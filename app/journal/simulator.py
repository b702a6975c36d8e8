"""A journal-system simulator: the contract in memory, with Idempotency-Key and fault injection.

`create_simulator_app()` serves `contracts/journal-system.openapi.yaml` plus test endpoints:
`GET /_sim/state`, `POST /_sim/reset`, `GET|PUT /_sim/faults`.

Faults, in the order a request meets them (one seeded `random.Random`, so a sequence of
requests meets the same faults on every run):

- `latency_ms`: every request waits this long first.
- bursts: of every `burst_every` requests, the last `burst_length` get 503 + Retry-After
  (`retry_after_seconds`).
- `failure_rate`: 500, or 503 + Retry-After, before anything is done.
- `timeout_rate` (writes): hang `timeout_seconds`, then 504; nothing is written. A client
  with a shorter timeout sees its own timeout; the key stays "in use" (409) meanwhile.
- `drop_rate` (writes): the write is applied and its response stored for replays, then the
  client gets a 500 that is byte-for-byte the `failure_rate` 500. A 500 is what a lost
  response looks like through any gateway, it works the same in-process
  (`httpx.ASGITransport`) and under uvicorn, and it leaves no doubt to the client: retry with
  the same key (a replay) or, if naive, write a duplicate.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.journal.sim_store import (
    JSON,
    CaseRegistrationIn,
    ClosingIn,
    DisposalChangeIn,
    DisposedIn,
    JournalEntryIn,
    PersonPatchIn,
    PersonUpsertIn,
    PlanIn,
    SimProblem,
    SimStore,
)

M = TypeVar("M", bound=BaseModel)
Outcome = tuple[int, JSON]


@dataclass(slots=True)
class SimulatorFaults:
    """Fault settings; also settable at runtime with `PUT /_sim/faults` (which reseeds)."""

    latency_ms: float = 0.0
    failure_rate: float = 0.0
    burst_every: int = 0  # 0: no bursts
    burst_length: int = 0
    retry_after_seconds: int = 1
    timeout_rate: float = 0.0
    timeout_seconds: float = 30.0
    drop_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("failure_rate", "timeout_rate", "drop_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within 0..1")
        if min(self.latency_ms, self.timeout_seconds, self.retry_after_seconds, self.burst_every) < 0:
            raise ValueError("latency, timeout, retry-after and burst_every cannot be negative")
        if not 0 <= self.burst_length <= self.burst_every:
            raise ValueError("burst_length must be within 0..burst_every")


_FAULTS = TypeAdapter(SimulatorFaults)


@dataclass(slots=True, frozen=True)
class _Stored:
    fingerprint: bytes
    status: int
    content: bytes


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _problem(p: SimProblem, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps(p.document()), p.status, headers, media_type="application/problem+json")


class Simulator:
    """State, idempotency records, fault dice and counters of one simulator app."""

    def __init__(self, faults: SimulatorFaults) -> None:
        self.faults = faults
        self.reset()

    def set_faults(self, faults: SimulatorFaults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._requests_since_faults = 0

    def reset(self) -> None:
        self.store = SimStore()
        self._keys: dict[str, _Stored] = {}
        self._in_flight: set[str] = set()
        self.counters: dict[str, Any] = {
            "requests": 0,
            "writes_applied": 0,
            "replays": 0,
            "idempotency_conflicts": 0,
            "faults_injected": {"failure": 0, "burst": 0, "timeout": 0, "drop": 0},
        }
        self.set_faults(self.faults)

    def state(self) -> JSON:
        return {**self.store.snapshot(), "counters": self.counters, "faults": asdict(self.faults)}

    # The request pipeline ------------------------------------------------------------

    async def read(self, op: Callable[[], Outcome]) -> Response:
        injected = await self._infrastructure_faults()
        if injected is not None:
            return injected
        try:
            status, payload = op()
        except SimProblem as p:
            return _problem(p)
        return Response(_dumps(payload), status, media_type="application/json")

    async def write(self, request: Request, model: type[M], op: Callable[[M], Outcome]) -> Response:
        injected = await self._infrastructure_faults()
        if injected is not None:
            return injected
        key = request.headers.get("idempotency-key")
        if not key or len(key) > 255:
            detail = "Every write must carry an Idempotency-Key header (1-255 characters)."
            return _problem(SimProblem(400, "idempotency-key-missing", "Idempotency-Key is required", detail))
        try:
            body = model.model_validate_json(await request.body())
        except ValidationError as exc:
            return _problem(_validation_problem(exc))
        # Canonical form, so a re-serialised but equal body still counts as the same request.
        fingerprint = hashlib.sha256(
            f"{request.method} {request.scope['path']}\n".encode() + body.model_dump_json(exclude_unset=True).encode()
        ).digest()

        stored = self._keys.get(key)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                self.counters["idempotency_conflicts"] += 1
                title = "Idempotency-Key reused with another request"
                return _problem(SimProblem(422, "idempotency-key-reused", title))
            self.counters["replays"] += 1
            return Response(
                stored.content, stored.status, {"Idempotent-Replayed": "true"}, media_type="application/json"
            )
        if key in self._in_flight:
            title = "A request with this Idempotency-Key is in progress"
            return _problem(SimProblem(409, "idempotency-key-in-use", title))

        self._in_flight.add(key)
        try:
            if self._rng.random() < self.faults.timeout_rate:
                self._faulted("timeout")
                await asyncio.sleep(self.faults.timeout_seconds)
                return _problem(SimProblem(504, "timeout", "Gateway timeout", "Nothing was written."))
            try:
                status, payload = op(body)
            except SimProblem as p:
                return _problem(p)  # not stored: a retry is evaluated afresh
            content = _dumps(payload)
            self._keys[key] = _Stored(fingerprint, status, content)
            self.counters["writes_applied"] += 1
        finally:
            self._in_flight.discard(key)

        if self._rng.random() < self.faults.drop_rate:
            self._faulted("drop")
            return _internal_error()
        return Response(content, status, media_type="application/json")

    async def _infrastructure_faults(self) -> Response | None:
        """Latency, bursts and failures: what happens before the system looks at a request."""
        self.counters["requests"] += 1
        self._requests_since_faults += 1
        f = self.faults
        if f.latency_ms > 0:
            await asyncio.sleep(f.latency_ms / 1000)
        if self._in_burst():
            self._faulted("burst")
            return self._unavailable()
        if self._rng.random() < f.failure_rate:
            self._faulted("failure")
            return self._unavailable() if self._rng.random() < 0.5 else _internal_error()
        return None

    def _in_burst(self) -> bool:
        """The last `burst_length` of every `burst_every` requests (counted since the faults were set)."""
        every = self.faults.burst_every
        return every > 0 and (self._requests_since_faults - 1) % every >= every - self.faults.burst_length

    def _unavailable(self) -> Response:
        retry_after = {"Retry-After": str(self.faults.retry_after_seconds)}
        return _problem(SimProblem(503, "unavailable", "Service unavailable"), retry_after)

    def _faulted(self, kind: str) -> None:
        self.counters["faults_injected"][kind] += 1


def _internal_error() -> Response:
    return _problem(SimProblem(500, "internal", "Internal error"))


def _validation_problem(exc: ValidationError) -> SimProblem:
    errors = exc.errors(include_input=False, include_url=False)
    if any(err["type"] == "json_invalid" for err in errors):
        return SimProblem(400, "malformed", "The body is not JSON")
    problem = SimProblem(422, "validation", "The request is invalid")
    # Pointers and messages only: never the input, which may hold a personnummer.
    problem.errors = [
        {"pointer": "/" + "/".join(str(part) for part in err["loc"]), "detail": err["msg"]} for err in errors
    ]
    return problem


def create_simulator_app(faults: SimulatorFaults | None = None) -> FastAPI:
    """The simulator as an ASGI app; each app has its own state."""
    sim = Simulator(faults or SimulatorFaults())
    app = FastAPI(title="Journal system simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.simulator = sim

    @app.exception_handler(StarletteHTTPException)
    async def _http_problem(_: Request, exc: StarletteHTTPException) -> Response:
        return _problem(SimProblem(exc.status_code, "http", str(exc.detail)))

    @app.post("/persons")
    async def upsert_person(request: Request) -> Response:
        return await sim.write(request, PersonUpsertIn, lambda b: sim.store.upsert_person(b))

    @app.get("/persons/{person_ref}")
    async def get_person(person_ref: str) -> Response:
        return await sim.read(lambda: sim.store.get_person(person_ref))

    @app.patch("/persons/{person_ref}")
    async def patch_person(person_ref: str, request: Request) -> Response:
        return await sim.write(request, PersonPatchIn, lambda b: sim.store.patch_person(person_ref, b))

    @app.post("/cases")
    async def register_case(request: Request) -> Response:
        return await sim.write(request, CaseRegistrationIn, lambda b: sim.store.register_case(b))

    @app.get("/cases/{case_ref}")
    async def get_case(case_ref: str) -> Response:
        return await sim.read(lambda: sim.store.get_case(case_ref))

    @app.post("/cases/{case_ref}/journal-entries")
    async def add_entry(case_ref: str, request: Request) -> Response:
        return await sim.write(request, JournalEntryIn, lambda b: sim.store.add_entry(case_ref, b))

    @app.put("/cases/{case_ref}/plan")
    async def put_plan(case_ref: str, request: Request) -> Response:
        return await sim.write(request, PlanIn, lambda b: sim.store.put_plan(case_ref, b))

    @app.post("/cases/{case_ref}/closing")
    async def close_case(case_ref: str, request: Request) -> Response:
        return await sim.write(request, ClosingIn, lambda b: sim.store.close_case(case_ref, b))

    @app.post("/cases/{case_ref}/disposed")
    async def record_disposed(case_ref: str, request: Request) -> Response:
        return await sim.write(request, DisposedIn, lambda b: sim.store.record_disposed(case_ref, b))

    @app.put("/cases/{case_ref}/disposal")
    async def set_disposal(case_ref: str, request: Request) -> Response:
        return await sim.write(request, DisposalChangeIn, lambda b: sim.store.set_disposal(case_ref, b))

    @app.get("/_sim/state")
    async def state() -> Response:
        return Response(_dumps(sim.state()), media_type="application/json")

    @app.post("/_sim/reset", status_code=204)
    async def reset() -> Response:
        sim.reset()
        return Response(status_code=204)

    @app.get("/_sim/faults")
    async def get_faults() -> Response:
        return Response(_dumps(asdict(sim.faults)), media_type="application/json")

    @app.put("/_sim/faults")
    async def put_faults(request: Request) -> Response:
        try:
            sim.set_faults(_FAULTS.validate_json(await request.body()))
        except ValidationError as exc:
            return _problem(_validation_problem(exc))
        return Response(_dumps(asdict(sim.faults)), media_type="application/json")

    return app


def run_simulator(host: str, port: int, faults: SimulatorFaults) -> None:
    """Serve the simulator (for `iub journal-sim`). Access logs off: they cost throughput."""
    import uvicorn  # only the CLI path needs the server

    uvicorn.run(create_simulator_app(faults), host=host, port=port, log_level="warning", access_log=False)
