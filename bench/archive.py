"""Archive packages: how fast a package of many records is written and verified, and the memory it takes.

Each measurement runs in a fresh interpreter (`python -m bench.archive --probe COUNT zip|dir`) so
that its peak resident set size is its own: the probe imports everything, writes and verifies a
one-record package to warm up, notes its peak RSS, then writes and verifies a package of COUNT
records (about 1.2 KB of JSON each, generated one at a time) and reports how far the peak rose.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import RunConfig, Section, SectionReport


def _peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def probe(count: int, as_zip: bool) -> dict[str, Any]:
    from app.disposal.archive import ArchiveRecord, PackageMeta, verify_package, write_package

    meta = PackageMeta(
        package_id="bench-package",
        label="Benchmark package",
        committee_id="sn-bench",
        committee_name="Socialnämnden Bench",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        software_name="iub",
        software_version="bench",
        submitting_organisation="Bench kommun",
        submitting_organisation_code="000000-0000",
    )
    words = ["samtal", "stöd", "grupp", "föräldrar", "träff", "uppföljning", "plan", "mål", "insats", "avslut"]
    rng = random.Random(2026)
    notes = [" ".join(rng.choices(words, k=40)) for _ in range(97)]  # varied text, cheap to pick

    def records(n: int) -> Iterator[ArchiveRecord]:
        for i in range(n):
            body = {
                "file_id": f"file-{i:09d}",
                "person": {"personnummer": "189001019802", "given_name": "Test", "family_name": f"Person {i}"},
                "cases": [
                    {
                        "case_id": f"case-{i}-{c}",
                        "opened_on": "2020-01-15",
                        "notes": [{"text": notes[(i * 7 + c * 3 + k) % 97]} for k in range(3)],
                    }
                    for c in range(2)
                ],
            }
            yield ArchiveRecord(f"files/file-{i:09d}.json", json.dumps(body, ensure_ascii=False).encode())

    with tempfile.TemporaryDirectory() as tmp:
        warm = write_package(Path(tmp) / "warm", meta, records(1), as_zip=as_zip)
        verify_package(warm)
        baseline = _peak_rss_kb()
        started, cpu = time.perf_counter(), _cpu()
        result = write_package(Path(tmp) / "run", meta, records(count), as_zip=as_zip)
        write_wall, write_cpu = time.perf_counter() - started, _cpu() - cpu
        after_write = _peak_rss_kb()
        started, cpu = time.perf_counter(), _cpu()
        verify_package(result)
        verify_wall, verify_cpu = time.perf_counter() - started, _cpu() - cpu
        after_verify = _peak_rss_kb()
    return {
        "count": count,
        "zip": as_zip,
        "bytes": result.size,
        "write_wall": write_wall,
        "write_cpu": write_cpu,
        "verify_wall": verify_wall,
        "verify_cpu": verify_cpu,
        "baseline_kb": baseline,
        "write_growth_kb": after_write - baseline,
        "verify_growth_kb": after_verify - baseline,
    }


async def run_probe(count: int, as_zip: bool) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.archive",
        "--probe",
        str(count),
        "zip" if as_zip else "dir",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"archive probe exited with {process.returncode}")
    result: dict[str, Any] = json.loads(out)
    return result


async def run(config: RunConfig) -> SectionReport:
    report = SectionReport("Archive packages (E-ARK SIP)")
    for as_zip in (True, False):
        form = "ZIP" if as_zip else "folder"
        # A folder is one file per record: fewer of them, since creating and deleting files is what
        # a folder package costs on most disks, not this code.
        count = config.scale(100_000, 2_000) if as_zip else config.scale(20_000, 1_000)
        m = await run_probe(count, as_zip)
        report.add(
            f"write {count:,} records as a {form}: records/s (wall; CPU)",
            f"{count / m['write_wall']:,.0f}; {count / max(m['write_cpu'], 1e-9):,.0f}",
        )
        report.add(
            f"verify the {form}: records/s (wall; CPU)",
            f"{count / m['verify_wall']:,.0f}; {count / max(m['verify_cpu'], 1e-9):,.0f}",
        )
        report.add(
            f"{form}: peak RSS growth while writing; verifying",
            f"{m['write_growth_kb'] / 1024:.1f} MB; {m['verify_growth_kb'] / 1024:.1f} MB",
        )
        report.add(f"{form}: package size", f"{m['bytes'] / 1e6:.1f} MB")
    report.note(
        "Records are hashed and written as they arrive and their METS entries spooled to disk, so writing a "
        "folder takes no memory per record; a ZIP keeps its central directory (written last) in memory, "
        "about 0.5 KB per record. Verifying keeps the set of listed paths (to find unlisted files), plus, "
        "for a ZIP, the central directory it reads."
    )
    return report


SECTION = Section("archive", run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.archive")
    parser.add_argument("--probe", nargs=2, metavar=("COUNT", "FORM"), required=True, help="COUNT zip|dir")
    args = parser.parse_args(argv)
    count, form = int(args.probe[0]), args.probe[1]
    sys.stdout.write(json.dumps(probe(count, as_zip=form == "zip")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
