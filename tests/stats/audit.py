"""An attacker's view of published tables, as a test oracle: what can subtraction recover?

The attacker knows every published count and every way the counts add up (the relations of all
tables and periods together), and that counts are not negative. For each hidden count, and for
the hidden counts on each side of each relation (a group: what "total minus the published
parts" yields), linear programming (scipy's HiGHS) gives the least and greatest value consistent
with all of that. A leak is a hidden count or group

- pinned to one value (recovered exactly), or
- known to be from 1 to below the threshold (a small group revealed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import lil_matrix

Cell = tuple[str, ...]
Relation = tuple[tuple[Cell, ...], tuple[Cell, ...]]


@dataclass(frozen=True)
class Leak:
    what: tuple[Cell, ...]
    true_value: int
    low: float
    high: float
    why: str


def _components(hidden: set[Cell], relations: Sequence[Relation]) -> list[tuple[list[Cell], list[Relation]]]:
    parent = {c: c for c in hidden}

    def find(c: Cell) -> Cell:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    touching = []
    for relation in relations:
        cells = [c for c in (*relation[0], *relation[1]) if c in hidden]
        if cells:
            touching.append((relation, cells))
            for other in cells[1:]:
                parent[find(other)] = find(cells[0])
    groups: dict[Cell, tuple[list[Cell], list[Relation]]] = {}
    for c in sorted(hidden):
        groups.setdefault(find(c), ([], []))[0].append(c)
    for relation, cells in touching:
        groups[find(cells[0])][1].append(relation)
    return list(groups.values())


def leaks(values: Mapping[Cell, int], hidden: set[Cell], relations: Sequence[Relation], threshold: int) -> list[Leak]:
    found: list[Leak] = []
    for cells, rels in _components(hidden, relations):
        index = {c: i for i, c in enumerate(cells)}
        a = lil_matrix((len(rels), len(cells)))
        b = np.zeros(len(rels))
        for r, (lhs, rhs) in enumerate(rels):
            for sign, side in ((1, lhs), (-1, rhs)):
                for c in side:
                    if c in index:
                        a[r, index[c]] += sign
                    else:
                        b[r] -= sign * values.get(c, 0)
        a_eq = a.tocsr()
        targets: list[tuple[tuple[Cell, ...], str]] = [((c,), "cell") for c in cells]
        for lhs, rhs in rels:
            for side in (lhs, rhs):
                group = tuple(c for c in side if c in index)
                if len(group) > 1:
                    targets.append((group, "group"))
        for group, kind in targets:
            objective = np.zeros(len(cells))
            for c in group:
                objective[index[c]] = 1
            bounds = [(0, None)] * len(cells)
            low = linprog(objective, A_eq=a_eq, b_eq=b, bounds=bounds, method="highs")
            high = linprog(-objective, A_eq=a_eq, b_eq=b, bounds=bounds, method="highs")
            assert low.status == 0, "the published counts must be consistent"
            lo = low.fun
            hi = math.inf if high.status == 3 else -high.fun
            true = sum(values.get(c, 0) for c in group)
            lo_int, hi_int = math.ceil(lo - 1e-6), math.floor(hi + 1e-6) if hi != math.inf else math.inf
            if kind == "cell" and hi_int - lo_int < 1:
                found.append(Leak(group, true, lo, hi, "recovered exactly"))
            elif lo_int >= 1 and hi_int <= threshold - 1:
                found.append(Leak(group, true, lo, hi, "known to be a small count"))
    return found
