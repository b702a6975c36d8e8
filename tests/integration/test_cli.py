"""The `iub` command line: migrate, idempotent catalog loading, dev tokens, prod refusal, errors that
name the next step, exit codes of jobs, --dry-run, --version, the server's ready line."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from sqlalchemy import select, update

from alembic import command
from app.cases.models import AuditRecordRow
from app.cli import alembic_config
from app.core.auth import SCOPES
from app.core.db import Database
from app.journal.models import OutboxEvent
from app.journal.outbox import enqueue
from tests.conftest import IN_CI, PG_HOST, PG_PORT, PG_USER, TEST_SECRET, _pg_admin, _postgres_available
from tests.integration.cli_support import LineReader
from tests.integration.outbox_support import case_events, insert_events


def iub(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "IUB_ENV": "test", "IUB_AUTH_DEV_SECRET": TEST_SECRET, **env}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=environment, timeout=120
    )


@pytest.mark.usefixtures("db")
def test_loading_the_demo_catalog_twice_changes_nothing(database_url: str) -> None:
    assert iub("migrate", IUB_DATABASE_URL=database_url).returncode == 0
    first = iub("catalog", "load", "--demo", IUB_DATABASE_URL=database_url)
    assert first.returncode == 0, first.stderr
    assert "4 decision(s) added" in first.stdout
    second = iub("catalog", "load", "--demo", IUB_DATABASE_URL=database_url)
    assert "0 decision(s) added, 4 already present" in second.stdout
    skipped = iub("catalog", "load", "--demo", "--if-empty", IUB_DATABASE_URL=database_url)
    assert "nothing loaded" in skipped.stdout


def test_token_prints_a_verifiable_dev_token() -> None:
    result = iub("token", "--sub", "me", "--unit", "u1", "--committee", "sn-sydvast", "--scope", "catalog:read")
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), TEST_SECRET, algorithms=["HS256"], audience="iub", issuer="iub-dev")
    assert claims["unit"] == "u1" and claims["scope"] == "catalog:read"


def test_token_refuses_unknown_scopes() -> None:
    result = iub("token", "--sub", "me", "--unit", "u1", "--committee", "c", "--scope", "everything")
    assert result.returncode == 2
    assert "unknown scope" in result.stderr


def test_prod_start_with_dev_auth_refuses_with_a_clear_message() -> None:
    result = iub("serve", IUB_ENV="prod")
    assert result.returncode == 2
    assert "refusing to start with IUB_ENV=prod" in result.stderr


@pytest.mark.usefixtures("db")
def test_purge_runs_as_a_daily_job(database_url: str) -> None:
    result = iub("purge", IUB_DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert "purged 0 expired idempotency key(s) and 0 delivered or skipped outbox event(s)" in result.stdout
    assert "purged 0 audit record(s) older than 10 year(s)" in result.stdout


@pytest.mark.usefixtures("demo_catalog")
def test_stats_refresh_recomputes_every_committee(database_url: str) -> None:
    result = iub("stats", "refresh", IUB_DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert "sn-sydvast: statistics refreshed" in result.stdout and "sn-centrum" in result.stdout


# --- dev tokens: `iub token --all-scopes` is the whole command in dev ---------------------------


def test_token_all_scopes_needs_no_other_option_in_dev() -> None:
    result = iub("token", "--all-scopes")
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), TEST_SECRET, algorithms=["HS256"], audience="iub", issuer="iub-dev")
    assert (claims["sub"], claims["unit"], claims["committee"]) == ("dev", "unit-a", "sn-sydvast")
    assert claims["scope"].split() == list(SCOPES)


def test_token_options_override_the_dev_defaults() -> None:
    result = iub("token", "--all-scopes", "--unit", "unit-b", "--committee", "sn-centrum")
    claims = jwt.decode(result.stdout.strip(), TEST_SECRET, algorithms=["HS256"], audience="iub", issuer="iub-dev")
    assert (claims["sub"], claims["unit"], claims["committee"]) == ("dev", "unit-b", "sn-centrum")


def test_token_needs_scope_or_all_scopes() -> None:
    result = iub("token")
    assert result.returncode == 2
    assert "iub token --all-scopes" in result.stderr


def test_token_defaults_are_refused_in_prod() -> None:
    result = iub("token", "--all-scopes", IUB_ENV="prod")
    assert result.returncode == 2 and not result.stdout


def test_version() -> None:
    result = iub("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("iub ")


# --- errors that say what to do next --------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that exists and has no tables (no `iub migrate` yet)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    why_not = _postgres_available()
    if why_not is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL is not reachable: {why_not} (CI requires PostgreSQL)")
        pytest.skip(f"PostgreSQL is not reachable: {why_not}")
    name = f"iub_test_empty_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_job_before_migrate_says_to_migrate_in_one_line(empty_database_url: str) -> None:
    jobs = (
        ("catalog", "load", "--demo"),
        ("purge",),
        ("worker", "--once"),
        ("stats", "refresh"),
        ("serve", "--port", "0"),
    )
    for job in jobs:
        result = iub(*job, IUB_DATABASE_URL=empty_database_url)
        assert result.returncode == 1, (job, result.stderr)
        assert result.stderr == "iub: the database has no tables: run `iub migrate` first\n", job
        assert "Traceback" not in result.stdout


def test_serve_refuses_a_schema_older_than_this_version(empty_database_url: str) -> None:
    command.upgrade(alembic_config(empty_database_url), "0010")  # type: ignore[arg-type]
    result = iub("serve", "--port", "0", IUB_DATABASE_URL=empty_database_url)
    assert result.returncode == 1
    assert result.stderr == (
        "iub: the database schema is older than this version of iub: run `iub migrate` (revision 0010)\n"
    )


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    url = "postgresql+asyncpg://someone:hunter2@127.0.0.1:9/iub"  # port 9 (discard): nothing listens
    result = iub("purge", IUB_DATABASE_URL=url)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "cannot reach the database" in lines[0] and "IUB_DATABASE_URL" in lines[0]
    assert "hunter2" not in result.stderr


def test_migrate_in_prod_needs_only_the_database_url(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IUB_")}
    environment.update(IUB_ENV="prod", IUB_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'prod.sqlite3'}")
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"], capture_output=True, text=True, env=environment, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "database migrated" in result.stdout
    # Serving still refuses without the auth settings.
    refused = subprocess.run(
        [sys.executable, "-m", "app.cli", "purge"], capture_output=True, text=True, env=environment, timeout=120
    )
    assert refused.returncode == 2 and "refusing to start with IUB_ENV=prod" in refused.stderr


# --- jobs: exit codes and --dry-run ---------------------------------------------------------------


async def _events(db: Database, count: int) -> list[str]:
    async with db.sessions() as session, session.begin():
        return [
            enqueue(session, aggregate_type="case", aggregate_id=str(uuid.uuid4()), kind="case.note_added",
                    payload={}, committee="sn-sydvast")
            for _ in range(count)
        ]  # fmt: skip


@pytest.mark.parametrize(
    ("max_attempts", "status", "message"), [(1, "dead", "dead-lettered"), (5, "pending", "failed and wait for a retry")]
)
async def test_worker_once_exits_1_when_an_event_fails(
    db: Database, database_url: str, max_attempts: int, status: str, message: str
) -> None:
    registrations = [
        event for index in range(2) for event in case_events(index, str(uuid.uuid4()), notes=0, close=False)
    ]
    ids = await insert_events(db, registrations)
    result = await asyncio.to_thread(
        iub, "worker", "--once",
        IUB_DATABASE_URL=database_url,
        IUB_JOURNAL_BASE_URL="http://127.0.0.1:9",  # nothing listens: every delivery fails
        IUB_OUTBOX_MAX_ATTEMPTS=str(max_attempts),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "0 event(s) delivered" in result.stdout
    assert f"iub: 2 event(s) {message}" in result.stderr
    async with db.sessions() as session:
        statuses = (await session.scalars(select(OutboxEvent.status).where(OutboxEvent.id.in_(ids)))).all()
    assert set(statuses) == {status}


async def test_purge_dry_run_counts_and_deletes_nothing(db: Database, database_url: str) -> None:
    ids = await _events(db, 3)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.id.in_(ids[:2])).values(status="delivered", delivered_at=long_ago)
        )
    async with db.sessions() as session, session.begin():
        for years in (11, 9):  # one past IUB_AUDIT_RETENTION_YEARS (10), one within
            session.add(
                AuditRecordRow(
                    id=str(uuid.uuid4()),
                    at=dt.datetime.now(dt.UTC) - dt.timedelta(days=366 * years),
                    actor="s",
                    committee="sn-sydvast",
                    unit="unit-a",
                    action="case.read",
                    why_code="carrying_out",
                )
            )
    dry = await asyncio.to_thread(iub, "purge", "--dry-run", IUB_DATABASE_URL=database_url)
    assert dry.returncode == 0, dry.stderr
    assert "would purge 0 expired idempotency key(s) and 2 delivered or skipped outbox event(s)" in dry.stdout
    assert "would purge 1 audit record(s) older than 10 year(s)" in dry.stdout
    async with db.sessions() as session:
        assert len((await session.scalars(select(OutboxEvent.id))).all()) == 3
    real = await asyncio.to_thread(iub, "purge", IUB_DATABASE_URL=database_url)
    assert "purged 0 expired idempotency key(s) and 2 delivered or skipped outbox event(s)" in real.stdout
    assert "purged 1 audit record(s) older than 10 year(s)" in real.stdout
    async with db.sessions() as session:
        assert (await session.scalars(select(OutboxEvent.id))).all() == [ids[2]]
        assert len((await session.scalars(select(AuditRecordRow.id))).all()) == 1


# --- serve: a line when ready (address and Swagger UI), a line when stopped -------------------------


def test_serve_says_where_it_listens_and_when_it_stopped(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}"
    assert iub("migrate", IUB_DATABASE_URL=url).returncode == 0
    environment = {**os.environ, "IUB_ENV": "test", "IUB_AUTH_DEV_SECRET": TEST_SECRET, "IUB_DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", "0"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=environment,
    )  # fmt: skip
    try:
        stderr = LineReader(server)
        ready = stderr.wait_for("iub ready: ", timeout=60)
        assert "iub ready: http://127.0.0.1:" in ready and "(Swagger UI: http://127.0.0.1:" in ready
        assert "/docs)" in ready
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        assert stderr.wait_for("iub stopped", timeout=5)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


@pytest.mark.usefixtures("db")
def test_long_jobs_draw_a_progress_bar_on_a_terminal_only(database_url: str) -> None:
    piped = iub("catalog", "load", "--demo", IUB_DATABASE_URL=database_url, TTY_COMPATIBLE="0")
    assert piped.returncode == 0 and "loading decisions" not in piped.stderr
    on_terminal = iub("purge", "--dry-run", IUB_DATABASE_URL=database_url, TTY_COMPATIBLE="1")
    assert on_terminal.returncode == 0, on_terminal.stderr
    assert "purging" in on_terminal.stderr and "3/3" in on_terminal.stderr
    loaded = iub("catalog", "load", "--demo", IUB_DATABASE_URL=database_url, TTY_COMPATIBLE="1")
    assert "loading decisions" in loaded.stderr and "4/4" in loaded.stderr
