"""The yearly report renders in headless Chromium with every outside request blocked.

The screenshot is kept (path printed and recorded as the test's `screenshot` property) so that a
person can look at what the committee would see.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.auth import issue_dev_token
from app.core.db import Database
from tests.integration.browser import browser_page, keep_screenshot, live_server
from tests.integration.test_stats_api import generated_cases, insert_cases

pytestmark = pytest.mark.browser


async def _generate(url: str) -> None:
    db = Database.connect(url)
    try:
        await insert_cases(db, generated_cases(seed=5, n=400))
    finally:
        await db.dispose()


@pytest.fixture
def report_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    with live_server(tmp_path, "report", prepare=_generate) as server:
        token = issue_dev_token(
            server.settings, sub="browser", unit="unit-a", committee="sn-sydvast", scope="stats:read"
        )
        yield server.base, token


def test_the_yearly_report_renders_offline(report_server: tuple[str, str], record_property) -> None:  # type: ignore[no-untyped-def]
    base, token = report_server
    with browser_page(base, viewport={"width": 1100, "height": 900}) as (page, offline):
        page.set_extra_http_headers({"Authorization": f"Bearer {token}"})
        response = page.goto(f"{base}/v1/stats/report?year=2026", timeout=120_000)
        assert response is not None and response.status == 200
        page.wait_for_selector("figure.chart svg", timeout=20_000)
        assert page.locator("figure.chart svg").count() == 5
        assert "Uppföljning på verksamhetsnivå 2026" in page.title()
        # Every chart has drawn something: its paths take room on the page.
        for box in (page.locator("figure.chart svg").nth(i).bounding_box() for i in range(5)):
            assert box is not None and box["width"] > 200 and box["height"] > 100
        assert page.locator("table").count() >= 8
        keep_screenshot(page, "stats-report-2026", record_property)
        assert offline.outside == [], "the report tried to reach the internet"
