"""Disclosure control (röjandekontroll) of the published counts. Pure: no I/O.

Two methods, chosen by the setting `IUB_STATS_DISCLOSURE_METHOD` (the README says why the
default is what it is):

- `cell_key` (default): the cell key method (SCB from reference year 2025; ONS): each case
  carries a random record key 0-255; a cell's key is the sum of its cases' keys modulo 256, and
  a fixed table maps the cell key to a small perturbation (at most ±2). The same cases always
  give the same published count, so asking twice gives nothing new, and a difference of two
  published counts is off by up to the sum of their perturbations, unknown to the reader.
  Counts below the threshold, before or after perturbation, are not published.
- `suppression`: primary suppression of every count from 1 to below the threshold, then
  complementary (secondary) suppression until no single subtraction — a total less its
  published parts, the committee less its units or interventions, the year less its quarters,
  one quarter's flow of cases less the next — yields a hidden count or a small group. Solved
  once for all tables, rows and periods of a committee together (`tables.relations`).

Both are deterministic: the same data give the same answer, whatever process computes it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Final, TypeVar

Cell = TypeVar("Cell", bound=tuple[str, ...])


class Method(StrEnum):
    suppression = "suppression"
    cell_key = "cell_key"


# --- suppression ----------------------------------------------------------------------------


def primary(values: Mapping[Cell, int], threshold: int, protected: Callable[[Cell], bool]) -> set[Cell]:
    """Counts from 1 to below the threshold: each would point at a few people."""
    return {cell for cell, n in values.items() if 0 < n < threshold and protected(cell)}


def suppress(
    values: Mapping[Cell, int],
    relations: Sequence[tuple[tuple[Cell, ...], tuple[Cell, ...]]],
    threshold: int,
    *,
    protected: Callable[[Cell], bool],
    importance: Callable[[Cell], int],
    shown: Mapping[Cell, int | None] | None = None,
    noise: int = 0,
) -> set[Cell]:
    """The cells to hide, so that no single subtraction uncovers a hidden count.

    A relation says that its left cells add up to its right cells. Subtracting its published
    cells yields the hidden ones on one side as a group (hidden cells on both sides yield only a
    difference, which reveals no group). A relation *exposes* its hidden group when that makes
    the group a count from 1 to below the threshold, or pins a single hidden count to one value.
    Then one more cell of the relation is hidden — on the same side if possible (so that the
    group grows), the least important and then the smallest count (the least lost) — and the
    relations it belongs to are checked again, until none exposes anything. Zeros are never
    hidden: they protect nothing.

    `shown` and `noise` describe what a reader sees: by default the counts themselves (plain
    suppression, starting from primary suppression); with the cell key method, the perturbed
    counts (None where already not published), each off by at most `noise` — and a reader who
    knows that also knows a hidden count is below `threshold + noise`.
    """
    if shown is None:
        hidden = primary(values, threshold, protected)
        seen: Mapping[Cell, int | None] = values
    else:
        hidden = {cell for cell, n in shown.items() if n is None}
        seen = shown
    members: dict[Cell, list[int]] = {}
    for i, (lhs, rhs) in enumerate(relations):
        for cell in (*lhs, *rhs):
            members.setdefault(cell, []).append(i)
    queue = deque(sorted({i for cell in sorted(hidden) for i in members.get(cell, ())}))
    queued = set(queue)
    while queue:
        i = queue.popleft()
        queued.discard(i)
        if not exposes(relations[i], seen, hidden, threshold, noise):
            continue
        extra = _complement(relations[i], values, hidden, protected, importance)
        if extra is None:
            continue
        hidden.add(extra)
        for j in (i, *members.get(extra, ())):
            if j not in queued:
                queue.append(j)
                queued.add(j)
    return hidden


def exposes(
    relation: tuple[tuple[Cell, ...], tuple[Cell, ...]],
    shown: Mapping[Cell, int | None],
    hidden: set[Cell],
    threshold: int,
    noise: int = 0,
) -> bool:
    """Whether subtracting the relation's published cells pins a hidden count or shows a small group."""
    lhs, rhs = relation
    hidden_left = [c for c in lhs if c in hidden]
    hidden_right = [c for c in rhs if c in hidden]
    if bool(hidden_left) == bool(hidden_right):
        return False  # nothing hidden, or only a difference of hidden counts is known
    group = hidden_left or hidden_right
    same, other = (lhs, rhs) if hidden_left else (rhs, lhs)
    seen_same = [shown.get(c) or 0 for c in same if c not in hidden]
    seen_other = [shown.get(c) or 0 for c in other if c not in hidden]
    estimate = sum(seen_other) - sum(seen_same)
    spread = noise * sum(1 for n in (*seen_same, *seen_other) if n)  # a published 0 is exactly 0
    low = max(estimate - spread, len(group))  # a hidden count is never 0
    high = estimate + spread
    if noise:
        high = min(high, (threshold + noise - 1) * len(group))
    return (len(group) == 1 and low == high) or (low >= 1 and high <= threshold - 1)


def _complement(
    relation: tuple[tuple[Cell, ...], tuple[Cell, ...]],
    values: Mapping[Cell, int],
    hidden: set[Cell],
    protected: Callable[[Cell], bool],
    importance: Callable[[Cell], int],
) -> Cell | None:
    lhs, rhs = relation
    same, other = (lhs, rhs) if any(c in hidden for c in lhs) else (rhs, lhs)

    def candidates(cells: tuple[Cell, ...]) -> list[Cell]:
        return [c for c in cells if c not in hidden and values.get(c, 0) > 0 and protected(c)]

    pool = candidates(same) or candidates(other)
    if not pool:
        return None
    return min(pool, key=lambda c: (importance(c), values.get(c, 0), c))


# --- cell key ----------------------------------------------------------------------------------

KEY_RANGE: Final = 256
MAX_PERTURBATION: Final = 2
# The perturbation table: cell key ranges and what they add. Symmetric, mean 0, |noise| <= 2;
# about 40 % of cells unchanged. Fixed: published counts never depend on when or how often asked.
_PTABLE: Final = ((26, -2), (77, -1), (179, 0), (230, 1), (KEY_RANGE, 2))


def perturbation(cell_key: int) -> int:
    key = cell_key % KEY_RANGE
    return next(noise for upper, noise in _PTABLE if key < upper)


def cell_key_count(count: int, key_sum: int, threshold: int) -> int | None:
    """The published count of a cell under the cell key method; None when not published.

    Zero stays zero. A count below the threshold is never published, nor one that perturbation
    takes below it: every published count is 0 or at least the threshold.
    """
    if count == 0:
        return 0
    published = count + perturbation(key_sum)
    if count < threshold or published < threshold:
        return None
    return published
