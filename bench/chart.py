"""The report's chart: per endpoint, throughput and p99 latency beside its bare FastAPI endpoint (SVG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def endpoint_chart(rows: Sequence[tuple[str, str, float, float, float, float]], path: Path) -> None:
    """`rows`: (endpoint, bare endpoint, iub req/s, bare req/s, iub p99 ms, bare p99 ms)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f"{r[0]}\nvs {r[1]}" for r in rows]
    y = list(range(len(rows)))
    height = 0.38
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.9 * len(rows) + 1.6), sharey=True)
    for axis, (iub, bare), title, unit in (
        (left, (2, 3), "Throughput (higher is better)", "req/s"),
        (right, (4, 5), "p99 latency at the maximum (lower is better)", "ms"),
    ):
        real = [r[iub] for r in rows]
        base = [r[bare] for r in rows]
        axis.barh([v - height / 2 for v in y], real, height, label="iub", color="#1f6f8b")
        axis.barh([v + height / 2 for v in y], base, height, label="bare FastAPI", color="#b8c4cc")
        for v, value in zip(y, real, strict=True):
            axis.text(value, v - height / 2, f" {value:,.0f}", va="center", fontsize=8)
        for v, value in zip(y, base, strict=True):
            axis.text(value, v + height / 2, f" {value:,.0f}", va="center", fontsize=8, color="#555")
        axis.set_title(title, fontsize=10)
        axis.set_xlabel(unit)
        axis.margins(x=0.2)
    for v, row in zip(y, rows, strict=True):
        left.text(0, v + 0.5 - 0.06, f" ratio {row[2] / row[3]:.0%}", fontsize=8, weight="bold", va="bottom")
    left.set_yticks(y, names, fontsize=8)
    left.invert_yaxis()
    left.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="svg")
    plt.close(fig)
