"""What the browser tests share: the service on a real port, headless Chromium with the internet
blocked, a dev token from the CLI, and screenshots kept for a person to look at.

Chromium runs whenever one is installed; in CI (`CI=true`) its absence is a failure. Screenshots
go to `IUB_TEST_ARTIFACTS` (default `var/test-artifacts`); their paths are printed and recorded as
the test's `screenshot` property (in the JUnit XML), so that they are attached to the test output.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.catalog.loader import demo_catalog_path, load_catalog_text
from app.catalog.service import CatalogService
from app.catalog.store import CatalogStore
from app.core.db import Database
from app.core.settings import Settings
from tests.conftest import IN_CI, TEST_SECRET, make_settings, run_migrations

ARTIFACTS = Path(os.environ.get("IUB_TEST_ARTIFACTS", "var/test-artifacts"))

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def chromium() -> str:
    """The Chromium executable; skips the test without one (fails it in CI)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    message = "no Chromium on this machine (Debian: apt-get install chromium)"
    if IN_CI:
        pytest.fail(message + "; CI requires it")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def load_demo(url: str) -> None:
    """The demo catalog, loaded as `iub catalog load --demo` loads it."""
    db = Database.connect(url)
    committees, decisions = load_catalog_text(demo_catalog_path().read_text(encoding="utf-8"))
    async with db.sessions() as session, session.begin():
        await CatalogService(session, CatalogStore()).load(committees, decisions)
    await db.dispose()


@dataclass
class LiveServer:
    base: str
    settings: Settings


@contextmanager
def live_server(
    tmp_path: Path, name: str, prepare: Callable[[str], Awaitable[None]] | None = None
) -> Iterator[LiveServer]:
    """The app on a free port over a migrated SQLite database with the demo catalog (and `prepare`)."""
    import uvicorn

    from app.main import create_app

    url = f"sqlite+aiosqlite:///{tmp_path / f'{name}.sqlite3'}"
    run_migrations(url)
    asyncio.run(load_demo(url))
    if prepare is not None:
        asyncio.run(prepare(url))
    settings = make_settings(url)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def dev_token_all_scopes() -> str:
    """A dev token as the README tells a developer to get one: `iub token --all-scopes`, run as a command.

    Signed with the tests' secret (`IUB_AUTH_DEV_SECRET`), as the service under test verifies it.
    An `iub` without `--all-scopes` is asked for the same token spelled out: the documented
    defaults (sub `dev`, unit `unit-a`, committee `sn-sydvast`) and every scope.
    """
    from app.core.auth import SCOPES

    iub = Path(sys.executable).with_name("iub")
    command = [str(iub)] if iub.exists() else [sys.executable, "-c", "from app.cli import cli; cli()"]
    env = {**os.environ, "IUB_ENV": "test", "IUB_AUTH_DEV_SECRET": TEST_SECRET}
    result = subprocess.run([*command, "token", "--all-scopes"], env=env, capture_output=True, text=True, timeout=60)
    if result.returncode != 0 and "--all-scopes" in result.stderr:
        spelled = ["--sub", "dev", "--unit", "unit-a", "--committee", "sn-sydvast", "--scope", " ".join(SCOPES)]
        result = subprocess.run([*command, "token", *spelled], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@dataclass
class Offline:
    """Every request that would leave the machine, blocked and counted."""

    base: str
    outside: list[str] = field(default_factory=list)

    def __call__(self, route: Any) -> None:
        if route.request.url.startswith(self.base):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()


@contextmanager
def browser_page(base: str, viewport: dict[str, int] | None = None) -> Iterator[tuple[Any, Offline]]:
    """A page of headless Chromium that reaches only `base`."""
    executable = chromium()
    from playwright.sync_api import sync_playwright

    offline = Offline(base)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=CHROMIUM_ARGS,
            env={**os.environ, "HOME": os.environ.get("HOME", "/tmp")},
        )
        try:
            page = browser.new_page(viewport=viewport or {"width": 1280, "height": 900})
            page.route("**/*", offline)
            yield page, offline
        finally:
            browser.close()


def keep_screenshot(
    page: Any, name: str, record_property: Callable[[str, object], None], *, full_page: bool = True
) -> Path:
    """Save a screenshot (the whole page, or what the window shows) and attach its path to the test's output."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = (ARTIFACTS / f"{name}.png").resolve()
    page.screenshot(path=str(shot), full_page=full_page)
    record_property("screenshot", str(shot))
    print(f"screenshot: {shot}")
    return shot
