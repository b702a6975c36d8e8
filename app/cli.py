"""The `iub` command line: serve, migrate, load the catalog, print dev tokens, run jobs."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import structlog
import typer
from pydantic import ValidationError

from app.catalog.domain import Committee, Decision
from app.core.settings import MigrationSettings, Settings, get_settings
from app.disposal.cli import disposal_cli

# No "pretty" tracebacks: they are printed raw (with local variables, if asked), past the masker;
# an uncaught exception is logged by `main` like every other line.
cli = typer.Typer(
    help="iub: IUB interventions (SoL 2025:400) – catalog, eligibility, documentation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
catalog_cli = typer.Typer(help="The catalog of committee decisions.", no_args_is_help=True)
cli.add_typer(catalog_cli, name="catalog")
stats_cli = typer.Typer(help="Unit-level follow-up statistics.", no_args_is_help=True)
cli.add_typer(stats_cli, name="stats")
cli.add_typer(disposal_cli, name="disposal")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
S = TypeVar("S", Settings, MigrationSettings)
log = structlog.get_logger("iub")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"iub {version('iub')}")
        except PackageNotFoundError:  # pragma: no cover - run from a tree that was never installed
            typer.echo("iub (not installed)")
        raise typer.Exit()


@cli.callback()
def _main_options(
    _version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """iub: IUB interventions (SoL 2025:400) – catalog, eligibility, documentation."""


def _settings() -> Settings:
    """The settings, with logging configured from them (every line through the masker)."""
    return _validated(get_settings)


def _validated(load: Callable[[], S]) -> S:
    from app.core.logging import configure_logging

    try:
        settings = load()
    except ValidationError as exc:
        messages = "; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors())
        typer.echo(f"iub: invalid settings: {messages}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_format, settings.log_level)
    return settings


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Processes (uvicorn workers), each with its own pool.", min=1)] = 1,
) -> None:
    """Serve the API (Swagger UI at /docs)."""
    from app.main import create_app

    settings = _settings()
    require_migrated(settings.database_url)
    if workers > 1:
        # Each worker process builds its own app from the environment's settings.
        serve_app("app.main:create_served_app", settings, host=host, port=port, workers=workers)
    else:
        serve_app(create_app(settings, freeze_heap=True), settings, host=host, port=port)


def serve_app(app: Any, settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    """Run `app` under uvicorn with our logging: uvicorn's own lines (startup, "Exception in ASGI
    application" with its traceback) go through the same masked pipeline as ours. Uvicorn's
    access log is off: the request-context middleware writes one (route template, no query).
    With `workers` > 1, `app` is the import string of an app factory."""
    import uvicorn

    from app.core.logging import logging_config

    log_config = logging_config(settings.log_format, settings.log_level)
    if workers > 1:
        options: dict[str, Any] = {"factory": True, "workers": workers}
        uvicorn.run(app, host=host, port=port, access_log=False, log_config=log_config, **options)
        return
    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_config=log_config)
    server = _announcing_server_class()(config)
    server.run()
    if not server.started:  # as `uvicorn.run`: the port was taken, or the application did not start
        sys.exit(3)


def _announcing_server_class() -> type[Any]:
    import uvicorn

    class AnnouncingServer(uvicorn.Server):
        """Uvicorn's server with one line when it is ready (the address and Swagger UI's) and one
        when it has stopped, through the same logging pipeline as every other line."""

        async def startup(self, sockets: list[Any] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                base = _base_url(self)
                log.info(f"iub ready: {base} (Swagger UI: {base}/docs)")

        async def shutdown(self, sockets: list[Any] | None = None) -> None:
            await super().shutdown(sockets)
            log.info("iub stopped")

    return AnnouncingServer


def _base_url(server: Any) -> str:
    """The address the server listens on (the bound port, also when asked for port 0); a
    wildcard interface is shown as localhost, the address a browser on this machine opens."""
    host, port = server.config.host, server.config.port
    for listener in getattr(server, "servers", []):
        for sock in listener.sockets:
            host, port = sock.getsockname()[:2]
            break
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def alembic_config(url: str | None = None) -> object:
    from alembic.config import Config

    # The source tree in development; the working directory in an installed image.
    root = next((p for p in (PROJECT_ROOT, Path.cwd()) if (p / "alembic.ini").is_file()), PROJECT_ROOT)
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


@cli.command()
def migrate() -> None:
    """Bring the database schema to the latest migration (needs only IUB_DATABASE_URL, in prod too)."""
    from alembic import command

    # Not `_settings()`: migrating uses no auth or secrets, so prod's checks of those do not apply.
    settings = _validated(MigrationSettings)
    _ensure_sqlite_dir(settings.database_url)
    command.upgrade(alembic_config(settings.database_url), "head")  # type: ignore[arg-type]
    typer.echo("database migrated")


def require_migrated(url: str) -> None:
    """Serve only a database that `iub migrate` has brought to this version: otherwise one line
    naming the next step and exit 1, rather than a start-up that fails with a traceback."""
    import logging

    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)  # a check: not alembic's lines of a migration
    try:
        current, heads = asyncio.run(_schema_revisions(url))
    finally:
        alembic_log.setLevel(level)
    if current is None:
        typer.echo(f"iub: {_NO_TABLES}", err=True)
        raise typer.Exit(1)
    if current not in heads:
        known = current in _known_revisions(url)
        typer.echo(f"iub: {_SCHEMA_BEHIND if known else _SCHEMA_AHEAD} (revision {current})", err=True)
        raise typer.Exit(1)


async def _schema_revisions(url: str) -> tuple[str | None, tuple[str, ...]]:
    """The database's migration revision (None before `iub migrate`) and this version's head(s)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from app.core.db import make_engine

    heads = tuple(ScriptDirectory.from_config(alembic_config(url)).get_heads())  # type: ignore[arg-type]
    _ensure_sqlite_dir(url)
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    finally:
        await engine.dispose()
    return current, heads


def _known_revisions(url: str) -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(url))  # type: ignore[arg-type]
    return {revision.revision for revision in script.walk_revisions()}


def _run_fast(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop where it is installed (uvicorn[standard] brings it), else on asyncio."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _progress() -> Any:
    """A progress display for long jobs, on stderr and only on a terminal: piped or logged
    output stays the job's lines. Log lines meanwhile are printed above the bar."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


@catalog_cli.command("load")
def catalog_load(
    file: Annotated[
        Path | None, typer.Argument(help="A catalog YAML file (format: app/catalog/demo/README.md).")
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load the bundled demo catalog.")] = False,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Only when no decision is stored yet.")] = False,
) -> None:
    """Load committees and decisions; loading the same decisions twice changes nothing."""
    from app.catalog.loader import CatalogFormatError, demo_catalog_path, load_catalog_text
    from app.core.errors import ProblemError

    if (file is None) == (not demo):
        typer.echo("iub: give a FILE or --demo (one of them)", err=True)
        raise typer.Exit(2)
    path = demo_catalog_path() if demo else file
    assert path is not None
    try:
        committees, decisions = load_catalog_text(path.read_text(encoding="utf-8"))
    except (OSError, CatalogFormatError) as exc:
        typer.echo(f"iub: cannot read the catalog: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        added, unchanged, skipped = asyncio.run(_load(_settings(), committees, decisions, if_empty))
    except ProblemError as exc:
        typer.echo(f"iub: catalog not loaded: {exc.detail}", err=True)
        for violation in exc.extensions.get("violations", []):
            typer.echo(
                f"  - {violation['rule']} {violation['intervention_id'] or ''}: {violation['message']}",
                err=True,
            )
        raise typer.Exit(1) from None
    if skipped:
        typer.echo("catalog not empty: nothing loaded")
    else:
        typer.echo(f"catalog loaded: {added} decision(s) added, {unchanged} already present")
        from app.catalog.rules import decision_warnings

        for decision in decisions:
            for warning in decision_warnings(decision):
                typer.echo(
                    f"  warning: {decision.committee} {decision.reference} {warning.intervention_id or ''}: "
                    f"{warning.message}",
                    err=True,
                )


async def _load(
    settings: Settings, committees: list[Committee], decisions: list[Decision], if_empty: bool
) -> tuple[int, int, bool]:
    from sqlalchemy import func, select

    from app.catalog.models import DecisionRow
    from app.catalog.service import CatalogService
    from app.catalog.store import CatalogStore
    from app.core.db import Database

    db = Database.connect(settings.database_url)
    try:
        async with db.sessions() as session, session.begin():
            if if_empty and (await session.scalar(select(func.count()).select_from(DecisionRow))):
                return 0, 0, True
            with _progress() as progress:
                task = progress.add_task("loading decisions", total=len(decisions))
                added, unchanged = await CatalogService(session, CatalogStore()).load(
                    committees, decisions, on_decision=lambda: progress.advance(task)
                )
        return added, unchanged, False
    finally:
        await db.dispose()


# `iub token` without --sub/--unit/--committee, in dev and test only: a development caller in a
# unit of the demo catalog's committee sn-sydvast (what the README and Swagger UI's hints use).
DEV_TOKEN_DEFAULTS = {"sub": "dev", "unit": "unit-a", "committee": "sn-sydvast"}


@cli.command()
def token(
    sub: Annotated[str | None, typer.Option(help="The calling system or person (dev default: dev).")] = None,
    unit: Annotated[str | None, typer.Option(help="The provider unit (enhet) (dev default: unit-a).")] = None,
    committee: Annotated[
        str | None, typer.Option(help="The committee (dev default: sn-sydvast, of the demo catalog).")
    ] = None,
    scope: Annotated[str | None, typer.Option(help='Space-separated scopes, e.g. "catalog:read cases:write".')] = None,
    all_scopes: Annotated[bool, typer.Option("--all-scopes", help="Every scope the service knows.")] = False,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
) -> None:
    """Print a development token (HS256, signed with IUB_AUTH_DEV_SECRET). Not available in prod.

    In dev, `iub token --all-scopes` is enough: the claims default to a demo caller."""
    from app.core.auth import SCOPES, issue_dev_token

    if (scope is None) == (not all_scopes):
        typer.echo("iub: give --scope or --all-scopes (one of them), e.g. `iub token --all-scopes`", err=True)
        raise typer.Exit(2)
    scope = " ".join(SCOPES) if all_scopes else scope
    assert scope is not None
    unknown = sorted(set(scope.split()) - set(SCOPES))
    if unknown:
        typer.echo(f"iub: unknown scope(s): {' '.join(unknown)}; known: {' '.join(SCOPES)}", err=True)
        raise typer.Exit(2)
    settings = _settings()
    if not settings.uses_dev_tokens:
        typer.echo("iub: dev tokens are not issued with IUB_ENV=prod", err=True)
        raise typer.Exit(2)
    given = {"sub": sub, "unit": unit, "committee": committee}
    claims = {name: value if value is not None else DEV_TOKEN_DEFAULTS[name] for name, value in given.items()}
    typer.echo(issue_dev_token(settings, scope=scope, ttl_seconds=ttl, **claims))


@cli.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Deliver what is due now, then exit.")] = False,
    concurrency: Annotated[int, typer.Option(help="Cases/persons delivered at once.", min=1)] = 32,
    batch_size: Annotated[int, typer.Option(help="Cases/persons claimed per batch.", min=1)] = 200,
    lease_seconds: Annotated[float | None, typer.Option(help="Claim lease; default from the journal timeout.")] = None,
    poll_seconds: Annotated[float, typer.Option(help="Idle wait between polls.")] = 1.0,
    metrics_port: Annotated[int | None, typer.Option(help="Serve the worker's Prometheus counters here.")] = None,
    metrics_host: Annotated[str, typer.Option(help="Interface of the metrics port (0.0.0.0 in a container).")] = (
        "127.0.0.1"
    ),
) -> None:
    """Deliver outbox events to the journal system (several workers may run on PostgreSQL)."""
    settings = _settings()
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host)
    # uvloop: the worker is I/O-bound on many small HTTP requests (about 30 % faster over loopback).
    totals = _run_fast(_worker(settings, once, concurrency, batch_size, lease_seconds, poll_seconds))
    if once:
        _report_once(totals)


@dataclass
class _OnceTotals:
    delivered: int = 0
    failed_attempts: int = 0  # attempts that failed and were scheduled again (one event may fail twice)
    dead: int = 0
    waiting: int = 0  # at the end: events that failed and wait for their retry


def _report_once(totals: _OnceTotals) -> None:
    """`worker --once`: exit 1 when an event failed in this run and was dead-lettered or still
    waits for a retry at its end (an event that failed, then went through, is fine)."""
    typer.echo(f"{totals.delivered} event(s) delivered")
    if totals.dead:
        typer.echo(
            f"iub: {totals.dead} event(s) dead-lettered: see GET /v1/outbox?status=dead, "
            "then retry or skip each (POST /v1/outbox/{id}/retry or /skip)",
            err=True,
        )
    waiting = totals.waiting if totals.failed_attempts else 0
    if waiting:
        typer.echo(f"iub: {waiting} event(s) failed and wait for a retry (a later run tries them again)", err=True)
    if totals.dead or waiting:
        raise typer.Exit(1)


async def _drain_due(db: Any, run: Callable[[Callable[[Any], None]], Awaitable[int]]) -> _OnceTotals:
    """Deliver what is due now (`run`, told of every dispatch cycle), with a progress bar on a terminal."""
    import datetime as dt

    from sqlalchemy import func, select

    from app.journal.models import OutboxEvent

    def count(*where: Any) -> Any:
        return select(func.count()).select_from(OutboxEvent).where(OutboxEvent.status == "pending", *where)

    async with db.sessions() as session:
        due = await session.scalar(count(OutboxEvent.next_attempt_at <= dt.datetime.now(dt.UTC))) or 0
    totals = _OnceTotals()
    with _progress() as progress:
        task = progress.add_task("delivering outbox events", total=due)

        def on_cycle(cycle: Any) -> None:
            totals.delivered += cycle.delivered
            totals.failed_attempts += cycle.retried
            totals.dead += cycle.dead
            done = totals.delivered + totals.dead
            progress.update(task, completed=done, total=max(done, due))

        await run(on_cycle)
    if totals.failed_attempts:
        async with db.sessions() as session:
            totals.waiting = await session.scalar(count(OutboxEvent.attempts > 0)) or 0
    return totals


async def _worker(
    settings: Settings, once: bool, concurrency: int, batch_size: int, lease_seconds: float | None, poll_seconds: float
) -> _OnceTotals:
    import signal

    from app.core.db import Database
    from app.core.tracing import configure_tracing, flush_tracing, instrument_database
    from app.journal.runtime import run_worker

    db = Database.connect(settings.database_url)
    if configure_tracing(settings):
        instrument_database(db)
    options: dict[str, float | int] = {"batch_size": batch_size, "poll_interval": poll_seconds}
    if lease_seconds is not None:
        options["lease_seconds"] = lease_seconds
        options["event_timeout"] = min(3 * settings.journal_timeout_seconds + 1, lease_seconds / 2)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Requests in flight finish, events not yet begun are released, the batch completes: then exit.
        loop.add_signal_handler(sig, stop.set)
    try:
        if once:
            return await _drain_due(
                db,
                lambda on_cycle: run_worker(
                    db, settings, stop, concurrency=concurrency, once=True, options=options, on_cycle=on_cycle
                ),
            )
        disposal = asyncio.create_task(_disposal_daily(db, settings, stop)) if settings.disposal_in_worker else None
        await run_worker(db, settings, stop, concurrency=concurrency, options=options)
        if disposal is not None:
            await disposal
        return _OnceTotals()
    finally:
        flush_tracing()
        await db.dispose()


async def _disposal_daily(db: Any, settings: Settings, stop: asyncio.Event) -> None:
    from app.disposal.schedule import run_daily

    await run_daily(db, settings, stop)


@cli.command("journal-sim")
def journal_sim(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8090,
    latency_ms: Annotated[float, typer.Option(help="Delay before every request.")] = 0.0,
    failure_rate: Annotated[float, typer.Option(help="Share of requests answered 500/503 (0..1).")] = 0.0,
    drop_rate: Annotated[float, typer.Option(help="Share of writes applied whose response is lost (0..1).")] = 0.0,
    timeout_rate: Annotated[float, typer.Option(help="Share of writes that hang, then 504 (0..1).")] = 0.0,
    timeout_seconds: Annotated[float, typer.Option(help="How long a hanging write hangs.")] = 30.0,
    burst_every: Annotated[int, typer.Option(help="503 bursts: every N requests (0: none).")] = 0,
    burst_length: Annotated[int, typer.Option(help="503 bursts: the last N of every burst-every.")] = 0,
    retry_after: Annotated[int, typer.Option(help="Retry-After seconds on 503.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the fault dice.")] = 0,
) -> None:
    """Serve the journal-system simulator (state at GET /_sim/state, faults at /_sim/faults)."""
    from app.journal.simulator import SimulatorFaults, run_simulator

    try:
        faults = SimulatorFaults(
            latency_ms=latency_ms,
            failure_rate=failure_rate,
            drop_rate=drop_rate,
            timeout_rate=timeout_rate,
            timeout_seconds=timeout_seconds,
            burst_every=burst_every,
            burst_length=burst_length,
            retry_after_seconds=retry_after,
            seed=seed,
        )
    except ValueError as exc:
        typer.echo(f"iub: {exc}", err=True)
        raise typer.Exit(2) from None
    run_simulator(host, port, faults)


@cli.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be purged, delete nothing.")] = False,
) -> None:
    """Housekeeping (run it daily): expired Idempotency-Keys, long-delivered and long-skipped outbox events,
    audit records older than IUB_AUDIT_RETENTION_YEARS."""
    settings = _settings()
    keys, events, audit = asyncio.run(_purge(settings, dry_run=dry_run))
    verb = "would purge" if dry_run else "purged"
    typer.echo(f"{verb} {keys} expired idempotency key(s) and {events} delivered or skipped outbox event(s)")
    typer.echo(f"{verb} {audit} audit record(s) older than {settings.audit_retention_years} year(s)")


async def _purge(settings: Settings, *, dry_run: bool = False) -> tuple[int, int, int]:
    import datetime as dt

    from app.cases.audit_deletion import purge_audit, years_before
    from app.core.db import Database
    from app.journal.outbox import purge_delivered
    from app.kit.idempotency import purge_expired

    db = Database.connect(settings.database_url)
    now = dt.datetime.now(dt.UTC)
    try:
        with _progress() as progress:
            task = progress.add_task("purging", total=3)
            # --dry-run runs the very same deletes and rolls them back: the counts are exactly what a
            # real run would delete at this moment.
            async with db.sessions() as session:
                keys = await purge_expired(session, now)
                progress.advance(task)
                events = await purge_delivered(session, now - dt.timedelta(days=settings.outbox_retention_days))
                progress.advance(task)
                await (session.rollback() if dry_run else session.commit())
            # The audit trail can be large: its own batches, each a transaction (a dry run counts).
            audit = await purge_audit(db, years_before(now, settings.audit_retention_years), dry_run=dry_run)
            progress.advance(task)
        return keys, events, audit
    finally:
        await db.dispose()


@stats_cli.command("refresh")
def stats_refresh(
    committee: Annotated[
        list[str] | None, typer.Option("--committee", help="A committee id (repeatable); default: every one.")
    ] = None,
) -> None:
    """Recompute the published statistics now. Schedule it (e.g. every few minutes) so that reads never wait."""
    for name, seconds in asyncio.run(_stats_refresh(_settings(), committee or [])):
        typer.echo(f"{name}: statistics refreshed in {seconds:.1f} s")


async def _stats_refresh(settings: Settings, committees: list[str]) -> list[tuple[str, float]]:
    import time

    from app.catalog.repository import CatalogRepository
    from app.core.db import Database
    from app.stats.service import refresh

    db = Database.connect(settings.database_url)
    forced = settings.model_copy(update={"stats_refresh_seconds": 0})
    done = []
    try:
        if not committees:
            async with db.sessions() as session:
                known, _ = await CatalogRepository(session).load_all()
            committees = sorted(c.id for c in known)
        for committee in committees:
            started = time.perf_counter()
            await refresh(db, committee, forced)
            done.append((committee, time.perf_counter() - started))
        return done
    finally:
        await db.dispose()


# --- errors a user can act on: one line with the next step, no traceback ----------------------

# PostgreSQL's SQLSTATEs (asyncpg's `sqlstate`) and SQLite's messages that mean the same.
_NO_TABLES = "the database has no tables: run `iub migrate` first"
_SCHEMA_BEHIND = "the database schema is older than this version of iub: run `iub migrate`"
_SCHEMA_AHEAD = "the database was migrated by a newer version of iub than this one: run that version"
_KNOWN_DATABASE_ERRORS = {"42P01": _NO_TABLES, "42703": _SCHEMA_BEHIND}
_KNOWN_SQLITE_ERRORS = {"no such table": _NO_TABLES, "no such column": _SCHEMA_BEHIND}


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (causes, contexts, a DBAPI error's original), each once."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending and len(seen) < 20:
        current = pending.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        pending.extend((current.__cause__, current.__context__, getattr(current, "orig", None)))
    return seen


def explain_error(exc: BaseException) -> str | None:
    """What went wrong and what to do next, for errors a user can act on; None for the others
    (a bug: logged with its traceback). Never quotes the exception's message: a database error's
    message can carry a bound value."""
    from app.core.db import database_unavailable

    for cause in _causes(exc):
        sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if sqlstate in _KNOWN_DATABASE_ERRORS:
            return _KNOWN_DATABASE_ERRORS[str(sqlstate)]
        if sqlstate == "3D000":
            return f"the database does not exist: create it (e.g. `createdb`), then run `iub migrate` ({_where()})"
        if isinstance(cause, sqlite3.OperationalError):
            message = str(cause).lower()
            for start, explanation in _KNOWN_SQLITE_ERRORS.items():
                if message.startswith(start):
                    return explanation
    if database_unavailable(exc):
        return f"cannot reach the database ({_where()}): is it running? Check IUB_DATABASE_URL"
    return None


def _where() -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(MigrationSettings().database_url).render_as_string(hide_password=True)
    except Exception:
        return "IUB_DATABASE_URL"


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        explanation = explain_error(exc)
        if explanation is not None:
            typer.echo(f"iub: {explanation}", err=True)
            sys.exit(1)
        from app.core.logging import log_uncaught

        log_uncaught()  # masked: the message of a database error can carry a bound value
        sys.exit(1)


if __name__ == "__main__":
    main()
