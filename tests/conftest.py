"""Test harness: every database test runs on SQLite and on PostgreSQL.

Each run makes its own databases (a temporary SQLite file; a uniquely named PostgreSQL
database, dropped afterwards), builds them with `alembic upgrade head` and empties the
tables after each test. Without PostgreSQL the PostgreSQL half is skipped locally and
fails in CI (`CI=true`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings
from sqlalchemy import delete, insert

from app.cases.models import AuditDeleteGrantRow
from app.catalog.loader import demo_catalog_path, load_catalog_text
from app.catalog.service import CatalogService
from app.catalog.store import CatalogStore
from app.core.auth import SCOPES, issue_dev_token
from app.core.db import Database
from app.core.settings import Env, LogFormat, Settings
from app.main import create_app
from app.models import Base

PG_HOST = os.environ.get("IUB_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("IUB_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("IUB_TEST_PG_USER", "postgres")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_SECRET = "test-secret-for-the-test-suite-only"
ALL_SCOPES = " ".join(SCOPES)

# Property tests judge rules, not speed: on a loaded 2-core machine a per-example deadline
# fails examples for the machine's sake, so it is off everywhere.
hypothesis_settings.register_profile("iub", deadline=None)
hypothesis_settings.load_profile("iub")


def run_migrations(url: str) -> None:
    from alembic import command
    from app.cli import alembic_config

    command.upgrade(alembic_config(url), "head")  # type: ignore[arg-type]


async def _pg_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _postgres_available() -> str | None:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception as exc:  # report why, never silently
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Make, migrate and (after the run) drop the test databases."""
    urls: dict[str, str] = {}
    sqlite_file = Path(tmp_path_factory.mktemp("db")) / "iub-test.sqlite3"
    urls["sqlite"] = f"sqlite+aiosqlite:///{sqlite_file}"
    run_migrations(urls["sqlite"])
    pg_name = f"iub_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    why_not = _postgres_available()
    if why_not is None:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{pg_name}"'))
        urls["postgresql"] = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{pg_name}"
        run_migrations(urls["postgresql"])
    else:
        urls["postgresql_unavailable"] = why_not
    yield urls
    if "postgresql" in urls:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, database_urls: dict[str, str]) -> str:
    name: str = request.param
    if name not in database_urls:
        message = f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}: {database_urls.get('postgresql_unavailable')}"
        if IN_CI:
            pytest.fail(message + " (CI requires PostgreSQL)")
        pytest.skip(message)
    return name


@pytest.fixture(scope="session")
def database_url(backend: str, database_urls: dict[str, str]) -> str:
    return database_urls[backend]


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database.connect(database_url)
    yield db
    await db.dispose()


async def empty_tables(db: Database) -> None:
    grants = AuditDeleteGrantRow.__table__
    async with db.engine.begin() as connection:
        # Audit records go only where a grant is in sight (migration 0017): one for this transaction.
        await connection.execute(insert(grants).values(id="empty-tables", reason="tests"))
        for table in reversed(Base.metadata.sorted_tables):
            if table is not grants:
                await connection.execute(delete(table))
        await connection.execute(delete(grants))


@pytest.fixture
async def db(database: Database) -> AsyncIterator[Database]:
    """The test's database, emptied after the test."""
    yield database
    await empty_tables(database)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": Env.test,
        "database_url": database_url,
        "auth_dev_secret": TEST_SECRET,
        "log_format": LogFormat.json,
        "catalog_refresh_seconds": 0,
        "outbox_in_process": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def demo_catalog(db: Database) -> Database:
    """The bundled demo catalog, loaded as `iub catalog load --demo` would."""
    committees, decisions = load_catalog_text(demo_catalog_path().read_text(encoding="utf-8"))
    async with db.sessions() as session, session.begin():
        await CatalogService(session, CatalogStore()).load(committees, decisions)
    return db


@pytest.fixture
async def app(settings: Settings, db: Database) -> AsyncIterator[FastAPI]:
    application = create_app(settings, database=db)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://iub.test") as http:
        yield http


TokenFactory = Callable[..., str]


@pytest.fixture
def token(settings: Settings) -> TokenFactory:
    """`token("catalog:read", unit="u1")` -> a bearer token for the test settings."""

    def make(
        scope: str = ALL_SCOPES,
        *,
        sub: str = "test-system",
        unit: str = "unit-a",
        committee: str = "sn-sydvast",
        ttl: int = 3600,
    ) -> str:
        return issue_dev_token(settings, sub=sub, unit=unit, committee=committee, scope=scope, ttl_seconds=ttl)

    return make


@pytest.fixture
def auth(token: TokenFactory) -> Callable[..., dict[str, str]]:
    """`auth("cases:write", unit="u2")` -> headers with a bearer token."""

    def headers(scope: str = ALL_SCOPES, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(scope, **kwargs)}"}

    return headers
