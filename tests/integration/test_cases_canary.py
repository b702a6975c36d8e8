"""The canary: identity given to an exempted case (SoL 14:5, 14:4) is found nowhere afterwards.

For EVERY `identity_exempt` and `counselling_exempt` demo intervention the whole flow runs (open,
notes with identity sprinkled in free text, plan, sessions, close, reads, a rejected request)
with distinctive canary values in every structured and free-text field. Then every table of the
database, every captured log line and every response body is searched for the canary values in
every common format.

Personnummer literals are Skatteverket's official test numbers; the phone number is from a range
PTS reserves for fiction; the e-mail address uses the reserved domain example.com.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.models import Base

pytestmark = pytest.mark.usefixtures("demo_catalog")

PNR = "198112022382"
CHILD_PNR = "202305032381"
YOUTH_PNR = "201101012381"
NAME = "Zyxwa Qvornsdotter"
CHILD_NAME = "Pirrko Zyxwasson"
PHONE = "070-174 06 77"
EMAIL = "zyxwa.qvornsdotter@example.com"
STREET = "Kanariegatan 17"
ADDRESS = f"{STREET}, 414 51 Göteborg"

WRITE = "cases:write cases:read"


def pnr_formats(pnr: str) -> list[str]:
    short, tail = pnr[2:8], pnr[8:]
    return [
        pnr,
        pnr[2:],
        f"{short}-{tail}",
        f"{pnr[:8]}-{tail}",
        f"{short}+{tail}",
        f"{short} {tail}",
        f"{pnr[:8]} {tail}",
    ]


# What must never be found, lower-cased (the haystack is lower-cased too).
CANARIES = [
    *pnr_formats(PNR),
    *pnr_formats(CHILD_PNR),
    *pnr_formats(YOUTH_PNR),
    PNR[:8],
    f"{PNR[:4]}-{PNR[4:6]}-{PNR[6:8]}",  # the birth date: age is kept, never a birth date
    CHILD_PNR[:8],
    f"{CHILD_PNR[:4]}-{CHILD_PNR[4:6]}-{CHILD_PNR[6:8]}",
    YOUTH_PNR[:8],
    f"{YOUTH_PNR[:4]}-{YOUTH_PNR[4:6]}-{YOUTH_PNR[6:8]}",
    "zyxwa",
    "qvornsdotter",
    "pirrko",
    "zyxwasson",
    "0701740677",
    "070-174 06 77",
    "070 174 06 77",
    "070-1740677",
    "+46 70 174 06 77",
    "+46701740677",
    "174 06 77",
    EMAIL,
    "zyxwa.qvornsdotter",
    "kanariegatan",
]

# Free text with identity in many formats; {i} keeps the notes apart.
SPRINKLED = (
    "Zyxwa Qvornsdotter (pnr 811202-2382, även 19811202 2382) berättade om veckan. "
    "QVORNSDOTTER nås på 070 174 06 77 eller +46 70 174 06 77, zyxwa.qvornsdotter@example.com. "
    "Bor på Kanariegatan 17 med sonen Pirrko Zyxwasson, 202305032381. Zyxwas mående: bättre."
)
# Only what patterns can find (a later request that names nobody).
PATTERNS_ONLY = (
    "Ringde från 0701740677 och 070-1740677; mejl zyxwa.qvornsdotter@example.com; "
    "personnummer 198112022382 och 8112022382; adress Kanariegatan 17, 414 51 Göteborg."
)


def person(pnr: str, name: str) -> dict[str, Any]:
    return {
        "personnummer": pnr,
        "name": name,
        "address": ADDRESS,
        "phone": PHONE,
        "email": EMAIL,
        "protected_identity": False,
    }


KNOWN = [person(PNR, NAME), person(CHILD_PNR, CHILD_NAME), person(YOUTH_PNR, NAME)]

# Who takes part, so that the summary check lets the case open. Youth interventions get a
# 15-year-old of the same name (the free text names whoever takes part), the others an adult of 45.
YOUTH = {"repulse", "medling-vid-brott", "rad-och-stod-falt", "skolsocial-samverkan"}
ROLES = {"anhorigstod": "relative", "rad-och-stod-falt": "child", "stodsamtal-riskfyllt-beteende": "parent"}


def participant_of(intervention: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], int]:
    """(subject, participant, expected age) for an intervention of the demo catalog."""
    if intervention["id"] in YOUTH:
        subject, participant, age = person(YOUTH_PNR, NAME), {"gender": "male", "birth_year": 2011}, 15
    else:
        subject, participant, age = person(PNR, NAME), {"gender": "female", "birth_year": 1981}, 45
    role = "parent" if intervention["subject_rule"] == "child" else ROLES.get(intervention["id"])
    if role is not None:
        participant["role"] = role
    return subject, participant, age


async def exempt_interventions(client, auth) -> list[dict[str, Any]]:
    offered = (
        await client.get("/v1/catalog/interventions", params={"on": "2026-09-01"}, headers=auth("catalog:read"))
    ).json()["items"]
    exempt = [i for i in offered if i["documentation_rule"] in ("identity_exempt", "counselling_exempt")]
    assert len(exempt) >= 19  # every exempted demo intervention
    return exempt


async def run_flow(client, auth, intervention: dict[str, Any], bodies: list[str]) -> None:
    headers = auth(WRITE)

    async def call(method: str, url: str, expect: int, **kwargs: Any) -> dict[str, Any]:
        # Retry-safe POSTs store their first response: it must be as clean as everything else.
        sent = {**headers, "Idempotency-Key": str(uuid.uuid4())} if method == "POST" else headers
        response = await client.request(method, url, headers=sent, **kwargs)
        assert response.status_code == expect, (intervention["id"], url, response.text)
        bodies.append(response.text)
        answer: dict[str, Any] = response.json()
        return answer

    subject, participant, age = participant_of(intervention)
    opening = {
        "intervention_id": intervention["id"],
        "opened_on": "2026-09-01",
        "subject": subject,
        "participant": participant,
        "facts": {"school_year": 9},
        "start_assessment": {"wellbeing": 2, "social_situation": ["insecure_housing", "working"]},
        "informed_of_right_to_apply": True,
        "informed_of_documentation": True,
        "notes": [
            {"kind": "planning", "occurred_on": "2026-09-01", "text": SPRINKLED},
            {"kind": "event", "occurred_on": "2026-09-02", "text": PATTERNS_ONLY},
        ],
    }
    # The child is named in the free text: telling the service who it is lets it remove the name
    # (for a parent-targeted intervention the child is part of the case anyway).
    opening["child"] = person(CHILD_PNR, CHILD_NAME)
    case = await call("POST", "/v1/cases", 201, json=opening)
    assert case["identity"] == "anonymous" and case["person_id"] is None
    assert case["participant"]["age"] == age
    base = f"/v1/cases/{case['id']}"

    await call(
        "POST",
        f"{base}/notes",
        201,
        json={"kind": "execution", "occurred_on": "2026-09-03", "text": SPRINKLED, "known_identity": KNOWN},
    )
    await call("POST", f"{base}/notes", 201, json={"kind": "event", "occurred_on": "2026-09-03", "text": PATTERNS_ONLY})
    plan_text = {
        name: SPRINKLED
        for name in (
            "time_frame",
            "description",
            "responsible_contact",
            "reason_for_seeking",
            "goals",
            "form",
            "frequency",
            "follow_up",
            "reason_for_closing",
        )
    }
    await call(
        "PUT",
        f"{base}/plan",
        200,
        json={
            **plan_text,
            "drawn_up_on": "2026-09-03",
            "starts_on": "2026-09-01",
            "follow_up_on": "2026-10-01",
            "personal": {"next_of_kin": f"{CHILD_NAME}, {PHONE}"},
            "known_identity": KNOWN,
        },
    )
    # A second version of the plan: every version is kept, each scrubbed.
    await call(
        "PUT",
        f"{base}/plan",
        200,
        json={**plan_text, "drawn_up_on": "2026-09-04", "starts_on": "2026-09-01", "known_identity": KNOWN},
    )
    await call("GET", f"{base}/plan/versions", 200)
    for day in ("2026-09-04", "2026-09-05"):
        await call("POST", f"{base}/sessions", 201, json={"held_on": day})
    for code in ("concern_reported", "referred_to_needs_assessed"):
        await call("POST", f"{base}/coded-entries", 201, json={"code": code, "occurred_on": "2026-09-05"})
    # A coded entry takes no text: one sent with identity is refused, and leaves no trace either.
    await call(
        "POST",
        f"{base}/coded-entries",
        422,
        json={"code": "concern_reported", "occurred_on": "2026-09-05", "note": SPRINKLED, NAME: PNR},
    )
    await call(
        "POST",
        f"{base}/notes",
        201,
        json={"kind": "follow_up", "occurred_on": "2026-09-06", "text": SPRINKLED, "known_identity": KNOWN},
    )
    # A rejected request full of identity leaves no trace either.
    await call(
        "POST",
        f"{base}/notes",
        422,
        json={"kind": SPRINKLED, "occurred_on": PNR, "text": SPRINKLED, "known_identity": KNOWN, NAME: PHONE},
    )
    await call(
        "POST",
        f"{base}/close",
        200,
        json={
            "closed_on": "2026-09-10",
            "reason": "ended_early",
            "early_termination_reason": "other",
            "early_termination_note": SPRINKLED,
            "end_assessment": {"wellbeing": 4, "social_situation": ["stable_housing"]},
            "participant_view": {"satisfaction": 4, "comment": SPRINKLED},
            "known_identity": KNOWN,
        },
    )
    await call("GET", base, 200)
    await call("GET", "/v1/cases", 200, params={"participant_code": case["participant_code"]})
    for pnr in (PNR, YOUTH_PNR, CHILD_PNR):
        occurrence = await client.post(
            "/v1/registry/occurrences",
            json={"personnummer": pnr, "detail": "cases", "basis": "duty_to_disclose"},
            headers=auth("registry:read"),
        )
        # Exempted cases can never be found.
        assert occurrence.json() == {"detail": "cases", "found": False, "ongoing": False, "cases": []}


async def dump_database(db) -> str:
    lines: list[str] = []
    async with db.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                lines.append(f"{table.name}: {row}")
    return "\n".join(lines)


def found_canaries(haystack: str) -> list[str]:
    lowered = haystack.lower()
    return [canary for canary in CANARIES if canary.lower() in lowered]


async def test_no_canary_survives_any_exempted_intervention(client, auth, db, capfd):
    bodies: list[str] = []
    interventions = await exempt_interventions(client, auth)
    for intervention in interventions:
        await run_flow(client, auth, intervention, bodies)

    dump = await dump_database(db)
    assert dump.count("cases: ") == len(interventions)
    assert dump.count("idempotency_keys: ") >= 8 * len(interventions)
    assert dump.count("case_coded_entries: ") == 2 * len(interventions)
    assert dump.count("case_plan_versions: ") == 2 * len(interventions)
    assert "[namn]" in dump and "[personnummer]" in dump and "[telefon]" in dump and "[adress]" in dump
    assert found_canaries(dump) == [], [line for line in dump.splitlines() if found_canaries(line)][:3]
    logs = capfd.readouterr().err
    access_lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert sum(1 for line in access_lines if line.get("event") == "request") >= 10 * len(interventions)
    assert found_canaries(logs) == []
    assert found_canaries("\n".join(bodies)) == []


def test_the_canary_search_finds_every_format():
    # The detector itself: if it could not see the values, the test above would prove nothing.
    for text in (
        *pnr_formats(PNR),
        *pnr_formats(YOUTH_PNR),
        "Qvornsdotter",
        "ZYXWA",
        "070 174 06 77",
        "+46701740677",
        EMAIL,
        STREET,
        "1981-12-02",
    ):
        assert found_canaries(f"x {text} y"), text
