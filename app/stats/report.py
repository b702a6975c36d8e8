"""The committee's yearly follow-up as one self-contained HTML page with charts.

Drawn server-side with matplotlib (the Agg/SVG backends, no display, no network) from the
*published* counts only: the disclosure control has already been applied, and a count that is
not published is neither drawn nor summed (the tables show "..", as official statistics do).
Charts are inline SVG with text as paths, so the page needs no font, script or stylesheet from
anywhere.
"""

from __future__ import annotations

import html
import io
import math
import re
import threading
from collections.abc import Sequence
from typing import Any

from app.stats.periods import Period
from app.stats.service import Published
from app.stats.tables import COMMITTEE_ROW, TABLES, Table

NOT_PUBLISHED = ".."
_LOCK = threading.Lock()  # matplotlib's global state (rcParams, font cache) is not thread-safe
_COLOURS = ("#1b5e8a", "#e07b39", "#4c9a5b", "#b8475a", "#7d63a8", "#8c6d46", "#3aa6b9", "#9a9a9a")


def _svg(figure: Any, name: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": name, "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    svg = text[text.index("<svg") :]
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)


def _figure(width: float = 7.5, height: float = 3.2) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    figure.patch.set_facecolor("white")
    return figure


def _label(period: Period) -> str:
    return str(period) if period.is_year else f"Kv {period.quarter}"


def _bars(name: str, title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[int | None]]]) -> str:
    """Grouped bars: one group per category, one bar per series; a count not published is not drawn."""
    figure = _figure()
    axes = figure.subplots()
    width = 0.8 / max(len(series), 1)
    for i, (label, values) in enumerate(series):
        xs = [k + (i - (len(series) - 1) / 2) * width for k in range(len(categories))]
        heights = [0 if v is None else v for v in values]
        bars = axes.bar(xs, heights, width=width, label=label, color=_COLOURS[i % len(_COLOURS)])
        for bar, value in zip(bars, values, strict=True):
            if value is None:
                axes.annotate(NOT_PUBLISHED, (bar.get_x() + bar.get_width() / 2, 0), ha="center", va="bottom")
    axes.set_xticks(range(len(categories)), categories, rotation=20, ha="right", fontsize=8)
    axes.set_title(title, fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    if len(series) > 1:
        axes.legend(fontsize=8, frameon=False)
    return _svg(figure, name)


def _lines(name: str, title: str, periods: Sequence[Period], series: Sequence[tuple[str, Sequence[int | None]]]) -> str:
    figure = _figure(height=4.2)
    axes = figure.subplots()
    xs = [_label(p) for p in periods]
    for i, (label, values) in enumerate(series):
        ys = [math.nan if v is None else v for v in values]
        axes.plot(xs, ys, marker="o", label=label, color=_COLOURS[i % len(_COLOURS)])
    axes.set_title(title, fontsize=10)
    axes.set_ylim(bottom=0)
    axes.spines[["top", "right"]].set_visible(False)
    if series:
        axes.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2)
    return _svg(figure, name)


def _cell(value: int | None) -> str:
    return NOT_PUBLISHED if value is None else str(value)


def _table_html(published: Published, table: Table, periods: Sequence[Period]) -> str:
    """The committee row of a table, one line per period."""
    columns = [c for c in table.columns if c.var is not None]
    head = "".join(f"<th>{html.escape(c.label_sv)}</th>" for c in columns)
    lines = []
    for period in periods:
        cells = "".join(f"<td>{_cell(published.value(period, COMMITTEE_ROW, c.var or ''))}</td>" for c in columns)
        lines.append(f"<tr><th>{html.escape(_label(period))}</th>{cells}</tr>")
    return (
        f"<table><caption>{html.escape(table.title_sv)}</caption>"
        f"<thead><tr><th></th>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
    )


def _series_by_period(
    published: Published, periods: Sequence[Period], variables: Sequence[str]
) -> list[tuple[str, list[int | None]]]:
    return [(_label(p), [published.value(p, COMMITTEE_ROW, v) for v in variables]) for p in periods]


def _parts(table: Table) -> tuple[list[str], list[str]]:
    columns = [c for c in table.columns if c.part_of is not None and c.var is not None]
    return [c.label_sv for c in columns], [c.var or "" for c in columns]


def render_html(published: Published, year: int) -> str:
    with _LOCK:
        return _render(published, year)


def _render(published: Published, year: int) -> str:
    quarters = [p for p in published.periods if not p.is_year]
    whole_year = Period(year) in published.periods
    mix_periods = [Period(year)] if whole_year else quarters

    interventions = [(key, label) for level, key, label in published.rows if level == "intervention"]
    started_lines = []
    for key, label in interventions:
        values = [published.value(q, f"intervention:{key}", "started") for q in quarters]
        if any(v for v in values):
            started_lines.append((label, values))
    charts = [
        _lines("started", "Påbörjade deltagare per insats och kvartal", quarters, started_lines),
    ]
    for name, table_name in (
        ("gender", "started_by_gender"),
        ("age", "started_by_age_band"),
        ("wellbeing", "wellbeing_change"),
        ("early", "early_endings_by_reason"),
    ):
        table = TABLES[table_name]
        labels, variables = _parts(table)
        charts.append(_bars(name, table.title_sv, labels, _series_by_period(published, mix_periods, variables)))

    tables = "".join(
        _table_html(published, TABLES[name], [*quarters, *([Period(year)] if whole_year else [])])
        for name in (
            "participants",
            "started_by_gender",
            "started_by_age_band",
            "closings_by_reason",
            "early_endings_by_reason",
            "wellbeing_change",
            "participant_view",
            "informed_of_right_to_apply",
            "group_meetings",
        )
    )
    method = (
        "cellnyckelmetoden (SCB från referensår 2025): varje antal kan vara ändrat med högst ±2"
        if published.method == "cell_key"
        else "undertryckning med sekundär undertryckning"
    )
    title = f"Uppföljning på verksamhetsnivå {year} – {published.committee_name}"
    figures = "".join(f'<figure class="chart">{svg}</figure>' for svg in charts)
    return f"""<!doctype html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }}
h1 {{ font-size: 1.5rem; }}
.meta {{ color: #555; font-size: 0.9rem; }}
.charts {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(26rem, 1fr)); gap: 1rem; }}
figure.chart {{ margin: 0; }}
figure.chart svg {{ width: 100%; height: auto; }}
table {{ border-collapse: collapse; margin: 1.2rem 0; font-size: 0.85rem; }}
caption {{ text-align: left; font-weight: 600; padding-bottom: 0.3rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }}
thead th {{ background: #f3f3f3; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="meta">Underlag från registreringen {published.as_of:%Y-%m-%d %H:%M} UTC. Perioder: de kvartal som
har avslutats{" och helåret" if whole_year else ""}. Röjandekontroll: {html.escape(method)}; antal under
{published.threshold} publiceras inte och visas som <b>{NOT_PUBLISHED}</b>. Identifierade och undantagna
insatser (SoL 14 kap. 4–5 §§) räknas lika; ålder endast i åldersgrupper.</p>
<section class="charts">{figures}</section>
<section>{tables}</section>
</body>
</html>
"""
