"""Swagger UI works offline: opened in headless Chromium, it renders the operations and
"Try it out" reaches the API. Every request that would leave the machine is blocked and
counted. Runs whenever a Chromium is present; in CI its absence is a failure."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.catalog.loader import demo_catalog_path, load_catalog_text
from app.catalog.service import CatalogService
from app.catalog.store import CatalogStore
from app.core.auth import issue_dev_token
from app.core.db import Database
from tests.conftest import IN_CI, make_settings, run_migrations

pytestmark = pytest.mark.browser


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    message = "no Chromium on this machine (Debian: apt-get install chromium)"
    if IN_CI:
        pytest.fail(message + "; CI requires it")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _load_demo(url: str) -> None:
    db = Database.connect(url)
    committees, decisions = load_catalog_text(demo_catalog_path().read_text(encoding="utf-8"))
    async with db.sessions() as session, session.begin():
        await CatalogService(session, CatalogStore()).load(committees, decisions)
    await db.dispose()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    import uvicorn

    from app.main import create_app

    url = f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}"
    run_migrations(url)
    asyncio.run(_load_demo(url))
    settings = make_settings(url)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    token = issue_dev_token(settings, sub="browser", unit="unit-a", committee="sn-sydvast", scope="catalog:read")
    yield f"http://127.0.0.1:{port}", token
    server.should_exit = True
    thread.join(timeout=10)


def test_swagger_ui_renders_offline_and_try_it_out_reaches_the_api(live_server: tuple[str, str]) -> None:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    base, token = live_server
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
                "--disable-quic",
            ],
            env={**os.environ, "HOME": os.environ.get("HOME", "/tmp")},
        )
        try:
            page = browser.new_page()

            def guard(route):  # type: ignore[no-untyped-def]
                if route.request.url.startswith(base):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", guard)
            page.goto(f"{base}/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            assert page.locator(".opblock").count() >= 8
            assert page.get_by_text("/v1/catalog/interventions", exact=True).count() >= 1

            page.click("button.authorize")
            page.fill(".modal-ux input[type=text]", token)
            page.click(".modal-ux .auth-btn-wrapper button.authorize")
            page.click(".modal-ux button.btn-done")

            operation = page.locator("[id^='operations-catalog-list_committees']")
            operation.locator(".opblock-summary").first.click()
            operation.locator("button.try-out__btn").click()
            operation.locator("button.execute").click()
            status = operation.locator(".live-responses-table tbody .response-col_status").first
            status.wait_for(timeout=20_000)
            assert status.inner_text().strip().startswith("200")
            assert "sn-sydvast" in operation.locator(".live-responses-table").inner_text()

            assert outside == [], "Swagger UI tried to reach the internet"

            # ReDoc renders with the network blocked; its only outside request is its own
            # "powered by" logo, which is cosmetic and blocked like everything else.
            page.goto(f"{base}/redoc")
            page.wait_for_selector("text=IUB interventions", timeout=20_000)
            assert all("redoc" in url and url.endswith(".svg") for url in outside)
        finally:
            browser.close()
