"""Shared benchmark machinery: sections, a report, timing of pure functions.

A *section* measures one area and answers a `SectionReport` (figures and notes); `bench/__main__.py`
runs every section in its `SECTIONS` list and writes one Markdown report. To add a section:

    # bench/journal.py
    from bench.harness import RunConfig, Section, SectionReport

    async def run(config: RunConfig) -> SectionReport:
        report = SectionReport("Journal delivery")
        ...  # report.add(...), report.note(...)
        return report

    SECTION = Section("journal", run)   # then append it to SECTIONS in bench/__main__.py

Tools:
- `per_call(fn, ...)`: the time of a pure function call (best of several rounds).
- HTTP is measured through real servers in their own processes (`bench.processes`), loaded by a
  generator in another process (`bench.load`), next to bare endpoints (`bench.bare`): see
  `bench.endpoints`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

# --- report ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunConfig:
    """How hard to measure; `quick` is for smoke runs (CI), the default for the report."""

    quick: bool = False

    def scale(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass(frozen=True, slots=True)
class Figure:
    measure: str
    value: str
    target: str = ""
    met: bool | None = None  # None: no target


@dataclass
class SectionReport:
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)  # Markdown (e.g. a table) after the figures

    def add(self, measure: str, value: str, target: str = "", met: bool | None = None) -> None:
        self.figures.append(Figure(measure, value, target, met))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", "| Measure | Value | Target | Met |", "|---|---:|---|:---:|"]
        for f in self.figures:
            met = "" if f.met is None else ("yes" if f.met else "**no**")
            lines.append(f"| {f.measure} | {f.value} | {f.target} | {met} |")
        for block in self.blocks:
            lines.extend(["", block.strip()])
        if self.notes:
            lines.append("")
            lines.extend(f"- {note}" for note in self.notes)
        return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    run: Callable[[RunConfig], Awaitable[SectionReport]]


# --- pure functions ----------------------------------------------------------------------------------


def per_call(fn: Callable[[], int], *, rounds: int = 5) -> float:
    """Seconds per operation of `fn`, which performs a batch and returns how many operations it did.

    The best of `rounds` batches: the least disturbed by the machine's other work.
    """
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        count = fn()
        elapsed = time.perf_counter() - started
        best = min(best, elapsed / count)
    return best


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send stderr (the JSON log lines) to /dev/null: they are still formatted and written."""
    saved = sys.stderr
    with open(os.devnull, "w", encoding="utf-8") as sink:
        sys.stderr = sink
        try:
            yield
        finally:
            sys.stderr = saved
