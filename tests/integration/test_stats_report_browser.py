"""The yearly report renders in headless Chromium with every outside request blocked.

The screenshot is kept (path printed and recorded as the test's `screenshot` property) so that a
person can look at what the committee would see.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.auth import issue_dev_token
from app.core.db import Database
from tests.conftest import make_settings, run_migrations
from tests.integration.test_docs_browser import _chromium, _free_port, _load_demo
from tests.integration.test_stats_api import generated_cases, insert_cases

pytestmark = pytest.mark.browser

ARTIFACTS = Path(os.environ.get("IUB_TEST_ARTIFACTS", "var/test-artifacts"))


async def _generate(url: str) -> None:
    db = Database.connect(url)
    try:
        await insert_cases(db, generated_cases(seed=5, n=400))
    finally:
        await db.dispose()


@pytest.fixture
def report_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    import uvicorn

    from app.main import create_app

    url = f"sqlite+aiosqlite:///{tmp_path / 'report.sqlite3'}"
    run_migrations(url)
    asyncio.run(_load_demo(url))
    asyncio.run(_generate(url))
    settings = make_settings(url)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    token = issue_dev_token(settings, sub="browser", unit="unit-a", committee="sn-sydvast", scope="stats:read")
    yield f"http://127.0.0.1:{port}", token
    server.should_exit = True
    thread.join(timeout=10)


def test_the_yearly_report_renders_offline(report_server: tuple[str, str], record_property) -> None:  # type: ignore[no-untyped-def]
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    base, token = report_server
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
            env={**os.environ, "HOME": os.environ.get("HOME", "/tmp")},
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.set_extra_http_headers({"Authorization": f"Bearer {token}"})

            def guard(route):  # type: ignore[no-untyped-def]
                if route.request.url.startswith(base):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", guard)
            response = page.goto(f"{base}/v1/stats/report?year=2026", timeout=120_000)
            assert response is not None and response.status == 200
            page.wait_for_selector("figure.chart svg", timeout=20_000)
            assert page.locator("figure.chart svg").count() == 5
            assert "Uppföljning på verksamhetsnivå 2026" in page.title()
            # Every chart has drawn something: its paths take room on the page.
            for box in (page.locator("figure.chart svg").nth(i).bounding_box() for i in range(5)):
                assert box is not None and box["width"] > 200 and box["height"] > 100
            assert page.locator("table").count() >= 8
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "stats-report-2026.png"
            page.screenshot(path=str(shot), full_page=True)
            record_property("screenshot", str(shot.resolve()))
            print(f"screenshot: {shot.resolve()}")
            assert outside == [], "the report tried to reach the internet"
        finally:
            browser.close()
