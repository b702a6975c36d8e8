"""Group meetings and the follow-up statistics through the API, on SQLite and PostgreSQL.

Today is taken from the clock: the generated records lie in 2025Q3–2026Q3, which have ended.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

import pytest

from app.cases.follow_up import (
    AGE_BANDS,
    CLOSING_REASONS,
    EARLY_TERMINATION_REASONS,
    SATISFACTION,
)
from app.cases.models import CaseRow
from app.core.db import new_id
from app.kit.clock import today
from app.stats.disclosure import MAX_PERTURBATION
from app.stats.periods import Period, last_ended_quarter
from tests.conftest import make_settings
from tests.stats.differencing import subtraction_leaks

pytestmark = pytest.mark.usefixtures("demo_catalog")

WRITE = "cases:write cases:read"
THRESHOLD = 5
ADULT = "199003012391"


@pytest.fixture
def method() -> str:
    return "suppression"


@pytest.fixture
def refresh_seconds() -> float:
    return 0


@pytest.fixture
def settings(database_url: str, method: str, refresh_seconds: float):
    return make_settings(
        database_url,
        stats_disclosure_method=method,
        stats_refresh_seconds=refresh_seconds,
        stats_threshold=THRESHOLD,
    )


def meeting(**overrides: Any) -> dict[str, Any]:
    return {"intervention_id": "komet", "held_on": "2026-02-10", "participants": {"female": 6, "male": 4}, **overrides}


# --- group meetings --------------------------------------------------------------------------------


async def test_sol_14_4_a_group_meeting_is_counts_and_its_note_is_scrubbed(client, auth):
    body = meeting(
        age_bands={"13-17": 7, "30-49": 2},
        note="Bra träff. Sigrid (19900301-2391) ringde från 070-174 06 42 efteråt.",
    )
    response = await client.post("/v1/groups/tisdagsgruppen/meetings", json=body, headers=auth(WRITE))
    assert response.status_code == 201, response.text
    doc = response.json()
    assert doc["participants"] == {"female": 6, "male": 4} and doc["participant_count"] == 10
    assert doc["age_bands"] == {"13-17": 7, "30-49": 2}
    assert "2391" not in doc["note"] and "174 06" not in doc["note"]
    assert {(r["kind"], r["rule"]) for r in doc["redactions"]} == {("personnummer", "SoL 14:4"), ("phone", "SoL 14:4")}

    listed = await client.get("/v1/groups/tisdagsgruppen/meetings", headers=auth(WRITE))
    assert [m["id"] for m in listed.json()["items"]] == [doc["id"]]
    other_unit = await client.get("/v1/groups/tisdagsgruppen/meetings", headers=auth(WRITE, unit="unit-b"))
    assert other_unit.json()["items"] == []


async def test_a_groups_meetings_are_pages_newest_first(client, auth):
    days = ["2026-02-10", "2026-02-17", "2026-02-17", "2026-02-24"]
    for day in days:
        response = await client.post("/v1/groups/g1/meetings", json=meeting(held_on=day), headers=auth(WRITE))
        assert response.status_code == 201 and response.headers["location"] == "/v1/groups/g1/meetings"
    everything = (await client.get("/v1/groups/g1/meetings", headers=auth(WRITE))).json()
    assert [m["held_on"] for m in everything["items"]] == sorted(days, reverse=True)
    assert everything["next_cursor"] is None
    seen, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/groups/g1/meetings", params=params, headers=auth(WRITE))).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [m["id"] for m in seen] == [m["id"] for m in everything["items"]]
    forged = await client.get("/v1/groups/g1/meetings", params={"cursor": "bm9wZQ"}, headers=auth(WRITE))
    assert forged.status_code == 422 and forged.json()["errors"][0]["field"] == "query.cursor"


async def test_a_group_meeting_needs_a_group_intervention_offered_that_day(client, auth):
    async def post(body: dict[str, Any], group: str = "g1") -> Any:
        return await client.post(f"/v1/groups/{group}/meetings", json=body, headers=auth(WRITE))

    individual = await post(meeting(intervention_id="krisstod"))
    assert individual.status_code == 422 and individual.json()["type"] == "/problems/not-a-group-intervention"
    unknown = await post(meeting(intervention_id="no-such-thing"))
    assert unknown.json()["type"] == "/problems/intervention-not-offered"
    before = await post(meeting(held_on="2025-06-30"))
    assert before.json()["type"] == "/problems/intervention-not-offered"
    future = await post(meeting(held_on=(today() + dt.timedelta(days=1)).isoformat()))
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "body.held_on"
    too_many = await post(meeting(age_bands={"30-49": 11}))
    assert too_many.status_code == 422
    no_one = await post(meeting(participants={}))
    assert no_one.status_code == 422
    bad_band = await post(meeting(age_bands={"Sigrid": 1}))
    assert bad_band.status_code == 422 and "Sigrid" not in bad_band.text
    not_a_slug = await post(meeting(), group="Sigrid Provsson")
    assert not_a_slug.status_code == 422
    forbidden = await client.post("/v1/groups/g1/meetings", json=meeting(), headers=auth("cases:read"))
    assert forbidden.status_code == 403


# --- tables ------------------------------------------------------------------------------------------


async def test_the_tables_need_the_scope_and_answer_only_the_own_committee(client, auth):
    listed = await client.get("/v1/stats/tables", headers=auth("stats:read"))
    assert listed.status_code == 200
    names = {t["name"] for t in listed.json()["tables"]}
    assert {"participants", "started_by_gender", "early_endings_by_reason", "group_meetings"} <= names
    assert (await client.get("/v1/stats/tables", headers=auth("cases:read"))).status_code == 403
    other = await client.get(
        "/v1/stats/tables/participants",
        params={"period": "2026Q1", "committee": "sn-centrum"},
        headers=auth("stats:read"),
    )
    assert other.status_code == 403 and other.json()["type"] == "/problems/committee-not-permitted"


async def test_only_ended_quarters_and_years_are_answered(client, auth):
    running = Period.of_index(last_ended_quarter(today()) + 1)
    for period in (str(running), str(running.year + 1), f"{today().year + 1}Q1"):
        response = await client.get(
            "/v1/stats/tables/participants", params={"period": period}, headers=auth("stats:read")
        )
        assert response.status_code == 422 and response.json()["type"] == "/problems/period-not-ended", period
    for period in ("2026-01", "2026Q5", "Q1", "0000", "0000Q1"):
        response = await client.get(
            "/v1/stats/tables/participants", params={"period": period}, headers=auth("stats:read")
        )
        assert response.status_code == 422 and response.json()["type"] == "/problems/validation-error"
    missing = await client.get("/v1/stats/tables/nonesuch", params={"period": "2026Q1"}, headers=auth("stats:read"))
    assert missing.status_code == 404


async def test_identified_and_exempted_cases_count_alike(client, auth):
    for i in range(6):
        for intervention, extra in (
            # The identified case's age comes from the personnummer; the exempted one states it.
            ("stodsamtal-skadligt-bruk", {"subject": {"personnummer": ADULT, "name": "Sigrid Provsson"}}),
            ("rad-och-stod-mottagning", {"participant": {"gender": "female", "age": 34}}),
        ):
            body = {
                "intervention_id": intervention,
                "opened_on": f"2026-02-{10 + i}",
                "participant": {"gender": "female"},
                "informed_of_right_to_apply": True,
                **extra,
            }
            response = await client.post("/v1/cases", json=body, headers=auth(WRITE))
            assert response.status_code == 201, response.text
    answer = await client.get(
        "/v1/stats/tables/started_by_gender", params={"period": "2026Q1"}, headers=auth("stats:read")
    )
    assert answer.status_code == 200, answer.text
    rows = {(r["level"], r["key"]): r["values"] for r in answer.json()["rows"]}
    assert rows[("committee", "sn-sydvast")]["total"] == 12
    assert rows[("committee", "sn-sydvast")]["female"] == 12
    assert rows[("intervention", "rad-och-stod-mottagning")]["total"] == 6
    assert rows[("unit", "unit-a")]["total"] == 12

    csv = await client.get(
        "/v1/stats/tables/started_by_gender",
        params={"period": "2026Q1"},
        headers={**auth("stats:read"), "Accept": "text/csv"},
    )
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0] == "level,key,label,total,female,male,other,unknown"
    assert lines[1].startswith("committee,sn-sydvast,Socialnämnden Sydväst,12,12,0,0,0")


# --- generated records: every table, every period ------------------------------------------------------

UNITS = ("unit-a", "unit-b")
INTERVENTIONS = ("komet", "krisstod", "rad-och-stod-mottagning", "stodsamtal-skadligt-bruk")
# The same statistic shown in several tables: it must be published the same everywhere.
SAME = {
    ("started_by_gender", "total"): ("participants", "started"),
    ("started_by_age_band", "total"): ("participants", "started"),
    ("informed_of_right_to_apply", "total"): ("participants", "started"),
    ("sessions_used", "total"): ("participants", "closed"),
    ("closings_by_reason", "total"): ("participants", "closed"),
    ("wellbeing_change", "total"): ("participants", "closed"),
    ("participant_view", "total"): ("participants", "closed"),
    ("early_endings_by_reason", "total"): ("closings_by_reason", "ended_early"),
    ("group_attendance_by_age_band", "attendance"): ("group_meetings", "attendance"),
}


def _quarter_start(index: int) -> dt.date:
    period = Period.of_index(index)
    return period.first_day


def generated_cases(seed: int, n: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    first, last = Period(2025, 3).quarter_indices[0], Period(2026, 3).quarter_indices[0]
    out = []
    for _ in range(n):
        opened = _quarter_start(rnd.randint(first, last)) + dt.timedelta(days=rnd.randint(0, 80))
        closed = opened + dt.timedelta(days=rnd.randint(0, 200)) if rnd.random() < 0.7 else None
        if closed is not None and closed >= Period(2026, 3).last_day:
            closed = None
        reason = rnd.choice(CLOSING_REASONS) if closed else None
        out.append(
            {
                "unit": rnd.choice(UNITS),
                "intervention": rnd.choice(INTERVENTIONS),
                "opened_on": opened,
                "closed_on": closed,
                "gender": rnd.choice(["female", "male", "other", "not_stated", None]),
                "age": rnd.choice([None, *range(0, 90, 7)]),
                "informed": rnd.random() < 0.8,
                "reason": reason,
                "early": rnd.choice([*EARLY_TERMINATION_REASONS[:-1], "free text from before codes"])
                if reason == "ended_early"
                else None,
                "start": rnd.choice([None, 1, 2, 3, 4, 5]),
                "end": rnd.choice([None, 1, 2, 3, 4, 5]) if closed else None,
                "satisfaction": rnd.choice([None, *map(int, SATISFACTION[:-1])]) if closed else None,
                "sessions": rnd.randint(0, 12),
            }
        )
    return out


async def insert_cases(db, cases: list[dict[str, Any]]) -> None:
    async with db.sessions() as session, session.begin():
        for c in cases:
            session.add(
                CaseRow(
                    id=new_id(),
                    committee="sn-sydvast",
                    unit=c["unit"],
                    intervention_id=c["intervention"],
                    intervention_name=c["intervention"],
                    decision_id=new_id(),
                    documentation_rule="identity_exempt",
                    subject_rule="subject",
                    process_steps=3,
                    identity="anonymous",
                    participant_gender=c["gender"],
                    participant_age=c["age"],
                    start_wellbeing=c["start"],
                    start_social_situation=[],
                    end_wellbeing=c["end"],
                    end_social_situation=[],
                    participant_satisfaction=c["satisfaction"],
                    informed_of_right_to_apply=c["informed"],
                    informed_of_documentation=True,
                    status="closed" if c["closed_on"] else "in_progress",
                    opened_on=c["opened_on"],
                    closed_on=c["closed_on"],
                    closing_reason=c["reason"],
                    early_termination_reason=c["early"],
                    session_count=c["sessions"],
                    last_entry_on=c["closed_on"] or c["opened_on"],
                    created_by="generator",
                )
            )


def raw_committee(cases: list[dict[str, Any]], period: Period) -> dict[str, int]:
    first, last = period.first_day, period.last_day
    return {
        "started": sum(first <= c["opened_on"] <= last for c in cases),
        "closed": sum(c["closed_on"] is not None and first <= c["closed_on"] <= last for c in cases),
        "ongoing": sum(c["opened_on"] <= last and (c["closed_on"] is None or c["closed_on"] > last) for c in cases),
        "female": sum(first <= c["opened_on"] <= last and c["gender"] == "female" for c in cases),
    }


def _relations(tables: list[dict[str, Any]], periods: list[Period], rows: list[tuple[str, str]]) -> list[Any]:
    """Every row, column and period difference the answers allow, plus the flow of cases between quarters."""

    def cell(period: Period | str, row: tuple[str, str], table: str, column: str) -> tuple[str, ...]:
        table, column = SAME.get((table, column), (table, column))
        period = str(period)
        if (table, column) == ("participants", "ongoing") and len(period) == 4:
            period = f"{period}Q4"
        return (period, *row, table, column)

    committee = next(r for r in rows if r[0] == "committee")
    units = [r for r in rows if r[0] == "unit"]
    interventions = [r for r in rows if r[0] == "intervention"]
    relations = []
    for table in tables:
        name, columns = table["name"], [c for c in table["columns"] if c["key"] != "share"]
        for period in periods:
            for row in rows:
                for total in columns:
                    parts = [c["key"] for c in columns if c["part_of"] == total["key"]]
                    if parts:
                        relations.append(
                            ((cell(period, row, name, total["key"]),), tuple(cell(period, row, name, p) for p in parts))
                        )
            for column in columns:
                for members in (units, interventions):
                    relations.append(
                        (
                            (cell(period, committee, name, column["key"]),),
                            tuple(cell(period, m, name, column["key"]) for m in members),
                        )
                    )
        for year in (p for p in periods if p.is_year):
            for row in rows:
                for column in columns:
                    if (name, column["key"]) != ("participants", "ongoing"):
                        quarters = [Period(year.year, q) for q in range(1, 5)]
                        relations.append(
                            (
                                (cell(year, row, name, column["key"]),),
                                tuple(cell(q, row, name, column["key"]) for q in quarters),
                            )
                        )
    quarters = [p for p in periods if not p.is_year]
    for row in rows:
        for before, after in itertools.pairwise(quarters):
            relations.append(
                (
                    (cell(after, row, "participants", "ongoing"), cell(after, row, "participants", "closed")),
                    (cell(before, row, "participants", "ongoing"), cell(after, row, "participants", "started")),
                )
            )
    return relations


@pytest.mark.parametrize("refresh_seconds", [3600.0])
@pytest.mark.parametrize("method", ["suppression", "cell_key"])
async def test_every_table_and_period_of_generated_records(client, auth, db, method):
    cases = generated_cases(seed=11, n=260)
    await insert_cases(db, cases)
    for i, held_on in enumerate(("2025-09-02", "2025-11-04", "2026-03-03", "2026-05-05", "2026-05-12")):
        body = meeting(held_on=held_on, participants={"female": 3 + i, "male": i % 3}, age_bands={"18-20": 2})
        response = await client.post(f"/v1/groups/g{i % 2}/meetings", json=body, headers=auth(WRITE))
        assert response.status_code == 201, response.text
    headers = auth("stats:read")
    tables = (await client.get("/v1/stats/tables", headers=headers)).json()["tables"]
    periods = [Period(2025, 3), Period(2025, 4), *(Period(2026, q) for q in (1, 2, 3)), Period(2025)]
    published: dict[tuple[str, ...], int | None] = {}
    rows: list[tuple[str, str]] = []
    for table in tables:
        for period in periods:
            response = await client.get(
                f"/v1/stats/tables/{table['name']}", params={"period": str(period)}, headers=headers
            )
            assert response.status_code == 200, response.text
            answer = response.json()
            rows = [(r["level"], r["key"]) for r in answer["rows"]]
            for r in answer["rows"]:
                for column, value in r["values"].items():
                    if column == "share":
                        continue
                    # No published count is from 1 to below the threshold.
                    assert value is None or value == 0 or value >= THRESHOLD, (table["name"], period, r, column)
                    key = (table["name"], column)
                    same_table, same_column = SAME.get(key, key)
                    p = (
                        f"{period}Q4"
                        if (same_table, same_column) == ("participants", "ongoing") and period.is_year
                        else str(period)
                    )
                    cell = (p, r["level"], r["key"], same_table, same_column)
                    # A statistic shown in several tables is published the same in each.
                    assert published.setdefault(cell, value) == value, cell

    # The published counts agree with the records: exactly, or within the perturbation.
    noise = MAX_PERTURBATION if method == "cell_key" else 0
    for period in periods:
        raw = raw_committee(cases, period)
        for column, n in raw.items():
            table = "started_by_gender" if column == "female" else "participants"
            key = SAME.get((table, column), (table, column))
            p = f"{period}Q4" if column == "ongoing" and period.is_year else str(period)
            shown = published[(p, "committee", "sn-sydvast", *key)]
            assert shown is None or abs(shown - n) <= noise, (period, column, shown, n)
    assert any(v for v in published.values())

    # No single subtraction — rows, columns, quarters from the year, the flow between quarters — uncovers
    # a hidden count: not exactly, and not as a count from 1 to below the threshold.
    relations = _relations(tables, periods, rows)
    assert subtraction_leaks(published, relations, THRESHOLD, noise=noise) == []

    # The same question, the same answer.
    first = await client.get("/v1/stats/tables/started_by_age_band", params={"period": "2025"}, headers=headers)
    again = await client.get("/v1/stats/tables/started_by_age_band", params={"period": "2025"}, headers=headers)
    assert first.json()["rows"] == again.json()["rows"]
    assert set(first.json()["columns"][i]["key"] for i in range(1, 1 + len(AGE_BANDS))) == set(AGE_BANDS)


async def test_the_report_is_a_page_of_charts_from_published_counts(client, auth, db):
    await insert_cases(db, generated_cases(seed=3, n=120))
    response = await client.get("/v1/stats/report", params={"year": 2026}, headers=auth("stats:read"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert page.count("<svg") == 5
    assert "Uppföljning på verksamhetsnivå 2026" in page and "Socialnämnden Sydväst" in page
    assert "<script" not in page and 'src="http' not in page and 'href="http' not in page
    assert (await client.get("/v1/stats/report", params={"year": 2026}, headers=auth("cases:read"))).status_code == 403
    future = await client.get("/v1/stats/report", params={"year": today().year + 1}, headers=auth("stats:read"))
    assert future.status_code == 422
