"""Swagger UI works offline and on the first click: opened in headless Chromium with every outside
request blocked and counted, it takes the dev token from `iub token --all-scopes` in Authorize,
then "Try it out" → Execute with the default bodies succeeds on the summary check, opening a case
and adding a note to it (the case id pasted from the opening's answer, as a person would). A
screenshot is attached to the test output. ReDoc renders offline too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.browser import LiveServer, browser_page, dev_token_all_scopes, keep_screenshot, live_server

pytestmark = pytest.mark.browser


@pytest.fixture
def docs_server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path, "docs") as server:
        yield server


def _execute(page: Any, operation_id: str, expected: str, path_values: dict[str, str] | None = None) -> Any:
    """Open the operation, "Try it out", fill the path parameters, Execute; the answer's JSON."""
    operation = page.locator(f"[id$='-{operation_id}']").first
    operation.locator(".opblock-summary").first.click()
    operation.locator("button.try-out__btn").click()
    for name, value in (path_values or {}).items():
        field = operation.locator(f"tr[data-param-name='{name}'] input").first
        field.fill(value)
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=20_000)
    answer = operation.locator(".live-responses-table tbody .response-col_description pre").first.inner_text()
    assert status.inner_text().strip() == expected, answer
    return json.loads(answer)


def test_swagger_ui_try_it_out_succeeds_on_the_first_click(docs_server: LiveServer, record_property) -> None:  # type: ignore[no-untyped-def]
    base = docs_server.base
    token = dev_token_all_scopes()
    with browser_page(base) as (page, offline):
        page.goto(f"{base}/")  # the root leads to Swagger UI
        page.wait_for_selector(".opblock", timeout=20_000)
        assert page.url == f"{base}/docs"
        assert page.locator(".opblock").count() >= 30
        assert "iub token --all-scopes" in page.locator(".information-container").inner_text()

        page.click("button.authorize")
        page.fill(".modal-ux input[type=text]", token)
        page.click(".modal-ux .auth-btn-wrapper button.authorize")
        page.click(".modal-ux button.btn-done")

        verdict = _execute(page, "checkEligibility", "200")
        assert verdict["intervention_id"] == "krisstod" and verdict["status"] == "eligible"
        case = _execute(page, "openCase", "201")
        assert case["intervention_id"] == "krisstod" and case["identity"] == "anonymous"
        noted = _execute(page, "addNote", "201", {"case_id": case["id"]})
        assert noted["id"] == case["id"]
        assert "Alva" not in noted["note"]["text"] and "070-174" not in noted["note"]["text"]
        # The catalog's first list, as the existing smoke check did.
        listed = _execute(page, "listCommittees", "200")
        assert "sn-sydvast" in {c["id"] for c in listed["items"]}

        # What a developer sees after Execute on "Add a journal note": the 201 and its redacted note.
        page.locator("[id$='-addNote'] .live-responses-table").first.scroll_into_view_if_needed()
        keep_screenshot(page, "swagger-ui-try-it-out", record_property, full_page=False)
        assert offline.outside == [], "Swagger UI tried to reach the internet"

        # ReDoc renders with the network blocked; its only outside request is its own
        # "powered by" logo, which is cosmetic and blocked like everything else.
        page.goto(f"{base}/redoc")
        page.wait_for_selector("text=IUB interventions", timeout=20_000)
        assert all("redoc" in url and url.endswith(".svg") for url in offline.outside)
