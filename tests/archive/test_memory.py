"""A large streamed package keeps memory flat.

Measured the way `make bench` measures it (bench/archive.py: a fresh interpreter per run, its peak
resident set size before and after), with bounds on memory only, never on time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
KB = 1024

pytestmark = pytest.mark.slow  # a few fresh interpreters writing thousands of files


def _probe(count: int, form: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.archive", "--probe", str(count), form],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def test_writing_a_folder_package_takes_no_memory_per_record() -> None:
    small, large = _probe(500, "dir"), _probe(5_000, "dir")
    # Ten times the records (over 10 MB more written), and the peak does not move: each record is
    # written and forgotten, its METS entry spooled to disk. (Half a kilobyte per record, what a ZIP
    # costs, would show here as over 2 MB.)
    assert large["bytes"] - small["bytes"] > 10 * KB * KB
    assert large["write_growth_kb"] - small["write_growth_kb"] < 1.5 * KB


def test_writing_a_zip_package_takes_only_the_zip_directory_per_record() -> None:
    small, large = _probe(1_000, "zip"), _probe(8_000, "zip")
    # The ZIP's central directory (written last, kept by zipfile) is the only per-record memory:
    # under 1 KB per record (about 0.5 KB measured), against about 2.5 KB per record written.
    per_record_kb = (large["write_growth_kb"] - small["write_growth_kb"]) / 7_000
    assert per_record_kb < 1.0
    # Verifying holds the listed paths and the central directory it reads: about 1 KB per record.
    assert (large["verify_growth_kb"] - small["verify_growth_kb"]) / 7_000 < 2.0
