"""The `iub` command line: migrate, idempotent catalog loading, dev tokens, prod refusal."""

from __future__ import annotations

import os
import subprocess
import sys

import jwt
import pytest

from tests.conftest import TEST_SECRET


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


@pytest.mark.usefixtures("demo_catalog")
def test_stats_refresh_recomputes_every_committee(database_url: str) -> None:
    result = iub("stats", "refresh", IUB_DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert "sn-sydvast: statistics refreshed" in result.stdout and "sn-centrum" in result.stdout
