"""Shared benchmark machinery: sections, timing, in-process HTTP throughput, a bare baseline.

A *section* measures one area and answers a `SectionReport` (figures and notes); `bench/__main__.py`
runs every section in its `SECTIONS` list and writes one Markdown report. To add a section:

    # bench/journal.py
    from bench.harness import RunConfig, Section, SectionReport

    async def run(config: RunConfig) -> SectionReport:
        report = SectionReport("Journal delivery")
        ...  # report.add(...), report.note(...)
        return report

    SECTION = Section("journal", run)   # then append it to SECTIONS in bench/__main__.py

Tools:
- `per_call(fn, ...)`: the time of a pure function call (best of several rounds).
- `measure_http(app, ...)`: requests per second of one endpoint of an ASGI app, in-process through
  `httpx.ASGITransport` (no sockets, so the figure is the application's own cost plus the httpx
  client's), after a warm-up, sequentially, with a fixed number of requests.
- `bare_app(body_model)`: a FastAPI app with one POST route that parses the same body with the
  same pydantic model and returns a small dict: no auth, no middleware, no database. Measure it
  in the same run as the real endpoint (`compare_http`) and report the ratio.
- `demo_app()`: the real application on a temporary SQLite database migrated with alembic and
  holding the demo catalog, with a dev token for every scope.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

# --- report ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunConfig:
    """How hard to measure; `quick` is for smoke runs (CI), the default for the report."""

    quick: bool = False

    def scale(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass(frozen=True, slots=True)
class Figure:
    measure: str
    value: str
    target: str = ""
    met: bool | None = None  # None: no target


@dataclass
class SectionReport:
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, measure: str, value: str, target: str = "", met: bool | None = None) -> None:
        self.figures.append(Figure(measure, value, target, met))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", "| Measure | Value | Target | Met |", "|---|---:|---|:---:|"]
        for f in self.figures:
            met = "" if f.met is None else ("yes" if f.met else "**no**")
            lines.append(f"| {f.measure} | {f.value} | {f.target} | {met} |")
        if self.notes:
            lines.append("")
            lines.extend(f"- {note}" for note in self.notes)
        return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    run: Callable[[RunConfig], Awaitable[SectionReport]]


# --- pure functions ----------------------------------------------------------------------------------


def per_call(fn: Callable[[], int], *, rounds: int = 5) -> float:
    """Seconds per operation of `fn`, which performs a batch and returns how many operations it did.

    The best of `rounds` batches: the least disturbed by the machine's other work.
    """
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        count = fn()
        elapsed = time.perf_counter() - started
        best = min(best, elapsed / count)
    return best


# --- HTTP ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Throughput:
    """One measured run. `cpu_seconds` is this process's CPU time: on a shared machine it is the
    steadier figure (other processes' load lengthens wall time, not our CPU time)."""

    requests: int
    seconds: float
    cpu_seconds: float
    latencies: tuple[float, ...]  # per request, wall seconds

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def per_cpu_second(self) -> float:
        return self.requests / self.cpu_seconds

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p95_ms(self) -> float:
        return statistics.quantiles(self.latencies, n=20)[-1] * 1000


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send stderr (the JSON log lines) to /dev/null: they are still formatted and written."""
    saved = sys.stderr
    with open(os.devnull, "w", encoding="utf-8") as sink:
        sys.stderr = sink
        try:
            yield
        finally:
            sys.stderr = saved


async def measure_http(
    app: Any,
    path: str,
    bodies: Sequence[Any],
    *,
    headers: dict[str, str] | None = None,
    requests: int = 2000,
    warmup: int = 200,
    expect_status: int = 200,
) -> Throughput:
    """POST `bodies` (cycled) to `path` of an ASGI app, sequentially; requests per second after a warm-up."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.test", headers=headers) as client:
        for i in range(warmup):
            response = await client.post(path, json=bodies[i % len(bodies)])
            if response.status_code != expect_status:
                raise RuntimeError(f"{path} answered {response.status_code} in the warm-up")
        latencies = []
        cpu_started = time.process_time()
        started = time.perf_counter()
        for i in range(requests):
            sent = time.perf_counter()
            response = await client.post(path, json=bodies[i % len(bodies)])
            latencies.append(time.perf_counter() - sent)
            if response.status_code != expect_status:
                raise RuntimeError(f"{path} answered {response.status_code}")
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    return Throughput(requests, seconds, cpu_seconds, tuple(latencies))


def bare_app(body_model: type[BaseModel], path: str = "/bare") -> FastAPI:
    """The baseline: one POST route that parses `body_model` and answers a small dict. Nothing else."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    async def endpoint(body: Any) -> dict[str, Any]:
        return {"ok": True, "fields": len(body.model_fields_set)}

    # The body parameter's type is the model, set at run time so that any model can be measured.
    endpoint.__annotations__ = {"body": body_model, "return": dict[str, Any]}
    app.post(path)(endpoint)
    return app


@dataclass(frozen=True, slots=True)
class Comparison:
    endpoint: Throughput
    bare: Throughput

    @property
    def ratio(self) -> float:
        """Endpoint throughput over bare throughput, per CPU-second (the steadier figure)."""
        return self.endpoint.per_cpu_second / self.bare.per_cpu_second

    @property
    def wall_ratio(self) -> float:
        return self.endpoint.per_second / self.bare.per_second


async def compare_http(
    app: Any,
    path: str,
    bodies: Sequence[Any],
    *,
    headers: dict[str, str],
    body_model: type[BaseModel],
    requests: int,
    warmup: int,
    rounds: int = 5,
) -> Comparison:
    """The endpoint against the bare baseline, measured alternately in the same run.

    `requests` per endpoint are split over `rounds` alternating rounds (after one warm-up each);
    the best round of each counts: the one least disturbed by the machine's other work.
    """
    baseline = bare_app(body_model)
    per_round = max(1, requests // rounds)
    best_endpoint: Throughput | None = None
    best_bare: Throughput | None = None
    with quiet_stderr():
        for i in range(rounds):
            warm = warmup if i == 0 else 0
            bare = await measure_http(baseline, "/bare", bodies, requests=per_round, warmup=warm)
            real = await measure_http(app, path, bodies, headers=headers, requests=per_round, warmup=warm)
            if best_bare is None or bare.per_cpu_second > best_bare.per_cpu_second:
                best_bare = bare
            if best_endpoint is None or real.per_cpu_second > best_endpoint.per_cpu_second:
                best_endpoint = real
    assert best_endpoint is not None and best_bare is not None
    return Comparison(best_endpoint, best_bare)


# --- the real application ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoApp:
    app: FastAPI
    headers: dict[str, str]  # a bearer token with every scope, committee sn-sydvast


@contextlib.asynccontextmanager
async def demo_app(committee: str = "sn-sydvast") -> AsyncIterator[DemoApp]:
    """The application on a temporary, migrated SQLite database holding the demo catalog."""
    from alembic import command
    from app.catalog.loader import demo_catalog_path, load_catalog_text
    from app.catalog.service import CatalogService
    from app.catalog.store import CatalogStore
    from app.cli import alembic_config
    from app.core.auth import SCOPES, issue_dev_token
    from app.core.db import Database
    from app.core.settings import Env, LogFormat, Settings
    from app.main import create_app

    with tempfile.TemporaryDirectory(prefix="iub-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        # Alembic's env.py runs its own event loop: migrate in a thread.
        with quiet_stderr():
            await asyncio.to_thread(command.upgrade, alembic_config(url), "head")  # type: ignore[arg-type]
        settings = Settings(
            env=Env.test,
            database_url=url,
            auth_dev_secret="bench-secret-for-the-benchmark-only",
            log_format=LogFormat.json,
            catalog_refresh_seconds=0,
            outbox_in_process=False,
        )
        database = Database.connect(url)
        try:
            committees, decisions = load_catalog_text(demo_catalog_path().read_text(encoding="utf-8"))
            async with database.sessions() as session, session.begin():
                await CatalogService(session, CatalogStore()).load(committees, decisions)
            app = create_app(settings, database=database)
            token = issue_dev_token(
                settings, sub="bench", unit="bench-unit", committee=committee, scope=" ".join(SCOPES)
            )
            async with app.router.lifespan_context(app):
                yield DemoApp(app, {"Authorization": f"Bearer {token}"})
        finally:
            await database.dispose()
