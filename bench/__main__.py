"""`python -m bench [--quick] [--output PATH]`: run every section, print and write a Markdown report.

The report (default `bench-report.md`) gets a chart beside it (`bench-report.svg`): throughput
and p99 of every endpoint next to its bare FastAPI endpoint. Exits 0 whether or not a target is
met (the report says which); a section that crashes is reported as such and the others still run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import inspect
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import uvloop

from bench import archive, eligibility, endpoints, journal, scrubbing, stats
from bench.harness import RunConfig, Section, SectionReport


async def _disposal(config: RunConfig) -> SectionReport:
    """`bench.disposal.run(quick)` where that module exists; it runs its own event loop (a thread
    here) and answers a report, Markdown text or a dict of figures."""
    report = SectionReport("Disposal (gallring): executing an approved list")
    try:
        module = importlib.import_module("bench.disposal")
    except ModuleNotFoundError as exc:
        if exc.name != "bench.disposal":
            raise
        report.note("Not measured: this checkout has no disposal benchmark (bench/disposal.py).")
        return report
    sized = {"files": QUICK_DISPOSAL_FILES} if config.quick else {}
    result = await asyncio.to_thread(module.run, config.quick, **sized)
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, SectionReport):
        return result
    if not isinstance(result, dict):
        report.note(str(result))
        return report
    met = result.get("met")
    report.add(
        f"{result.get('files_done', 0):,} files disposed of",
        f"{result.get('seconds')} s ({result.get('files_per_second', 0):,} files/s, "
        f"{result.get('rows_per_second', 0):,} rows/s)",
        f"<= {result['target_seconds']:.0f} s" if "target_seconds" in result else "",
        met if isinstance(met, bool) else None,
    )
    if "peak_rss_mib" in result:
        peak, before = result["peak_rss_mib"], result.get("rss_before_mib")
        report.add("Peak resident memory (before the run)", f"{peak} MiB ({before} MiB)")
    shown = {"files_done", "seconds", "files_per_second", "rows_per_second", "target_seconds", "met"}
    shown |= {"peak_rss_mib", "rss_before_mib"}
    rest = ", ".join(f"{k} {v}" for k, v in result.items() if k not in shown)
    if rest:
        report.note(rest)
    return report


# What a quick run of the whole report measures where a section's own quick size is larger (a
# section run alone, `python -m bench.journal --quick` or `python -m bench.disposal --quick`,
# keeps its own): the same measures, on fewer files and events.
QUICK_DISPOSAL_FILES = 10_000
QUICK_JOURNAL_CASES = (400, 1_000)  # cases of five events: for the rate, for the backlog


async def _journal(config: RunConfig) -> SectionReport:
    if not config.quick:
        return await journal.run(config)
    rate_cases, backlog_cases = QUICK_JOURNAL_CASES
    return await journal.measure(rate_cases=rate_cases, backlog_cases=backlog_cases)


SECTIONS: list[Section] = [
    endpoints.SECTION,
    Section("journal", _journal),
    Section("disposal", _disposal),
    eligibility.SECTION,
    scrubbing.SECTION,
    archive.SECTION,
    stats.SECTION,
]

DEFAULT_OUTPUT = Path("bench-report.md")

QUICK_NOTE = (
    "_A quick run (under two minutes): the same measures, smaller and shorter. Endpoints: 1 s per load run "
    "(full: 8 s), the first 20 bodies of each endpoint checked before the load (full: every one; the load "
    "counts any other answer), 5,000 case records behind the statistics endpoint (full: 200,000). Journal "
    "delivery: 2,000 events for the rate and a 5,000-event backlog (full: 20,000 and 100,000). Disposal: "
    "10,000 files (full: 1,000,000). Archive packages: 2,000 and 1,000 records (full: 100,000 and 20,000). "
    "Statistics: 10,000 case records (full: 1,000,000). Scrubbing: 2,000 sentences of each kind (full: "
    "20,000)._"
)


async def run_all(config: RunConfig, sections: list[Section]) -> str:
    started = time.perf_counter()
    parts = [
        "# iub benchmark report",
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · Python {platform.python_version()} · "
        f"{platform.machine()} · {os.cpu_count()} CPU(s){' · quick run' if config.quick else ''}",
        "",
    ]
    if config.quick:
        parts += [QUICK_NOTE, ""]
    for section in sections:
        section_started = time.perf_counter()
        try:
            report = await section.run(config)
        except Exception:
            report = SectionReport(f"{section.name}: failed")
            report.note("The section raised an exception:\n\n```\n" + traceback.format_exc() + "```")
        report.note(f"Section time: {time.perf_counter() - section_started:.0f} s.")
        parts.append(report.markdown())
    parts.append(f"_Total time: {time.perf_counter() - started:.1f} s._\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the report")
    parser.add_argument("--only", action="append", help="run only the named section(s)")
    args = parser.parse_args(argv)
    sections = [s for s in SECTIONS if not args.only or s.name in args.only]
    # uvloop, as `iub serve` (uvicorn) and `iub worker` run: both sides of every comparison share it.
    text = uvloop.run(run_all(RunConfig(quick=args.quick), sections))
    chart = args.output.with_suffix(".svg")
    if endpoints.write_chart(chart):
        figure = f"![Throughput and p99 per endpoint, next to the bare endpoints]({chart.name})"
        text = text.replace("\n\n## ", f"\n\n{figure}\n\n## ", 1)
    sys.stdout.write(text)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
