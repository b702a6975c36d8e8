"""Eligibility: the rule evaluation alone (the HTTP endpoint is measured through a real server in
`bench.endpoints`, next to a bare validated-echo endpoint, with `HTTP_BODIES`).

Target (the issue): the rule evaluation well under 50 µs per check.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.catalog.domain import Role
from app.catalog.loader import demo_catalog_path, load_catalog_text
from app.catalog.snapshot import CatalogSnapshot
from app.eligibility.rules import Facts, evaluate, resolve_age
from app.eligibility.service import RuleCache
from bench.harness import RunConfig, Section, SectionReport, per_call

ON = dt.date(2025, 9, 1)
COMMITTEE = "sn-sydvast"
RULE_TARGET_US = 50.0
HTTP_TARGET_RATIO = 0.60

# Mixed facts: complete and partial, children and adults, eligible and not.
FACTS = [
    Facts(),
    Facts(age=30, role=Role.adult, sessions_used=0, self_declared_target_group=True),
    Facts(age=9, role=Role.child, school_year=3, guardian_consent=True, self_declared_target_group=True),
    Facts(age=10, role=Role.child, school_year=4),
    Facts(age=16, role=Role.child, sessions_used=2, self_declared_target_group=True),
    Facts(age=40, role=Role.parent, children_ages=(2, 12), sessions_used=4, self_declared_target_group=True),
    Facts(age=55, role=Role.relative, sessions_used=5, self_declared_target_group=False),
    Facts(age=22, accompanying_children=False, residence_committee=COMMITTEE, self_declared_target_group=True),
]

# Official test personnummer (Skatteverket) only.
HTTP_BODIES: list[dict[str, Any]] = [
    {
        "intervention_id": "kort-intervention",
        "on": ON.isoformat(),
        "facts": {"age": 30, "sessions_used": 1, "self_declared_target_group": True},
    },
    {
        "intervention_id": "komet",
        "on": ON.isoformat(),
        "facts": {
            "role": "parent",
            "age": 38,
            "children_ages": [5, 13],
            "sessions_used": 0,
            "self_declared_target_group": True,
        },
    },
    {
        "intervention_id": "repulse",
        "on": ON.isoformat(),
        "facts": {"personnummer": "201501012395", "guardian_consent": True, "self_declared_target_group": True},
    },
    {
        "intervention_id": "skyddat-boende-vuxna",
        "on": ON.isoformat(),
        "facts": {"birth_date": "1990-05-17", "accompanying_children": False},
    },
]

SEARCH_BODIES: list[dict[str, Any]] = [
    {"on": ON.isoformat(), "facts": {"age": 30}},
    {"on": ON.isoformat(), "include_ineligible": True, "facts": {"age": 12, "role": "child", "school_year": 6}},
]


def _snapshot() -> CatalogSnapshot:
    committees, decisions = load_catalog_text(demo_catalog_path().read_text(encoding="utf-8"))
    return CatalogSnapshot(committees, decisions)


def rule_evaluation(report: SectionReport, config: RunConfig) -> None:
    snapshot = _snapshot()
    committee = snapshot.committees[COMMITTEE]
    offered = sorted(snapshot.in_force(COMMITTEE, ON).values(), key=lambda o: o.id)
    rules = RuleCache()
    compiled = [rules.get(o.intervention, committee) for o in offered]
    repeats = config.scale(400, 40)

    def evaluate_only() -> int:
        for _ in range(repeats):
            for facts in FACTS:
                for rule in compiled:
                    evaluate(rule, facts)
        return repeats * len(FACTS) * len(compiled)

    def with_lookup() -> int:  # the service's path: find in the snapshot, the compiled rules, evaluate
        for _ in range(repeats):
            for facts in FACTS:
                for o in offered:
                    found = snapshot.find(COMMITTEE, o.id, ON)
                    assert found is not None
                    evaluate(rules.get(found.intervention, committee), facts)
        return repeats * len(FACTS) * len(offered)

    def age_from_personnummer() -> int:
        n = repeats * 10
        for _ in range(n):
            resolve_age(on=ON, identity_numbers={"personnummer": "19810101-2386"})
        return n

    seconds = per_call(evaluate_only)
    met = seconds * 1e6 < RULE_TARGET_US
    report.add("Rule evaluation: µs per check", f"{seconds * 1e6:.2f}", f"< {RULE_TARGET_US:.0f} µs", met)
    report.add("Rule evaluation: checks per second", f"{1 / seconds:,.0f}")
    lookup = per_call(with_lookup)
    report.add("Catalog lookup + rule evaluation: µs per check", f"{lookup * 1e6:.2f}")
    resolution = per_call(age_from_personnummer)
    report.add("Age from a personnummer (fact resolution): µs", f"{resolution * 1e6:.2f}")
    report.note(
        f"Rule evaluation: the {len(compiled)} demo interventions of {COMMITTEE} × {len(FACTS)} mixed "
        "sets of facts, compiled once; best of 5 rounds."
    )


async def run(config: RunConfig) -> SectionReport:
    report = SectionReport("Eligibility: the rules alone")
    rule_evaluation(report, config)
    return report


SECTION = Section("eligibility", run)
