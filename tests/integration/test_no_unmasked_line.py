"""No unmasked line: whatever fails, nothing shaped like a personnummer reaches the process's output.

The service runs under uvicorn exactly as `iub serve` runs it, in both log formats, on both
databases, with one extra route that fails with a bound personnummer in the database error
and in a traceback (`failing_app.py`). Every line it writes — uvicorn's startup and shutdown,
uvicorn's "Exception in ASGI application" with its traceback, our access and error lines, the
standard library's records — is read back: none holds the number in any format, the masker's
mark shows where it was, and in JSON every line is JSON.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET

REPO = Path(__file__).resolve().parents[2]
PNR = "198112022382"  # Skatteverket's test number
FORMS = [
    PNR,
    PNR[2:],
    f"{PNR[2:8]}-{PNR[8:]}",
    f"{PNR[:8]}-{PNR[8:]}",
    f"{PNR[2:4]} {PNR[4:6]} {PNR[6:8]} - {PNR[8:10]} {PNR[10:]}",
]

pytestmark = pytest.mark.usefixtures("db")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve_and_fail(database_url: str, log_format: str, stderr_file: Path) -> tuple[list[int], str]:
    """Start the service, send the failing requests, stop it; the statuses and everything on stderr."""
    port = free_port()
    env = {
        **os.environ,
        "IUB_ENV": "test",
        "IUB_DATABASE_URL": database_url,
        "IUB_AUTH_DEV_SECRET": TEST_SECRET,
        "IUB_LOG_FORMAT": log_format,
        "IUB_OUTBOX_IN_PROCESS": "false",
        "IUB_CATALOG_REFRESH_SECONDS": "0",
    }
    statuses: list[int] = []
    # A file, not a pipe: a full pipe nobody reads yet would block the server's writes.
    with stderr_file.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.failing_app", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        # A new connection per request: uvicorn closes one whose request raised.
        with httpx.Client(base_url=base, timeout=10, headers={"Connection": "close"}) as http:
            for _ in range(200):
                try:
                    if http.get("/health/live").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                pytest.fail("the service did not start")
            for form in FORMS:
                statuses.append(http.post("/v1/_failing", json={"personnummer": form}).status_code)
            statuses.append(http.get("/health/live", headers={"X-Request-Id": PNR}).status_code)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    return statuses, stderr_file.read_text(encoding="utf-8")


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_a_failing_request_with_a_personnummer_leaves_no_unmasked_line(
    database_url: str, log_format: str, tmp_path: Path
) -> None:
    statuses, stderr = serve_and_fail(database_url, log_format, tmp_path / "stderr.log")

    assert statuses == [500] * len(FORMS) + [200]
    assert [form for form in FORMS if form in stderr] == []
    assert "[personnummer]" in stderr  # it was there, and masked
    assert "Traceback" in stderr
    # PostgreSQL rejects the bound value with the value in its message; SQLite gets to the LookupError.
    assert ("invalid input for query argument $1: '[personnummer]'" in stderr) == database_url.startswith("postgresql")
    assert "LookupError" in stderr or "DBAPIError" in stderr
    assert "Application startup complete" in stderr  # uvicorn's own lines come through the pipeline too
    assert "Exception in ASGI application" in stderr
    if log_format == "json":
        lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]  # nothing raw in between
        loggers = {line.get("logger") for line in lines}
        assert {"uvicorn.error", "iub.journal.dispatcher"} <= loggers
        failures = [line for line in lines if line["event"] == "unhandled_error"]
        assert len(failures) == len(FORMS) and all("[personnummer]" in line["exception"] for line in failures)
        uvicorn_failures = [line for line in lines if line["event"].startswith("Exception in ASGI application")]
        assert len(uvicorn_failures) == len(FORMS) and all("exception" in line for line in uvicorn_failures)
