"""Seeding files for the disposal tests: rows straight into the tables (thousands in seconds).

Personnummer are Skatteverket's official test numbers only (shared/domain/test-personnummer.txt).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import (
    AuditRecordRow,
    CaseCodedEntryRow,
    CaseNoteRow,
    CasePlanRow,
    CasePlanVersionRow,
    CaseRow,
    CaseSessionRow,
    PersonContactRow,
    PersonNameRow,
    PersonRow,
)
from app.journal.models import JournalLink, OutboxEvent
from app.kit.idempotency_erasure import ids_named
from app.kit.idempotency_models import IdempotencyRecord

TEST_PERSONNUMMER = Path(__file__).resolve().parents[2].parent / "shared" / "domain" / "test-personnummer.txt"
T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def official_personnummer() -> list[str]:
    return [line.strip() for line in TEST_PERSONNUMMER.read_text().splitlines() if line.strip()]


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Seed:
    """Rows to insert, gathered per table, then written in one go."""

    rows: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, model: Any, **values: Any) -> dict[str, Any]:
        self.rows.setdefault(model, []).append(values)
        return values

    def person(self, committee: str, pnr: str, name: str) -> str:
        pid = new_id()
        self.add(
            PersonRow,
            id=pid,
            committee=committee,
            personnummer=pnr,
            name=name,
            name_source="registration",
            name_recorded_by="seed",
            name_recorded_unit="seed",
            name_recorded_at=T0,
            protected_identity=False,
            created_at=T0,
            updated_at=T0,
        )
        self.add(
            PersonNameRow,
            id=new_id(),
            person_id=pid,
            name=name + " Äldre",
            source="registration",
            recorded_by="seed",
            recorded_unit="seed",
            recorded_at=T0,
            superseded_at=T0,
        )
        self.add(
            PersonContactRow,
            person_id=pid,
            unit="unit-a",
            address=f"{name}gatan 1",
            phone=None,
            email=None,
            recorded_by="seed",
            updated_at=T0,
        )
        return pid

    def case(
        self,
        committee: str,
        unit: str,
        *,
        last_entry_on: dt.date,
        person_id: str | None = None,
        guardian_person_id: str | None = None,
        note_text: str = "Samtal genomfört.",
        notes: int = 1,
        pnr: str | None = None,
        open_case: bool = False,
        journal: bool = True,
    ) -> str:
        cid = new_id()
        identified = person_id is not None
        self.add(
            CaseRow,
            id=cid,
            committee=committee,
            unit=unit,
            intervention_id="stodsamtal",
            intervention_name="Stödsamtal",
            decision_id=new_id(),
            documentation_rule="standard" if identified else "identity_exempt",
            subject_rule="adult",
            max_sessions=None,
            process_steps=3,
            identity="identified" if identified else "anonymous",
            registered_on="child" if guardian_person_id else ("subject" if identified else None),
            person_id=person_id,
            guardian_person_id=guardian_person_id,
            participant_code=None if identified else "IUB-" + uuid.uuid4().hex[:8].upper(),
            status="in_progress" if open_case else "closed",
            opened_on=last_entry_on - dt.timedelta(days=30),
            closed_on=None if open_case else last_entry_on,
            last_entry_on=last_entry_on,
            created_by="seed",
            created_at=T0,
            updated_at=T0,
            start_social_situation=[],
            end_social_situation=[],
        )
        for n in range(notes):
            self.add(
                CaseNoteRow,
                id=new_id(),
                case_id=cid,
                kind="event",
                occurred_on=last_entry_on,
                text=f"{note_text} ({n})",
                recorded_by="seed",
                created_at=T0,
            )
        self.add(
            CaseSessionRow,
            id=new_id(),
            case_id=cid,
            number=1,
            held_on=last_entry_on,
            form="conversation",
            recorded_by="seed",
            created_at=T0,
        )
        self.add(
            CaseCodedEntryRow,
            id=new_id(),
            case_id=cid,
            code="concern_reported",
            occurred_on=last_entry_on,
            recorded_by="seed",
            created_at=T0,
        )
        plan = {
            "drawn_up_on": last_entry_on,
            "starts_on": last_entry_on,
            "description": f"Plan: {note_text}",
            "responsible_contact": "Handläggare",
            "personal": {"name": note_text} if identified else None,
        }
        self.add(CasePlanRow, case_id=cid, version=1, updated_at=T0, **plan)
        self.add(CasePlanVersionRow, case_id=cid, version=1, recorded_by="seed", recorded_at=T0, **plan)
        if identified and journal:
            payload = {"case_id": cid, "registration": {"personnummer": pnr, "name": note_text}}
            self.add(
                OutboxEvent,
                id=new_id(),
                aggregate_type="case",
                aggregate_id=cid,
                committee=committee,
                kind="case.registered",
                payload=payload,
                status="dead",
                attempts=12,
                created_at=T0,
                next_attempt_at=T0,
            )
            self.add(JournalLink, aggregate_type="case", aggregate_id=cid, external_ref=None, sync_state="failed")
            # Stored responses as the service stores them, naming the file in three ways: the
            # case's body (with the person), a body that names the case only in `Location`, and
            # a body kept as base64.
            opened = json.dumps({"id": cid, "person_id": person_id, "person": {"personnummer": pnr}})
            responses: list[tuple[dict[str, str], dict[str, str]]] = [
                ({"text": opened}, {"location": f"/v1/cases/{cid}"}),
                ({"text": json.dumps({"note": {"text": note_text}})}, {"location": f"/v1/cases/{cid}"}),
                ({"base64": base64.b64encode(opened.encode()).decode()}, {}),
            ]
            for body, headers in responses:
                self.add(
                    IdempotencyRecord,
                    caller=f"{committee}|{unit}|seed",
                    key_hmac=uuid.uuid4().hex + uuid.uuid4().hex,
                    fingerprint="0" * 64,
                    state="done",
                    response_status=201,
                    response_body=body,
                    response_headers=headers,
                    names=ids_named(body, headers),
                    expires_at=T0,
                )
            for pid in filter(None, (person_id, guardian_person_id)):
                self._audit(committee, unit, "case.read", case_id=cid, person_id=pid)
        return cid

    def page_read(self, committee: str, unit: str, cases: list[tuple[str, list[str]]]) -> None:
        """One audit row for a read page of cases (each with its persons), as the service writes it."""
        case_ids = [case_id for case_id, _ in cases]
        person_ids = list(dict.fromkeys(p for _, people in cases for p in people))
        self._audit(committee, unit, "case.listed", case_ids=case_ids, person_ids=person_ids)

    def _audit(self, committee: str, unit: str, action: str, **named: Any) -> None:
        # Every row with every column: rows of one table are inserted in one statement.
        ids = {"case_id": None, "person_id": None, "case_ids": None, "person_ids": None, **named}
        self.add(
            AuditRecordRow,
            id=new_id(),
            at=T0,
            actor="handlaggare-1",
            committee=committee,
            unit=unit,
            action=action,
            why_code="carrying_out",
            basis=None,
            **ids,
        )

    async def write(self, session: AsyncSession) -> None:
        order = [
            PersonRow,
            PersonNameRow,
            PersonContactRow,
            CaseRow,
            CaseNoteRow,
            CaseSessionRow,
            CaseCodedEntryRow,
            CasePlanRow,
            CasePlanVersionRow,
            OutboxEvent,
            JournalLink,
            IdempotencyRecord,
            AuditRecordRow,
        ]
        for model in order:
            rows = self.rows.get(model, [])
            for start in range(0, len(rows), 2000):
                await session.execute(insert(model), rows[start : start + 2000])
        self.rows.clear()
