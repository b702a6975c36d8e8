"""The `iub` command line: serve, migrate, load the catalog, print dev tokens, run jobs."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from app.catalog.domain import Committee, Decision
from app.core.settings import Settings, get_settings
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


def _settings() -> Settings:
    """The settings, with logging configured from them (every line through the masker)."""
    from app.core.logging import configure_logging

    try:
        settings = get_settings()
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
    if workers > 1:
        # Each worker process builds its own app from the environment's settings.
        serve_app("app.main:create_app", settings, host=host, port=port, workers=workers)
    else:
        serve_app(create_app(settings), settings, host=host, port=port)


def serve_app(app: Any, settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    """Run `app` under uvicorn with our logging: uvicorn's own lines (startup, "Exception in ASGI
    application" with its traceback) go through the same masked pipeline as ours. Uvicorn's
    access log is off: the request-context middleware writes one (route template, no query).
    With `workers` > 1, `app` is the import string of an app factory."""
    import uvicorn

    from app.core.logging import logging_config

    log_config = logging_config(settings.log_format, settings.log_level)
    options: dict[str, Any] = {"factory": True, "workers": workers} if workers > 1 else {}
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=log_config, **options)


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
    """Bring the database schema to the latest migration."""
    from alembic import command

    settings = _settings()
    _ensure_sqlite_dir(settings.database_url)
    command.upgrade(alembic_config(settings.database_url), "head")  # type: ignore[arg-type]
    typer.echo("database migrated")


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
            added, unchanged = await CatalogService(session, CatalogStore()).load(committees, decisions)
        return added, unchanged, False
    finally:
        await db.dispose()


@cli.command()
def token(
    sub: Annotated[str, typer.Option(help="The calling system or person.")],
    unit: Annotated[str, typer.Option(help="The provider unit (enhet).")],
    committee: Annotated[str, typer.Option(help="The committee, e.g. sn-sydvast.")],
    scope: Annotated[str, typer.Option(help='Space-separated scopes, e.g. "catalog:read cases:write".')],
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
) -> None:
    """Print a development token (HS256, signed with IUB_AUTH_DEV_SECRET). Not available in prod."""
    from app.core.auth import SCOPES, issue_dev_token

    unknown = sorted(set(scope.split()) - set(SCOPES))
    if unknown:
        typer.echo(f"iub: unknown scope(s): {' '.join(unknown)}; known: {' '.join(SCOPES)}", err=True)
        raise typer.Exit(2)
    settings = _settings()
    if not settings.uses_dev_tokens:
        typer.echo("iub: dev tokens are not issued with IUB_ENV=prod", err=True)
        raise typer.Exit(2)
    typer.echo(issue_dev_token(settings, sub=sub, unit=unit, committee=committee, scope=scope, ttl_seconds=ttl))


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
    delivered = _run_fast(_worker(settings, once, concurrency, batch_size, lease_seconds, poll_seconds))
    if once:
        typer.echo(f"{delivered} event(s) delivered")


async def _worker(
    settings: Settings, once: bool, concurrency: int, batch_size: int, lease_seconds: float | None, poll_seconds: float
) -> int:
    import signal

    from app.core.db import Database
    from app.core.tracing import configure_tracing, instrument_database
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
            return await run_worker(db, settings, stop, concurrency=concurrency, once=True, options=options)
        disposal = asyncio.create_task(_disposal_daily(db, settings, stop)) if settings.disposal_in_worker else None
        await run_worker(db, settings, stop, concurrency=concurrency, options=options)
        if disposal is not None:
            await disposal
        return 0
    finally:
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
def purge() -> None:
    """Housekeeping (run it daily): expired Idempotency-Keys, long-delivered and long-skipped outbox events."""
    settings = _settings()
    keys, events = asyncio.run(_purge(settings))
    typer.echo(f"purged {keys} expired idempotency key(s) and {events} delivered or skipped outbox event(s)")


async def _purge(settings: Settings) -> tuple[int, int]:
    import datetime as dt

    from app.core.db import Database
    from app.journal.outbox import purge_delivered
    from app.kit.idempotency import purge_expired

    db = Database.connect(settings.database_url)
    now = dt.datetime.now(dt.UTC)
    try:
        async with db.sessions() as session, session.begin():
            keys = await purge_expired(session, now)
            events = await purge_delivered(session, now - dt.timedelta(days=settings.outbox_retention_days))
        return keys, events
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


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:
        from app.core.logging import log_uncaught

        log_uncaught()  # masked: the message of a database error can carry a bound value
        sys.exit(1)


if __name__ == "__main__":
    main()
