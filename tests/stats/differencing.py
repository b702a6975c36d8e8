"""The differencing attack as a test oracle: every single subtraction the published tables allow.

A relation says that its left cells add up to its right cells: a table's parts to its total, units
or interventions to the committee, quarters to the year, one quarter's flow of cases to the next.
Subtracting the published cells of a relation yields the hidden ones on one side, as a group. A
leak is a group that subtraction pins to one value, or shows to be from 1 to below the threshold.
With the cell key method each published count may be off by up to `noise`, and a hidden count is
at most `threshold + noise - 1` (it was hidden because it, or it perturbed, fell below the threshold).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

Relation = tuple[tuple[Hashable, ...], tuple[Hashable, ...]]


@dataclass(frozen=True)
class Leak:
    hidden: tuple[Hashable, ...]
    low: int
    high: int
    why: str


def subtraction_leaks(
    published: Mapping[Hashable, int | None],
    relations: Sequence[Relation],
    threshold: int,
    *,
    noise: int = 0,
) -> list[Leak]:
    leaks = []
    for lhs, rhs in relations:
        hidden_left = [c for c in lhs if published.get(c, 0) is None]
        hidden_right = [c for c in rhs if published.get(c, 0) is None]
        if (not hidden_left and not hidden_right) or (hidden_left and hidden_right):
            continue
        hidden = hidden_left or hidden_right
        same, other = (lhs, rhs) if hidden_left else (rhs, lhs)
        shown_same = [published.get(c, 0) or 0 for c in same if published.get(c, 0) is not None]
        shown_other = [published.get(c, 0) or 0 for c in other if published.get(c, 0) is not None]
        estimate = sum(shown_other) - sum(shown_same)
        spread = noise * sum(1 for n in (*shown_same, *shown_other) if n)  # a published 0 is exactly 0
        low = max(estimate - spread, len(hidden))  # a hidden count is never 0
        high = estimate + spread
        if noise:
            high = min(high, (threshold + noise - 1) * len(hidden))
        if low == high and len(hidden) == 1:
            leaks.append(Leak(tuple(hidden), low, high, "recovered exactly"))
        elif low >= 1 and high <= threshold - 1:
            leaks.append(Leak(tuple(hidden), low, high, "shown to be a small count"))
    return leaks
