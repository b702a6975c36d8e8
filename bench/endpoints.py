"""The endpoints as users see them: a real server next to bare FastAPI endpoints, loaded from outside.

- Database: a fresh PostgreSQL database (`IUB_BENCH_PG`), migrated, the demo catalog loaded,
  case records for the statistics (`bench.stats`: 200,000; quick 5,000) and the committee's
  statistics snapshot computed once.
- The service: `iub serve` (uvicorn, one worker process, uvloop, httptools) as deployed: JSON
  log lines written (to /dev/null), no in-process dispatcher (deliveries are the worker's).
- The baseline: `bench.bare` under uvicorn against the same database: one ORM insert + commit,
  a validated echo of the eligibility body, a bare GET.
- The load: `wrk` (one thread, 16 keep-alive connections) in its own process; without wrk,
  `bench.load`'s Python generator. Three interleaved rounds: each round measures every bare
  endpoint, then every real one, so a disturbance of the shared machine lands on both sides.
  The median round counts; the report shows the range.
- Latency at a sustainable load: the Python generator, *open loop*, at half the measured maximum
  of each write endpoint: p99 counted from when each request was due. Before each such run the
  statements the previous run left in flight finish and PostgreSQL takes its pending checkpoint
  (`bench.pgstate`): the 8 s then measure the service, not the flushing of what the seeding and
  the runs at the maximum wrote (a checkpoint's fsyncs hold commits back for 100-300 ms on a
  small VM disk). The report counts the checkpoints that still began during the run.
- Then the same writes with two API processes (`iub serve --workers 2`) against the same database.

Every request body passes the gate (SoL 11 kap. 5 §): checked once before the load starts (a
benchmark of refused requests measures nothing), and answers other than 2xx are counted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import load, pgstate, processes
from bench.harness import RunConfig, Section, SectionReport, quiet_stderr
from bench.journal import _database

COMMITTEE = "sn-sydvast"
UNIT = "bench-unit"
OPENED_ON = "2026-09-01"
# Skatteverket's test personnummer of adults (21 or older on OPENED_ON: protected housing admits them).
ADULTS = ("199003012391", "198507012394", "195201161857", "194401012390", "200504012394")
CONNECTIONS = 16
ROUNDS = 3
# A quick run checks the first bodies of each target before the load (a full run: every one);
# the load counts any other answer than the expected one, and the report shows them.
CHECKED_QUICK = 20


def _opening(pnr: str, n: int) -> dict[str, Any]:
    """An identified opening (SoL 14 kap. 3 §): person upserted, case, audit record, outbox event."""
    return {
        "intervention_id": "skyddat-boende-vuxna",
        "opened_on": OPENED_ON,
        "subject": {"personnummer": pnr, "name": f"Testperson {n}"},
        "participant": {"gender": "female", "role": "adult"},
        "facts": {"accompanying_children": False},
        "informed_of_right_to_apply": True,
        "informed_of_documentation": True,
    }


NOTE = {"kind": "execution", "occurred_on": "2026-09-02", "text": "Samtal genomfört enligt planen."}


@dataclass(frozen=True, slots=True)
class Pair:
    name: str  # what the report calls it
    target: load.Target
    expect: int
    bare: str  # the bare endpoint it is compared with
    ratio_target: float | None


@dataclass
class Measured:
    rounds: list[load.LoadResult] = field(default_factory=list)

    @property
    def median(self) -> load.LoadResult:
        ordered = sorted(self.rounds, key=lambda r: r.per_second)
        return ordered[len(ordered) // 2]

    def span(self) -> str:
        rates = [r.per_second for r in self.rounds]
        return f"{min(rates):,.0f}–{max(rates):,.0f}"

    @property
    def bad(self) -> int:
        return sum(r.bad for r in self.rounds)


@dataclass
class Result:
    """What the chart and the README's headline take from this section."""

    rows: list[tuple[str, str, float, float, float, float]] = field(default_factory=list)
    # (endpoint, bare endpoint, iub req/s, bare req/s, iub p99 ms, bare p99 ms)


LAST_RESULT = Result()


def _adults() -> list[str]:
    """Adults' test personnummer: Skatteverket's list where the checkout has it beside it, else five."""
    listed = Path(__file__).resolve().parents[2] / "shared" / "domain" / "test-personnummer.txt"
    try:
        numbers = listed.read_text(encoding="utf-8").split()
    except OSError:
        return list(ADULTS)
    adults = [n for n in numbers if n.isdigit() and len(n) == 12 and "1940" <= n[:4] <= "1999"]
    return adults[:2000] or list(ADULTS)


def _targets(
    url: str, bare_url: str, note_tokens: list[str], tokens: list[str], case_ids: list[str]
) -> tuple[dict[str, load.Target], list[Pair]]:
    """Notes: case i with its unit's token `note_tokens[i]`. Openings: every (person, unit) pair
    once, units from `tokens`, so that no person has a running case of the intervention in the
    unit when it is opened (409). Reads: the first notes unit's token."""
    from bench.eligibility import HTTP_BODIES

    token = note_tokens[:1]
    openings = [json.dumps(_opening(pnr, n)) for n, pnr in enumerate(_adults())]
    bare = {
        "insert": load.Target(bare_url, "POST", ["/bare/insert"], [json.dumps(NOTE)]),
        "echo": load.Target(bare_url, "POST", ["/bare/echo"], [json.dumps(b) for b in HTTP_BODIES]),
        "get": load.Target(bare_url, "GET", ["/bare/get"]),
    }
    pairs = [
        Pair(
            "POST /v1/cases (identified)",
            load.Target(url, "POST", ["/v1/cases"], openings, tokens),
            201,
            "insert",
            0.6,
        ),
        Pair(
            "POST /v1/cases/{id}/notes",
            load.Target(url, "POST", [f"/v1/cases/{c}/notes" for c in case_ids], [json.dumps(NOTE)], note_tokens),
            201,
            "insert",
            0.6,
        ),
        Pair(
            "POST /v1/eligibility/check",
            load.Target(url, "POST", ["/v1/eligibility/check"], [json.dumps(b) for b in HTTP_BODIES], token),
            200,
            "echo",
            0.6,
        ),
        Pair(
            "GET /v1/catalog/interventions",
            load.Target(url, "GET", ["/v1/catalog/interventions"], [], token),
            200,
            "get",
            0.5,
        ),
        Pair(
            "GET /v1/stats/tables/started_by_gender",
            load.Target(url, "GET", ["/v1/stats/tables/started_by_gender?period=2026Q1"], [], token),
            200,
            "get",
            None,
        ),
    ]
    return bare, pairs


def _check(target: load.Target, expect: int, limit: int | None = None) -> int:
    """Requests `start`.. of every distinct body (the first `limit` of them, when given): the
    expected status, or the benchmark stops. Answers the index the next run starts at."""
    count = max(len(target.bodies), 1) if limit is None else min(max(len(target.bodies), 1), limit)
    with httpx.Client(base_url=target.url, timeout=10) as client:
        for i in range(target.start, target.start + count):
            path = target.paths[i % len(target.paths)]
            headers = {}
            content = None
            if target.bodies:
                content = target.bodies[i % len(target.bodies)].encode()
                headers["Content-Type"] = "application/json"
            if target.tokens:
                headers["Authorization"] = "Bearer " + target.tokens[(i // count) % len(target.tokens)]
            response = client.request(target.method, path, content=content, headers=headers)
            if response.status_code != expect:
                raise RuntimeError(f"{target.method} {path} answered {response.status_code}: {response.text[:300]}")
    return target.start + count


async def _prepare(url: str, quick: bool) -> None:
    """Demo catalog, case records for the statistics, and the statistics snapshot."""
    from app.catalog.loader import demo_catalog_path, load_catalog_text
    from app.catalog.service import CatalogService
    from app.catalog.store import CatalogStore
    from app.core.db import Database
    from app.core.settings import Env, Settings
    from app.stats.service import refresh
    from bench.stats import _load, _records

    committees, decisions = load_catalog_text(demo_catalog_path().read_text(encoding="utf-8"))
    database = Database.connect(url)
    try:
        async with database.sessions() as session, session.begin():
            await CatalogService(session, CatalogStore()).load(committees, decisions)
        interventions = sorted({i.id for d in decisions for i in d.interventions})
        await _load(url, _records(5_000 if quick else 200_000, interventions))
        settings = Settings(env=Env.test, database_url=url, stats_refresh_seconds=0)
        with quiet_stderr():
            await refresh(database, COMMITTEE, settings)
    finally:
        await database.dispose()


def _tokens(units: int) -> list[str]:
    """A token with every scope for each of `units` units (the first: the unit the notes are written in)."""
    from app.core.auth import SCOPES, issue_dev_token
    from app.core.settings import Env, Settings

    settings = Settings(env=Env.test, auth_dev_secret=processes.BENCH_SECRET)
    scope = " ".join(SCOPES)
    return [
        issue_dev_token(settings, sub="bench", unit=f"{UNIT}-{n}", committee=COMMITTEE, scope=scope, ttl_seconds=7200)
        for n in range(units)
    ]


def _open_cases(url: str, tokens: list[str]) -> list[str]:
    """One case in each of the notes' units (their tokens are not among the openings')."""
    ids = []
    with httpx.Client(base_url=url, timeout=10) as client:
        for n, token in enumerate(tokens):
            auth = {"Authorization": f"Bearer {token}"}
            response = client.post("/v1/cases", json=_opening(ADULTS[0], n), headers=auth)
            if response.status_code != 201:
                raise RuntimeError(f"opening a case for the notes: {response.status_code} {response.text[:300]}")
            ids.append(response.json()["id"])
    return ids


async def run(config: RunConfig) -> SectionReport:
    report = SectionReport("Endpoints through a real server, next to bare FastAPI endpoints")
    seconds = 1.0 if config.quick else 8.0
    async with _database() as (url, label):
        if not url.startswith("postgresql"):
            report.note("PostgreSQL is not reachable at IUB_BENCH_PG: this section needs it; skipped.")
            return report
        await _prepare(url, config.quick)
        # The seeding's pages are flushed now, not during the first measured runs.
        await pgstate.checkpoint(url)
        results = await asyncio.to_thread(_run_blocking, url, config, seconds)
    _report(report, results, config, seconds, label)
    return report


@dataclass
class _Results:
    measured: list[tuple[Pair, Measured, Measured]]
    open_loop: list[tuple[str, float, load.LoadResult, int | None]]  # + checkpoints begun during the run
    two_processes: list[tuple[str, load.LoadResult, load.LoadResult]]
    rss_mb: float
    bare_rss_mb: float
    tool: str


def _run_blocking(url: str, config: RunConfig, seconds: float) -> _Results:
    tool = "wrk" if load.wrk_available() else "python"
    note_cases = 20 if config.quick else 100
    # Enough (person, unit) pairs for every opening of the run, at a few thousand per second.
    units = -(-(40_000 if config.quick else 150_000) // len(_adults()))
    tokens = _tokens(note_cases + units)
    note_tokens, open_tokens = tokens[:note_cases], tokens[note_cases:]
    offsets: dict[str, int] = {}

    def run(
        name: str,
        target: load.Target,
        *,
        rate: float | None = None,
        warm_up: bool = False,
        run_seconds: float = seconds,
    ) -> load.LoadResult:
        target = target.at(offsets.get(name, 0))
        if rate is None:
            result = load.run_load(target, 1 if warm_up else run_seconds, CONNECTIONS)
        else:
            result = load.run_python(target, seconds, CONNECTIONS * 2, rate)
        # Requests still in flight when the run ended were sent but not counted.
        offsets[name] = target.start + result.requests + result.bad + 4 * CONNECTIONS
        return result

    # The servers start side by side (the two-process one too: it idles until its turn, so its
    # start-up is not waited for twice).
    with processes.started(processes.service(url), processes.bare(url), processes.service(url, workers=2)) as (
        server,
        bare_server,
        two_server,
    ):
        case_ids = _open_cases(server.url, note_tokens)
        bare_targets, pairs = _targets(server.url, bare_server.url, note_tokens, open_tokens, case_ids)
        for pair in pairs:
            offsets[pair.name] = _check(pair.target, pair.expect, CHECKED_QUICK if config.quick else None)
        for name, target in bare_targets.items():
            _check(target, 201 if name == "insert" else 200)
        # Warm-up: every endpoint, briefly (caches, statement caches, the pool's connections), all
        # at once: nothing is measured, so they need not take turns.
        _at_once(run, [*bare_targets.items(), *((p.name, p.target) for p in pairs)])
        bare_measured = {name: Measured() for name in bare_targets}
        measured = {pair.name: Measured() for pair in pairs}
        for _ in range(ROUNDS):
            for name, target in bare_targets.items():
                bare_measured[name].rounds.append(run(name, target))
            for pair in pairs:
                measured[pair.name].rounds.append(run(pair.name, pair.target))
        open_loop = []
        for pair in pairs[:2]:  # the writes, at half their maximum
            rate = measured[pair.name].median.per_second / 2
            before = pgstate.prepare_run(url)
            result = run(pair.name, pair.target, rate=rate)
            after = pgstate.checkpoints_now(url)
            open_loop.append((pair.name, rate, result, None if before is None or after is None else after - before))
        rss = server.peak_rss_mb()
        bare_rss = bare_server.peak_rss_mb()
        server.stop()
        bare_server.stop()
        two = []
        _, pairs2 = _targets(two_server.url, "", note_tokens, open_tokens, case_ids)
        _at_once(run, [(pair.name, pair.target) for pair in pairs2[:3]])
        for pair in pairs2[:3]:
            # At least 2 s: each of the two processes fills its own pool and statement caches, and
            # the first second of a quick run is still uneven.
            result = run(pair.name, pair.target, run_seconds=max(2.0, seconds))
            two.append((pair.name, measured[pair.name].median, result))
    return _Results([(p, measured[p.name], bare_measured[p.bare]) for p in pairs], open_loop, two, rss, bare_rss, tool)


def _at_once(run: Callable[..., load.LoadResult], targets: list[tuple[str, load.Target]]) -> None:
    """A warm-up run of every target at the same time (each its own load generator)."""
    with ThreadPoolExecutor(len(targets)) as pool:
        for done in [pool.submit(run, name, target, warm_up=True) for name, target in targets]:
            done.result()


def _report(report: SectionReport, r: _Results, config: RunConfig, seconds: float, label: str) -> None:
    LAST_RESULT.rows.clear()
    for pair, real, bare in r.measured:
        ratio = real.median.per_second / bare.median.per_second
        target = f">= {pair.ratio_target:.0%}" if pair.ratio_target else ""
        report.add(
            f"**{pair.name}** / bare {pair.bare}: throughput ratio",
            f"**{ratio:.0%}** ({real.median.per_second:,.0f} / {bare.median.per_second:,.0f} req/s)",
            target,
            ratio >= pair.ratio_target if pair.ratio_target else None,
        )
        LAST_RESULT.rows.append(
            (pair.name, f"bare {pair.bare}", real.median.per_second, bare.median.per_second,
             real.median.p99_ms, bare.median.p99_ms)
        )  # fmt: skip
    lines = [
        "",
        "| endpoint | iub req/s (rounds) | p50 / p99 ms | bare endpoint | bare req/s (rounds) | bare p50 / p99 ms |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for pair, real, bare in r.measured:
        m, b = real.median, bare.median
        lines.append(
            f"| `{pair.name}` | {m.per_second:,.0f} ({real.span()}) | {m.p50_ms:.1f} / {m.p99_ms:.1f} | "
            f"{pair.bare} | {b.per_second:,.0f} ({bare.span()}) | {b.p50_ms:.1f} / {b.p99_ms:.1f} |"
        )
    for name, rate, result, checkpoints in r.open_loop:
        during = f"; {checkpoints} checkpoint(s) began during the run" if checkpoints else ""
        report.add(
            f"{name}: p99 at half the maximum ({rate:,.0f} req/s, open loop)",
            f"{result.p99_ms:.1f} ms (p50 {result.p50_ms:.1f} ms, {result.per_second:,.0f} req/s served{during})",
            "< 50 ms",
            result.p99_ms < 50 and result.bad == 0,
        )
    for name, one, two in r.two_processes:
        report.add(
            f"{name}: 1 → 2 API processes (req/s)",
            f"{one.per_second:,.0f} → {two.per_second:,.0f} ({two.per_second / one.per_second:.2f}×)"
            + (f", {two.bad} refused" if two.bad else ""),
        )
    report.add(
        "Peak resident memory: the service (uvicorn, one process) / the bare app",
        f"{r.rss_mb:.0f} / {r.bare_rss_mb:.0f} MB",
    )
    bad = sum(real.bad + bare.bad for _, real, bare in r.measured)
    report.add("Answers other than the expected status, all rounds", str(bad), "0", bad == 0)
    report.blocks.append("\n".join(lines))
    report.note(
        f"{label}, fresh database; {r.tool}, 1 thread, {CONNECTIONS} connections, {seconds:.0f} s per run, "
        f"{ROUNDS} interleaved rounds (bare endpoints, then the real ones, each round), median round shown "
        "with the range. The machine is shared: absolute figures vary, the ratios are the measure."
    )
    report.note(
        "Open loop: the Python generator, its connections open before the clock starts; each run begins once "
        "the previous run's statements have finished and PostgreSQL has taken the checkpoint pending from the "
        "seeding and the runs at the maximum, so that its fsyncs (which hold commits back) are not charged to "
        "the run; a checkpoint that still began during a run is shown next to its figure."
    )


def write_chart(path: Path) -> bool:
    """The SVG next to the report: throughput and p99 per endpoint beside its bare endpoint."""
    if not LAST_RESULT.rows:
        return False
    from bench.chart import endpoint_chart

    endpoint_chart(LAST_RESULT.rows, path)
    return True


SECTION = Section("endpoints", run)
