"""The request examples of the OpenAPI document: what Swagger UI's "Try it out" fills in.

Each operation's first example is the default body. Against the demo catalog
(`iub catalog load --demo`) and a token with the operation's scope, every example is accepted
as it stands (`tests/integration/test_openapi_examples.py` executes them all), except that an
id in the path (a case, a person, an outbox event) must be one the service handed out.

The values are fictitious: personnummer from Skatteverket's list of test personnummer, phone
numbers from PTS's range for fiction (070-174 06 05 to 070-174 06 99), names nobody has. The
dates lie in the autumn of 2026 in the order a case runs (opened, notes, plan, sessions,
closed), so that the examples of one case also fit each other.
"""

from __future__ import annotations

from typing import Any

from app.catalog.loader import decision_id_for

# The demo catalog's identified (SoL 14 kap. 3 §) and exempted (14 kap. 5 §) interventions.
DEMO_COMMITTEE = "sn-sydvast"
DEMO_DECISION = decision_id_for(DEMO_COMMITTEE, "§ 123")  # the demo decision of sn-sydvast
EXEMPTED = "krisstod"
IDENTIFIED = "hemtjanst-service"
PARENT_TARGETED = "familjebehandling"
GROUP = "komet"

# Skatteverket's test personnummer.
ADULT_PNR = "19810102-2393"  # the exempted case's participant, named only to be scrubbed
SENIOR_PNR = "19450110-3297"  # the identified case's person
PARENT_PNR = "19850101-2382"
CHILD_PNR = "20150101-2395"

OPENED_ON = "2026-09-01"

Example = dict[str, Any]


def _ex(summary: str, value: Any, description: str | None = None) -> Example:
    example: Example = {"summary": summary, "value": value}
    if description:
        example["description"] = description
    return example


REQUEST_EXAMPLES: dict[str, dict[str, Example]] = {
    "checkEligibility": {
        "adult": _ex(
            "An adult asks for crisis support",
            {"intervention_id": EXEMPTED, "facts": {"personnummer": ADULT_PNR}},
            "The personnummer only gives the age on the date of the check; it is never stored or answered.",
        ),
        "parent": _ex(
            "A parent asks for family treatment for a child of 11",
            {"intervention_id": PARENT_TARGETED, "facts": {"age": 41, "role": "parent", "children_ages": [11]}},
        ),
        "under_15": _ex(
            "A 12-year-old without the guardian's consent (not_yet)",
            {"intervention_id": "repulse", "facts": {"age": 12, "guardian_consent": False}},
        ),
    },
    "searchEligibility": {
        "youth": _ex(
            "What can a 16-year-old get without applying?",
            {"facts": {"age": 16, "role": "child", "guardian_consent": True}},
        ),
        "senior": _ex(
            "A senior, also what is ruled out",
            {"facts": {"personnummer": SENIOR_PNR}, "include_ineligible": True},
        ),
    },
    "putCommittee": {
        "rename": _ex("Keep the own committee's name", {"name": "Socialnämnden Sydväst"}),
    },
    "recordDecision": {
        "new_intervention": _ex(
            "A decision that adds a group intervention from 2027",
            {
                "committee": DEMO_COMMITTEE,
                "decided_on": "2026-11-18",
                "reference": "§ 141",
                "effective_from": "2027-01-01",
                "effective_to": None,
                "risk_analysis_reference": "Risk- och konsekvensanalys, dnr SN-2026/117 (exempel)",
                "interventions": [
                    {
                        "id": "samtalsgrupp-unga",
                        "name": "Samtalsgrupp för unga",
                        "description": "Samtalsgrupp om stress och oro, åtta träffar.",
                        "area": "children_youth_parents",
                        "category": "counselling",
                        "delivery_form": "group",
                        "kind": "other",
                        "target_group": "Unga i åldern 13–17 år.",
                        "conditions": {"min_age": 13, "max_age": 17, "max_sessions": 8, "ages_15_17_considered": True},
                        "subject_rule": "recipient",
                        "documentation_rule": "counselling_exempt",
                    }
                ],
                "withdrawn": [],
            },
            "The reference must be new for the committee: posting the same one twice is a 409.",
        ),
    },
    "openCase": {
        "exempted": _ex(
            "Exempted case (SoL 14 kap. 5 §): no identity is stored",
            {
                "intervention_id": EXEMPTED,
                "opened_on": OPENED_ON,
                "participant": {"gender": "female", "age": 45, "role": "adult"},
                "start_assessment": {"wellbeing": 2, "social_situation": ["stable_housing", "working"]},
                "informed_of_right_to_apply": True,
                "informed_of_documentation": True,
                "notes": [{"kind": "planning", "occurred_on": OPENED_ON, "text": "Första samtalet bokat till 3/9."}],
            },
            "An exempted case needs the participant's gender and an age (`unknown` is an answer). It gets a random "
            "`participant_code`; anything identifying in the notes is removed before it is stored.",
        ),
        "identified": _ex(
            "Identified case (SoL 14 kap. 3 §): registered on the person",
            {
                "intervention_id": IDENTIFIED,
                "opened_on": OPENED_ON,
                "subject": {
                    "personnummer": SENIOR_PNR,
                    "name": "Sven Testsson",
                    "address": "Storgatan 1, 414 63 Göteborg",
                    "phone": "070-174 06 10",
                },
                "participant": {"gender": "male", "role": "adult"},
                "informed_of_right_to_apply": True,
                "informed_of_documentation": True,
            },
            "The age comes from the personnummer. A second running case of the same intervention for the same "
            "person in the unit is a 409 `case-already-open`.",
        ),
        "parent_targeted": _ex(
            "Parent-targeted case: registered on the child",
            {
                "intervention_id": PARENT_TARGETED,
                "opened_on": OPENED_ON,
                "subject": {"personnummer": PARENT_PNR, "name": "Alva Testsson", "phone": "070-174 06 12"},
                "child": {"personnummer": CHILD_PNR, "name": "Elis Testsson"},
                "participant": {"gender": "female", "role": "parent"},
                "informed_of_right_to_apply": True,
                "informed_of_documentation": True,
            },
        ),
    },
    "addNote": {
        "exempted": _ex(
            "Exempted case: name who the text is about",
            {
                "kind": "execution",
                "occurred_on": "2026-09-03",
                "text": "Samtal med Kim om veckan. Kim nås på 070-174 06 05; mamman Alva Testsson var med.",
                "known_identity": [
                    {"name": "Kim Testsson", "personnummer": ADULT_PNR, "phone": "070-174 06 05"},
                    {"name": "Alva Testsson"},
                ],
            },
            "Names cannot be found by pattern. `known_identity` lists the people the text may name; they are "
            "removed before anything is stored, then forgotten.",
        ),
        "identified": _ex(
            "Identified case (SoL 14 kap. 3 §)",
            {"kind": "follow_up", "occurred_on": "2026-10-01", "text": "Uppföljning enligt plan."},
            "The case is registered on the person: the note is kept as written.",
        ),
    },
    "setPlan": {
        "plan": _ex(
            "An intervention plan",
            {
                "drawn_up_on": "2026-09-03",
                "starts_on": "2026-09-07",
                "follow_up_on": "2026-10-01",
                "time_frame": "September 2026",
                "description": "Krisstöd: tre stödsamtal.",
                "responsible_contact": "Krismottagningen, enhet A",
                "reason_for_seeking": "Oro efter en trafikolycka.",
                "goals": "Sova bättre och kunna gå till arbetet.",
                "form": "Samtal på mottagningen",
                "frequency": "En gång i veckan",
                "known_identity": [{"name": "Kim Testsson"}],
            },
        ),
    },
    "addCodedEntry": {
        "referred": _ex(
            "Helped towards a needs-assessed intervention",
            {"code": "referred_to_needs_assessed", "occurred_on": "2026-09-14"},
        ),
        "concern": _ex(
            "A report of concern for a child was made", {"code": "concern_reported", "occurred_on": "2026-09-14"}
        ),
    },
    "recordSession": {
        "conversation": _ex("A conversation (samtal)", {"held_on": "2026-09-07", "form": "conversation"}),
    },
    "closeCase": {
        "completed": _ex(
            "Completed",
            {
                "closed_on": "2026-10-15",
                "reason": "completed",
                "end_assessment": {"wellbeing": 4, "social_situation": ["stable_housing", "working"]},
                "participant_view": {"satisfaction": 5, "comment": "Samtalen hjälpte."},
            },
        ),
        "ended_early": _ex(
            "Ended early: the person moved",
            {
                "closed_on": "2026-10-15",
                "reason": "ended_early",
                "early_termination_reason": "moved",
                "end_assessment": {"wellbeing": 3},
                "participant_view": {"satisfaction": 4},
            },
        ),
    },
    "setUnitProcess": {
        "three": _ex("Three steps: registered, in progress, closed", {"process_steps": 3}),
        "five": _ex("All five steps, with planned and followed up", {"process_steps": 5}),
    },
    "updatePerson": {
        "contact": _ex("New phone number and e-mail", {"phone": "070-174 06 11", "email": "sven.testsson@example.se"}),
        "protect": _ex("Skyddade personuppgifter: every stored address is deleted", {"protected_identity": True}),
    },
    "queryOccurrence": {
        "ongoing": _ex(
            "Does the person have a running case? (consent)",
            {"personnummer": SENIOR_PNR, "detail": "ongoing", "basis": "consent"},
        ),
        "cases": _ex(
            "Which cases? (necessary for the own activity)",
            {"personnummer": SENIOR_PNR, "detail": "cases", "basis": "necessary_for_own_activity"},
        ),
    },
    "recordGroupMeeting": {
        "meeting": _ex(
            "A group meeting of Komet",
            {
                "intervention_id": GROUP,
                "held_on": "2026-09-08",
                "participants": {"female": 6, "male": 4},
                "age_bands": {"30-49": 7, "21-29": 2},
                "note": "Träff 3 av 11: konflikthantering.",
            },
        ),
    },
    "retryOutboxEvent": {
        "retry": _ex(
            "Retry after the journal system was fixed",
            {"reencode": False, "reason": "journal_system_fixed", "note": "Incident INC-2041"},
        ),
        "reencode": _ex(
            "Rebuild the payload after a correction",
            {"reencode": True, "reason": "data_corrected", "note": "Plan corrected, incident INC-2042"},
        ),
    },
    "skipOutboxEvent": {
        "manual": _ex(
            "Registered in the journal system by hand",
            {"reason": "entered_manually", "note": "Incident INC-2043"},
        ),
    },
    "setDisposalHold": {
        "case": _ex(
            "Hold a case's file: a request for public documents is under review",
            {
                "case_id": "0b7c5d2e-4f1a-4c3b-9e8d-2a6f1c0e9b11",
                "reason": "public_records_request",
                "reference": "KS 2026/123",
            },
            "`case_id` (or `person_id`) must be one the service handed out: paste it from a case.",
        ),
    },
    "proposeDisposalList": {
        "as_of": _ex("The files due on the last day of 2031", {"as_of": "2031-12-31"}),
    },
    "approveDisposalList": {
        "approve": _ex(
            "Approve the version shown (by someone other than the proposer)",
            {"digest": "9f2c4e1a7b3d5f6081a2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718"},
            "`digest` is the list's `digest` as `GET /v1/disposal/lists/{list_id}` shows it.",
        ),
    },
}

# Examples of path and query parameters, by name (Swagger UI fills them in). Ids the service hands
# out (cases, persons, outbox events) cannot be known in advance: paste one from an answer.
PARAMETER_EXAMPLES: dict[str, Any] = {
    "committee_id": DEMO_COMMITTEE,
    "committee": DEMO_COMMITTEE,
    "intervention_id": EXEMPTED,
    "decision_id": DEMO_DECISION,
    "case_id": "0b7c5d2e-4f1a-4c3b-9e8d-2a6f1c0e9b11",
    "person_id": "6d1e8f3a-2b4c-4d5e-8f9a-0b1c2d3e4f50",
    "event_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "group_id": "komet-tisdagar",
    "name": "participants",
    "period": "2025Q4",
    "year": 2025,
    "slug": "not-found",
    "hold_id": "3c2b1a09-8f7e-4d6c-9b5a-4a3b2c1d0e9f",
    "list_id": "4d3c2b1a-0f9e-4e7d-8c6b-5b4a3c2d1e0f",
    "run_id": "5e4d3c2b-1a0f-4f8e-9d7c-6c5b4a3d2e1f",
    "before": "2032-01-01",
}
