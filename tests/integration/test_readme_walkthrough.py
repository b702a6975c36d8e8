"""The README's walkthrough, run as a reader would: its shell blocks, parsed from README.md itself,
against `iub serve` in a subprocess (a temporary SQLite database, the demo catalog, the embedded
journal simulator and the in-process outbox dispatcher, as `make run` has them).

Only what the reader would change is changed: the service's address (the server here listens on
a free port) and `.venv/bin/iub` (this interpreter's `-m app.cli`). Everything else — the token,
the case ids kept in shell variables with `jq`, the heredoc, the wait for the outbox — runs as
written, in one bash with `set -euo pipefail`, so a command that fails fails the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.catalog.loader import demo_catalog_path, load_catalog_text
from app.catalog.service import CatalogService
from app.catalog.store import CatalogStore
from app.core.db import Database
from tests.conftest import IN_CI, run_migrations
from tests.integration.cli_support import LineReader

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## A ten-minute walkthrough"
README_ADDRESS = "IUB=http://127.0.0.1:8000"
README_IUB = ".venv/bin/iub "


def walkthrough_blocks(readme: str) -> list[str]:
    """The ```sh blocks of the walkthrough section, in order."""
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    section = readme[start : end if end != -1 else None]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.DOTALL | re.MULTILINE)


def test_the_walkthrough_has_the_steps_the_reader_is_promised() -> None:
    script = "\n".join(walkthrough_blocks((ROOT / "README.md").read_text(encoding="utf-8")))
    assert script.count(README_ADDRESS) == 1 and script.count(README_IUB) == 1
    for step in ("/v1/eligibility/check", '/v1/cases"', "/notes", "/sessions", "/close", "/v1/outbox"):
        assert step in script, step
    # Only Skatteverket's test personnummer (born 1981, 1945 here; the list in the README's tests).
    assert set(re.findall(r"\b(?:19|20)\d{6}-\d{4}\b", script)) <= {"19810102-2393", "19450110-3297"}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """`make run` in a subprocess: migrate, load the demo catalog, serve on a free port; its base
    URL and the environment the reader's shell has (the same settings, hence the same dev secret)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IUB_")}
    environment.update(
        IUB_ENV="dev",
        IUB_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'walkthrough.sqlite3'}",
        IUB_JOURNAL_BASE_URL="embedded",
        IUB_LOG_FORMAT="console",
    )
    # `iub migrate` and `iub catalog load --demo`, in this process (two interpreters' start-up less).
    run_migrations(environment["IUB_DATABASE_URL"])
    asyncio.run(_load_demo_catalog(environment["IUB_DATABASE_URL"]))
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=environment, cwd=ROOT,
    )  # fmt: skip
    try:
        ready = LineReader(server).wait_for("iub ready: ", timeout=40)
        match = re.search(r"iub ready: (http://\S+)", ready)
        assert match, ready
        yield match.group(1), environment
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def _load_demo_catalog(url: str) -> None:
    committees, decisions = load_catalog_text(demo_catalog_path().read_text(encoding="utf-8"))
    db = Database.connect(url)
    try:
        async with db.sessions() as session, session.begin():
            await CatalogService(session, CatalogStore()).load(committees, decisions)
    finally:
        await db.dispose()


def test_the_readme_walkthrough_runs_against_a_running_service(service: tuple[str, dict[str, str]]) -> None:
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if missing:
        message = f"the walkthrough needs {', '.join(missing)}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    base_url, environment = service
    blocks = walkthrough_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    script = "\n".join(f'echo "=== walkthrough block {n}" >&2\n{block}' for n, block in enumerate(blocks, 1))
    script = script.replace(README_ADDRESS, f"IUB={base_url}")
    script = script.replace(README_IUB, f"{shlex.quote(sys.executable)} -m app.cli ")
    # What the test checks afterwards: the ids and the token the walkthrough kept.
    script += '\nprintf \'{"case": "%s", "exempt": "%s", "token": "%s"}\\n\' "$CASE" "$EXEMPT" "$TOKEN"\n'
    run = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        capture_output=True, text=True, env=environment, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    kept = json.loads(run.stdout.strip().splitlines()[-1])
    assert "Samtal med [namn] om veckan. [namn] nås på [telefon]; mamman [namn] var med." in run.stdout
    assert "case.closed\tdelivered" in run.stdout

    headers = {"Authorization": f"Bearer {kept['token']}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as http:
        identified = http.get(f"/v1/cases/{kept['case']}").json()
        exempted = http.get(f"/v1/cases/{kept['exempt']}").json()
    assert (identified["status"], identified["journal_sync"], identified["identity"]) == (
        "closed",
        "delivered",
        "identified",
    )
    assert identified["session_count"] == 1
    assert exempted["identity"] == "anonymous" and exempted["person_id"] is None
    assert exempted["journal_sync"] == "not_applicable"
    assert all("Kim" not in note["text"] and "070" not in note["text"] for note in exempted["notes"])
