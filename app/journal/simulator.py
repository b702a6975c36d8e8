"""A journal-system simulator: the contract in memory, with Idempotency-Key and fault injection.

`create_simulator_app()` serves `contracts/journal-system.openapi.yaml` plus test endpoints:
`GET /_sim/state`, `POST /_sim/reset`, `GET|PUT /_sim/faults`. It is a plain ASGI app (a
route table over the path's segments, no framework): a test double's own cost per request
should be small beside the client's it is measured against (the worker's deliveries).

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
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

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

log = logging.getLogger("iub.journal.simulator")

_JSON = "application/json"
_PROBLEM_JSON = "application/problem+json"


@dataclass(slots=True)
class Response:
    """What the simulator answers: status, body, media type and extra headers."""

    status: int
    content: bytes = b""
    media_type: str | None = _JSON
    headers: dict[str, str] | None = None


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
    return Response(p.status, _dumps(p.document()), _PROBLEM_JSON, headers)


# Idempotency records kept (the oldest go first): a retry comes within minutes of its first
# try, and the records are most of a long drain's memory (about 0.7 kB each).
MAX_KEYS = 50_000


class Simulator:
    """State, idempotency records (the `max_keys` most recent), fault dice and counters of one
    simulator app."""

    def __init__(self, faults: SimulatorFaults, max_keys: int = MAX_KEYS) -> None:
        self.faults = faults
        self.max_keys = max_keys
        self.reset()

    def set_faults(self, faults: SimulatorFaults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._requests_since_faults = 0

    def reset(self) -> None:
        self.store = SimStore()
        self._keys: dict[str, _Stored] = {}
        self._key_order: deque[str] = deque()  # (popping a dict's first key walks its holes)
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
        return Response(status, _dumps(payload))

    async def write(
        self, method: str, path: str, key: str | None, content: bytes, model: type[M], op: Callable[[M], Outcome]
    ) -> Response:
        injected = await self._infrastructure_faults()
        if injected is not None:
            return injected
        if not key or len(key) > 255:
            detail = "Every write must carry an Idempotency-Key header (1-255 characters)."
            return _problem(SimProblem(400, "idempotency-key-missing", "Idempotency-Key is required", detail))
        try:
            body = model.model_validate_json(content)
        except ValidationError as exc:
            return _problem(_validation_problem(exc))
        # Canonical form, so a re-serialised but equal body still counts as the same request.
        fingerprint = hashlib.sha256(
            f"{method} {path}\n".encode() + body.model_dump_json(exclude_unset=True).encode()
        ).digest()

        stored = self._keys.get(key)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                self.counters["idempotency_conflicts"] += 1
                title = "Idempotency-Key reused with another request"
                return _problem(SimProblem(422, "idempotency-key-reused", title))
            self.counters["replays"] += 1
            return Response(stored.status, stored.content, _JSON, {"Idempotent-Replayed": "true"})
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
            self._key_order.append(key)
            if len(self._key_order) > self.max_keys:  # the oldest record goes
                del self._keys[self._key_order.popleft()]
            self.counters["writes_applied"] += 1
        finally:
            self._in_flight.discard(key)

        if self._rng.random() < self.faults.drop_rate:
            self._faulted("drop")
            return _internal_error()
        return Response(status, content)

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


Handler = Callable[["_Call"], Awaitable[Response]]


@dataclass(slots=True)
class _Call:
    """One request as the handlers see it: method, path, the path's parameter, key and body."""

    method: str
    path: str
    ref: str
    key: str | None
    content: bytes


def _routes(sim: Simulator) -> dict[tuple[str, ...], dict[str, Handler]]:
    """(path pattern with "*" for a ref) -> {method: handler}."""

    def store() -> SimStore:  # `reset` replaces the store
        return sim.store

    def write(model: type[M], op: Callable[[str, M], Outcome]) -> Handler:
        async def handler(call: _Call) -> Response:
            return await sim.write(call.method, call.path, call.key, call.content, model, lambda b: op(call.ref, b))

        return handler

    def read(op: Callable[[str], Outcome]) -> Handler:
        async def handler(call: _Call) -> Response:
            return await sim.read(lambda: op(call.ref))

        return handler

    async def state(_: _Call) -> Response:
        return Response(200, _dumps(sim.state()))

    async def reset(_: _Call) -> Response:
        sim.reset()
        return Response(204, b"", None)

    async def get_faults(_: _Call) -> Response:
        return Response(200, _dumps(asdict(sim.faults)))

    async def put_faults(call: _Call) -> Response:
        try:
            sim.set_faults(_FAULTS.validate_json(call.content))
        except ValidationError as exc:
            return _problem(_validation_problem(exc))
        return Response(200, _dumps(asdict(sim.faults)))

    return {
        ("persons",): {"POST": write(PersonUpsertIn, lambda _, b: store().upsert_person(b))},
        ("persons", "*"): {
            "GET": read(lambda ref: store().get_person(ref)),
            "PATCH": write(PersonPatchIn, lambda ref, b: store().patch_person(ref, b)),
        },
        ("cases",): {"POST": write(CaseRegistrationIn, lambda _, b: store().register_case(b))},
        ("cases", "*"): {"GET": read(lambda ref: store().get_case(ref))},
        ("cases", "*", "journal-entries"): {"POST": write(JournalEntryIn, lambda ref, b: store().add_entry(ref, b))},
        ("cases", "*", "plan"): {"PUT": write(PlanIn, lambda ref, b: store().put_plan(ref, b))},
        ("cases", "*", "closing"): {"POST": write(ClosingIn, lambda ref, b: store().close_case(ref, b))},
        ("cases", "*", "disposed"): {"POST": write(DisposedIn, lambda ref, b: store().record_disposed(ref, b))},
        ("cases", "*", "disposal"): {"PUT": write(DisposalChangeIn, lambda ref, b: store().set_disposal(ref, b))},
        ("_sim", "state"): {"GET": state},
        ("_sim", "reset"): {"POST": reset},
        ("_sim", "faults"): {"GET": get_faults, "PUT": put_faults},
    }


class SimulatorApp:
    """The simulator as a plain ASGI app; `state.simulator` is its `Simulator`."""

    def __init__(self, sim: Simulator) -> None:
        self.state = SimpleNamespace(simulator=sim)
        self._routes = _routes(sim)

    def _route(self, path: str) -> tuple[dict[str, Handler] | None, str]:
        parts = path.split("/")[1:]
        if len(parts) >= 2 and parts[0] != "_sim":  # /persons/{ref}..., /cases/{ref}...
            ref = parts[1]
            if ref:
                return self._routes.get((parts[0], "*", *parts[2:])), ref
            return None, ""
        return self._routes.get(tuple(parts)), ""

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        response = await self._respond(method, path, scope["headers"], b"".join(chunks))
        headers = [] if response.media_type is None else [(b"content-type", response.media_type.encode())]
        if response.status >= 200 and response.status not in (204, 304):
            headers.append((b"content-length", str(len(response.content)).encode()))
        if response.headers:
            headers += [(k.lower().encode(), v.encode()) for k, v in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.content})

    async def _respond(
        self, method: str, path: str, raw_headers: list[tuple[bytes, bytes]], content: bytes
    ) -> Response:
        methods, ref = self._route(path)
        if methods is None:
            return _problem(SimProblem(404, "http", "Not Found"))
        handler = methods.get(method)
        if handler is None:
            return _problem(SimProblem(405, "http", "Method Not Allowed"), {"Allow": ", ".join(methods)})
        key = None
        for name, value in raw_headers:
            if name.lower() == b"idempotency-key":
                key = value.decode("latin-1")
                break
        try:
            return await handler(_Call(method, path, ref, key, content))
        except Exception:  # a bug in the double: a 500 like any server's, never a stack trace
            log.exception("simulator request failed")
            return _internal_error()


def create_simulator_app(faults: SimulatorFaults | None = None, *, max_keys: int = MAX_KEYS) -> SimulatorApp:
    """The simulator as an ASGI app; each app has its own state."""
    return SimulatorApp(Simulator(faults or SimulatorFaults(), max_keys))


def run_simulator(host: str, port: int, faults: SimulatorFaults) -> None:
    """Serve the simulator (for `iub journal-sim`). Access logs off: they cost throughput."""
    import uvicorn  # only the CLI path needs the server

    uvicorn.run(
        create_simulator_app(faults),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        proxy_headers=False,
        server_header=False,
        date_header=False,
    )
