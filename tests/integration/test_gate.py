"""The law at the door: one summary check decides both `POST /v1/eligibility/check` and `POST /v1/cases`.

Every row of the shared table (`tests/gate_table.py`) gives the same verdict through both
endpoints; a refused opening writes nothing. Then the rules the opening applies: the guardian's
consent (SoL 21 kap. 2 §), the child of a parent-targeted case, one running case per person and
intervention, the session cap across cases, what an exempted case must document.

Personnummer literals are Skatteverket's official test numbers.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.cases.models import AuditRecordRow, CaseRow, PersonRow
from app.journal.models import OutboxEvent
from app.kit.idempotency_models import IdempotencyRecord
from tests.gate_table import AGE_20, AGE_36, AGE_41, CHILD_11, ON, ROW_IDS, ROWS, Row, case_opening, check_facts

pytestmark = pytest.mark.usefixtures("demo_catalog")

WRITE = "cases:write cases:read"
OPENED_ON = ON.isoformat()


async def counts(db) -> dict[str, int]:
    async with db.sessions() as session:
        return {
            table.__tablename__: await session.scalar(select(func.count()).select_from(table)) or 0
            for table in (CaseRow, PersonRow, OutboxEvent, AuditRecordRow, IdempotencyRecord)
        }


NOTHING = {"cases": 0, "persons": 0, "outbox_events": 0, "audit_records": 0, "idempotency_keys": 0}


async def open_case(client, auth, body: dict[str, Any], *, unit: str = "unit-a", key: str | None = None):
    headers = auth(WRITE, unit=unit)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post("/v1/cases", json=body, headers=headers)


def opening(intervention_id: str, **body: Any) -> dict[str, Any]:
    return {"intervention_id": intervention_id, "opened_on": OPENED_ON, **body}


def person(pnr: str, name: str = "Sigrid Provsson") -> dict[str, Any]:
    return {"personnummer": pnr, "name": name}


def refused_codes(response) -> set[str]:
    return {c["code"] for c in response.json()["conditions"]}


# --- one table, two endpoints, one verdict -----------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
async def test_gate_table_gives_the_same_verdict_through_both_endpoints(client, auth, db, row: Row):
    check = await client.post(
        "/v1/eligibility/check",
        json={"intervention_id": row.intervention, "on": OPENED_ON, "facts": check_facts(row)},
        headers=auth("eligibility:check"),
    )
    assert check.status_code == 200, check.text
    verdict = check.json()
    assert verdict["status"] == row.verdict
    assert {c["code"] for c in verdict["conditions"] if c["met"] is False} == row.failed

    response = await open_case(client, auth, case_opening(row), key=f"gate-{row.id}")
    if row.verdict in ("eligible", "undetermined"):
        assert response.status_code == 201, response.text
        summary = response.json()["summary_check"]
        assert summary["status"] == row.verdict
        assert summary["conditions"] == [
            {"condition": c["condition"], "code": c["code"], "met": c["met"]} for c in verdict["conditions"]
        ]
        return
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/conditions-not-met"
    assert problem["verdict"] == row.verdict
    assert refused_codes(response) == row.failed
    expected = {(c["condition"], c["code"], c["paragraph"]) for c in verdict["conditions"] if c["met"] is False}
    assert {(c["condition"], c["code"], c["paragraph"]) for c in problem["conditions"]} == expected
    for value in (row.subject, row.child):
        if value is not None:
            assert value not in response.text and value[2:8] not in response.text
    assert await counts(db) == NOTHING  # no case, person, outbox event, audit record or stored response


# --- SoL 11 kap. 5 § p. 5 --------------------------------------------------------------------------------


async def test_sol_11_5_p5_case_opening_refused_under_21(client, auth, db):
    body = opening("skyddat-boende-vuxna", subject=person(AGE_20), facts={"accompanying_children": False})
    response = await open_case(client, auth, body)
    assert response.status_code == 422
    [condition] = response.json()["conditions"]
    assert condition["condition"] == "age" and condition["code"] == "age_below_minimum"
    assert condition["paragraph"] == "SoL 11:5"
    assert condition["field"] == "body.subject.personnummer"  # where the age came from; never the value
    assert "11 kap. 5 §" in condition["message_sv"]
    assert AGE_20 not in response.text and "Sigrid" not in response.text
    assert await counts(db) == NOTHING


async def test_sol_11_5_the_session_cap_is_not_an_entry_condition(client, auth):
    # Nothing about sessions is asked at the door: a new case has used none.
    response = await open_case(client, auth, opening("krisstod", participant={"gender": "male", "age": 50}))
    assert response.status_code == 201
    assert {"condition": "session_cap", "code": "sessions_remaining", "met": True} in response.json()["summary_check"][
        "conditions"
    ]


# --- SoL 21 kap. 2 §: consent --------------------------------------------------------------------------


async def test_sol_21_2_case_records_guardian_consent(client, auth):
    body = opening(
        "repulse",
        participant={"gender": "male", "age": 9},
        guardian_consents=["guardian_1", "guardian_2"],
    )
    case = await open_case(client, auth, body)
    assert case.status_code == 201, case.text
    assert (case.json()["guardian_consent"], case.json()["guardian_consents"]) == (True, ["guardian_1", "guardian_2"])
    got = (await client.get(f"/v1/cases/{case.json()['id']}", headers=auth("cases:read"))).json()
    assert (got["guardian_consent"], got["guardian_consents"]) == (True, ["guardian_1", "guardian_2"])

    one = await open_case(
        client, auth, opening("repulse", participant={"gender": "female", "age": 8}, guardian_consent=True)
    )
    assert (one.json()["guardian_consent"], one.json()["guardian_consents"]) == (True, [])


async def test_sol_21_2_case_opening_under_15_without_consent_names_guardian_consent(client, auth, db):
    response = await open_case(client, auth, opening("repulse", participant={"gender": "male", "age": 9}))
    assert response.status_code == 422
    problem = response.json()
    assert problem["verdict"] == "not_yet"
    assert [(c["field"], c["code"], c["paragraph"]) for c in problem["conditions"]] == [
        ("body.guardian_consent", "sol_21_2_guardian_consent_missing", "SoL 21:2")
    ]
    assert [a["code"] for a in problem["required_actions"]] == ["obtain_guardian_consent"]
    assert await counts(db) == NOTHING


async def test_sol_21_2_15_17_take_part_without_consent_where_the_committee_considered_it(client, auth):
    response = await open_case(client, auth, opening("repulse", participant={"gender": "female", "age": 16}))
    assert response.status_code == 201
    assert response.json()["guardian_consent"] is None  # nothing was recorded, and nothing was needed


@pytest.mark.parametrize(
    "consent",
    [
        {"guardian_consent": False, "guardian_consents": ["guardian_1"]},
        {"guardian_consents": ["guardian_1", "guardian_1"]},
        {"guardian_consents": ["guardian_3"]},
    ],
)
async def test_sol_21_2_contradictory_consent_is_422(client, auth, consent):
    response = await open_case(client, auth, opening("repulse", participant={"gender": "male", "age": 9}, **consent))
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/validation-error"


# --- seed 004: the child of a parent-targeted case ----------------------------------------------------


async def test_seed_004_parent_targeted_case_refuses_an_adult_as_the_child(client, auth, db):
    body = opening("familjebehandling", subject=person(AGE_41), child=person(AGE_36, "Pelle Provsson"))
    response = await open_case(client, auth, body)
    assert response.status_code == 422
    [condition] = response.json()["conditions"]
    assert (condition["field"], condition["code"]) == ("body.child.personnummer", "child_age_out_of_range")
    assert AGE_36 not in response.text and "Pelle" not in response.text
    assert await counts(db) == NOTHING


async def test_seed_004_exempted_parent_targeted_case_takes_the_childs_age_from_the_facts(client, auth):
    ok = await open_case(
        client, auth, opening("barnsakert", participant={"gender": "female", "age": 30}, facts={"children_ages": [3]})
    )
    assert ok.status_code == 201
    refused = await open_case(
        client, auth, opening("barnsakert", participant={"gender": "female", "age": 30}, facts={"children_ages": [7]})
    )
    assert refused.status_code == 422
    assert [c["field"] for c in refused.json()["conditions"]] == ["body.facts.children_ages"]


# --- the facts must agree --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("participant", "fields"),
    [
        ({"age": 30}, ["body.participant.age", "body.subject.personnummer"]),
        ({"birth_year": 1991}, ["body.participant.birth_year", "body.subject.personnummer"]),
    ],
)
async def test_contradictory_age_facts_are_422_naming_the_fields(client, auth, participant, fields):
    body = opening("skyddat-boende-vuxna", subject=person(AGE_36), participant=participant)
    response = await open_case(client, auth, body)
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/contradictory-facts"
    assert response.json()["fields"] == fields
    assert AGE_36 not in response.text and "30" not in response.json()["detail"]


# --- one running case per person and intervention -------------------------------------------------------


async def test_one_running_case_per_person_and_intervention_in_the_unit(client, auth, db):
    body = opening("familjebehandling", subject=person(AGE_41, "Petra Provsson"), child=person(CHILD_11, "Pelle"))
    first = await open_case(client, auth, body)
    assert first.status_code == 201
    before = await counts(db)
    # The other parent opens for the same child: the case is the child's.
    other_parent = opening("familjebehandling", subject=person(AGE_36, "Olle Provsson"), child=person(CHILD_11))
    second = await open_case(client, auth, other_parent, key="second-opening")
    assert second.status_code == 409
    assert second.json()["type"] == "/problems/case-already-open"
    assert second.json()["case_id"] == first.json()["id"]
    assert CHILD_11 not in second.text
    assert await counts(db) == before  # nothing written: no person, event, audit record or stored answer

    elsewhere = await open_case(client, auth, body, unit="unit-b")
    assert elsewhere.status_code == 201  # another unit, another case

    closed = await client.post(
        f"/v1/cases/{first.json()['id']}/close",
        json={"closed_on": "2026-09-02", "reason": "completed"},
        headers=auth(WRITE),
    )
    assert closed.status_code == 200
    again = await open_case(client, auth, body)
    assert again.status_code == 201  # once closed, a new case may be opened


async def test_exempted_cases_have_no_person_so_never_collide(client, auth):
    body = opening("krisstod", subject=person(AGE_36), participant={"gender": "male"})
    assert (await open_case(client, auth, body)).status_code == 201
    assert (await open_case(client, auth, body)).status_code == 201


async def test_session_cap_counts_the_persons_earlier_cases_within_12_months(client, auth):
    headers = auth("catalog:read catalog:write " + WRITE)
    capped = {
        "id": "stodsamtal-registrerat",
        "name": "Stödsamtal (registrerat)",
        "area": "adults",
        "category": "individual_support",
        "documentation_rule": "standard",
        "target_group": "Vuxna.",
        "conditions": {"min_age": 21, "max_sessions": 2},
    }
    decision = {
        "decided_on": "2025-06-20",
        "reference": "§ 400",
        "effective_from": "2025-07-01",
        "interventions": [capped],
    }
    assert (await client.post("/v1/catalog/decisions", json=decision, headers=headers)).status_code == 201

    async def case_with_sessions(opened_on: str, days: list[str], pnr: str) -> str:
        body = {"intervention_id": "stodsamtal-registrerat", "opened_on": opened_on, "subject": person(pnr)}
        case = await client.post("/v1/cases", json=body, headers=headers)
        assert case.status_code == 201, case.text
        for day in days:
            assert (
                await client.post(f"/v1/cases/{case.json()['id']}/sessions", json={"held_on": day}, headers=headers)
            ).status_code == 201
        closing = {"closed_on": days[-1] if days else opened_on, "reason": "completed"}
        await client.post(f"/v1/cases/{case.json()['id']}/close", json=closing, headers=headers)
        return str(case.json()["id"])

    # Two sessions in a case opened in the window: a new case does not start the cap again.
    await case_with_sessions("2026-03-01", ["2026-03-02", "2026-03-03"], AGE_36)
    new = await client.post(
        "/v1/cases",
        json={"intervention_id": "stodsamtal-registrerat", "opened_on": "2026-09-01", "subject": person(AGE_36)},
        headers=headers,
    )
    refused = await client.post(
        f"/v1/cases/{new.json()['id']}/sessions", json={"held_on": "2026-09-02"}, headers=headers
    )
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/session-cap-reached"
    assert refused.json()["sessions_in_earlier_cases"] == 2

    # Sessions in a case opened more than 12 months before do not count.
    await case_with_sessions("2025-07-01", ["2025-07-02", "2025-07-03"], AGE_41)
    later = await client.post(
        "/v1/cases",
        json={"intervention_id": "stodsamtal-registrerat", "opened_on": "2026-09-01", "subject": person(AGE_41)},
        headers=headers,
    )
    allowed = await client.post(
        f"/v1/cases/{later.json()['id']}/sessions", json={"held_on": "2026-09-02"}, headers=headers
    )
    assert allowed.status_code == 201, allowed.text


# --- seeds 002, 003: what an exempted case documents -----------------------------------------------------


async def test_sol_14_5_exempted_case_requires_gender_and_age(client, auth, db):
    response = await open_case(client, auth, opening("krisstod"))
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"body.participant.gender", "body.participant.age"}
    assert await counts(db) == NOTHING
    declined = await open_case(client, auth, opening("krisstod", participant={"gender": "unknown", "age": "unknown"}))
    assert declined.status_code == 201, declined.text
    assert declined.json()["participant"] == {"gender": "unknown", "age": None, "age_band": None, "role": None}
    from_year = await open_case(client, auth, opening("krisstod", participant={"gender": "other", "birth_year": 1980}))
    assert from_year.json()["participant"]["age"] == 46


async def test_sol_14_3_identified_case_does_not_require_gender(client, auth):
    response = await open_case(client, auth, opening("skyddat-boende-vuxna", subject=person(AGE_36)))
    assert response.status_code == 201
    assert response.json()["participant"]["age"] == 36


# --- closing: the coded reason for an early end -------------------------------------------------------


async def test_sol_14_5_closing_records_the_coded_early_termination_reason(client, auth, db):
    case = await open_case(client, auth, opening("krisstod", participant={"gender": "female", "age": 33}))
    closing = {
        "closed_on": "2026-09-03",
        "reason": "ended_early",
        "early_termination_reason": "other",
        "early_termination_note": "Sigrid ringde från 070-174 06 42 och ville sluta.",
        "known_identity": [{"name": "Sigrid Provsson"}],
    }
    closed = await client.post(f"/v1/cases/{case.json()['id']}/close", json=closing, headers=auth(WRITE))
    assert closed.status_code == 200, closed.text
    assert closed.json()["closing"]["early_termination_reason"] == "other"
    note = closed.json()["closing"]["early_termination_note"]
    assert "Sigrid" not in note and "174" not in note  # scrubbed like all text of an exempted case
    assert {(r["path"], r["kind"]) for r in closed.json()["redactions"]} == {
        ("early_termination_note", "name"),
        ("early_termination_note", "phone"),
    }
    async with db.sessions() as session:
        row = (await session.scalars(select(CaseRow))).one()
    assert (row.early_termination_reason, row.early_termination_note) == ("other", note)


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("moved", "Flyttat"),
        ("declined_to_continue", "Vill inte fortsätta"),
        ("referred_to_needs_assessed", "Hänvisad till behovsprövad insats"),
        ("no_show", "Uteblivit"),
    ],
)
async def test_journal_closing_entry_names_the_early_termination_reason_in_swedish(client, auth, db, code, label):
    case = await open_case(client, auth, opening("skyddat-boende-vuxna", subject=person(AGE_36)))
    closing = {"closed_on": "2026-09-03", "reason": "ended_early", "early_termination_reason": code}
    closed = await client.post(f"/v1/cases/{case.json()['id']}/close", json=closing, headers=auth(WRITE))
    assert closed.status_code == 200
    async with db.sessions() as session:
        event = (await session.scalars(select(OutboxEvent).where(OutboxEvent.kind == "case.closed"))).one()
    assert event.payload["closing"]["early_termination_reason"] == label
    assert event.payload["entry"]["text"].splitlines()[:2] == [
        "Insatsen avbröts i förtid.",
        f"Orsak till avbrott: {label}",
    ]


# --- seed 004 bilaga 3: the plan keeps its history ---------------------------------------------------------


def plan(goals: str, drawn_up_on: str) -> dict[str, Any]:
    return {
        "drawn_up_on": drawn_up_on,
        "starts_on": "2026-09-01",
        "description": "Skyddat boende",
        "responsible_contact": "Enheten",
        "goals": goals,
    }


async def test_seed_004_every_plan_version_is_kept_with_who_and_when(client, auth, db):
    case = await open_case(client, auth, opening("skyddat-boende-vuxna", subject=person(AGE_36)))
    base = f"/v1/cases/{case.json()['id']}"
    first = await client.put(f"{base}/plan", json=plan("Trygg vardag.", "2026-09-02"), headers=auth(WRITE, sub="anna"))
    second = await client.put(f"{base}/plan", json=plan("Eget boende.", "2026-09-10"), headers=auth(WRITE, sub="bo"))
    assert (first.json()["plan"]["version"], second.json()["plan"]["version"]) == (1, 2)

    versions = await client.get(f"{base}/plan/versions", headers=auth("cases:read"))
    assert versions.status_code == 200
    items = versions.json()["items"]
    assert [(v["version"], v["goals"], v["recorded_by"]) for v in items] == [
        (1, "Trygg vardag.", "anna"),
        (2, "Eget boende.", "bo"),
    ]
    assert all(v["recorded_at"] for v in items)
    got = (await client.get(base, headers=auth("cases:read"))).json()
    assert got["plan"]["version"] == 2 and got["plan"]["goals"] == "Eget boende."

    # The journal system gets each version.
    async with db.sessions() as session:
        events = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.kind == "case.plan_set").order_by(OutboxEvent.seq)
            )
        ).all()
    assert [(e.payload["version"], e.payload["plan"]["goals"]) for e in events] == [
        (1, "Trygg vardag."),
        (2, "Eget boende."),
    ]
    assert (await client.get(f"{base}/plan/versions", headers=auth("cases:read", unit="unit-b"))).status_code == 404


async def test_plan_versions_of_an_exempted_case_are_scrubbed(client, auth):
    case = await open_case(client, auth, opening("krisstod", participant={"gender": "male", "age": 40}))
    base = f"/v1/cases/{case.json()['id']}"
    await client.put(f"{base}/plan", json=plan("Ring 070-174 06 42.", "2026-09-02"), headers=auth(WRITE))
    items = (await client.get(f"{base}/plan/versions", headers=auth("cases:read"))).json()["items"]
    assert [v["goals"] for v in items] == ["Ring [telefon]."]


# --- seed 004: coded entries ------------------------------------------------------------------------------


async def test_seed_004_coded_entries_reach_the_journal_of_an_identified_case(client, auth, db):
    case = await open_case(client, auth, opening("skyddat-boende-vuxna", subject=person(AGE_36)))
    base = f"/v1/cases/{case.json()['id']}"
    for code in ("concern_reported", "referred_to_needs_assessed"):
        response = await client.post(
            f"{base}/coded-entries", json={"code": code, "occurred_on": "2026-09-05"}, headers=auth(WRITE)
        )
        assert response.status_code == 201, response.text
        assert response.json()["coded_entry"]["code"] == code
        assert response.json()["last_entry_on"] == "2026-09-05"
    got = (await client.get(base, headers=auth("cases:read"))).json()
    assert [e["code"] for e in got["coded_entries"]] == ["concern_reported", "referred_to_needs_assessed"]
    async with db.sessions() as session:
        events = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.kind == "case.coded_entry_added").order_by(OutboxEvent.seq)
            )
        ).all()
        audited = await session.scalar(
            select(func.count()).select_from(AuditRecordRow).where(AuditRecordRow.action == "case.coded_entry_added")
        )
    assert [e.payload["code"] for e in events] == ["concern_reported", "referred_to_needs_assessed"]
    assert events[0].payload["entry"]["kind"] == "event"
    assert "Orosanmälan" in events[0].payload["entry"]["text"]
    assert "behovsprövad insats" in events[1].payload["entry"]["text"]
    assert audited == 2


async def test_seed_004_coded_entries_of_an_exempted_case_stay_in_the_service(client, auth, db):
    case = await open_case(client, auth, opening("krisstod", participant={"gender": "male", "age": 40}))
    base = f"/v1/cases/{case.json()['id']}"
    response = await client.post(
        f"{base}/coded-entries", json={"code": "concern_reported", "occurred_on": "2026-09-02"}, headers=auth(WRITE)
    )
    assert response.status_code == 201
    assert await counts(db) == {**NOTHING, "cases": 1}  # no event, no audit record: nothing identifies anyone


@pytest.mark.parametrize(
    "body",
    [
        {"code": "diagnosis_made", "occurred_on": "2026-09-02"},
        {"code": "concern_reported", "occurred_on": "2026-08-31"},
        {"code": "concern_reported", "occurred_on": "2026-09-02", "text": "Sigrid Provsson"},
    ],
)
async def test_coded_entry_takes_only_a_known_code_and_a_date_in_the_case(client, auth, body):
    case = await open_case(client, auth, opening("krisstod", participant={"gender": "male", "age": 40}))
    response = await client.post(f"/v1/cases/{case.json()['id']}/coded-entries", json=body, headers=auth(WRITE))
    assert response.status_code == 422
    assert "Sigrid" not in response.text and "diagnosis_made" not in response.text


async def test_coded_entry_on_a_closed_case_is_409(client, auth):
    case = await open_case(client, auth, opening("krisstod", participant={"gender": "male", "age": 40}))
    base = f"/v1/cases/{case.json()['id']}"
    await client.post(f"{base}/close", json={"closed_on": "2026-09-02", "reason": "completed"}, headers=auth(WRITE))
    response = await client.post(
        f"{base}/coded-entries", json={"code": "concern_reported", "occurred_on": "2026-09-02"}, headers=auth(WRITE)
    )
    assert response.status_code == 409 and response.json()["type"] == "/problems/case-closed"
