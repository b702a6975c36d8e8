"""Notes and openings written as one statement guarded by the version of the row they read
(PostgreSQL): the case for a note, the person for an identified opening. When the row changed in
between (or a person read as new was registered meanwhile), nothing is written and the request
is done again; a row that keeps changing gets a 409 with nothing written. The locked path
(SQLite, or a request with an Idempotency-Key) never reads unlocked."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text

from app.cases import service as case_service
from app.cases.models import AuditRecordRow, CaseNoteRow, CaseRow, PersonRow
from app.cases.repository import CaseRepository
from app.core.db import Database, statements_alone
from app.journal.models import OutboxEvent
from tests.integration.test_round_trips import ADULT, NOTE, WRITE, identified_opening

pytestmark = pytest.mark.usefixtures("demo_catalog")


async def _counts(db: Database, case_id: str) -> tuple[int, int, int]:
    async with db.sessions() as session:
        notes = await session.scalar(select(func.count()).where(CaseNoteRow.case_id == case_id))
        events = await session.scalar(
            select(func.count()).where(OutboxEvent.aggregate_id == case_id, OutboxEvent.kind == "case.note_added")
        )
        audit = await session.scalar(
            select(func.count()).where(AuditRecordRow.case_id == case_id, AuditRecordRow.action == "case.note_added")
        )
    return int(notes or 0), int(events or 0), int(audit or 0)


def _stale_versions(monkeypatch: pytest.MonkeyPatch, stale: int) -> list[str]:
    """The first `stale` reads answer a version the case no longer has, as after another write."""
    real = CaseRepository.get_versioned
    reads: list[str] = []

    async def get_versioned(self: CaseRepository, case_id: str, caller: Any) -> tuple[CaseRow, str] | None:
        found = await real(self, case_id, caller)
        reads.append("read")
        if found is None or len(reads) > stale:
            return found
        return found[0], "0"

    monkeypatch.setattr(CaseRepository, "get_versioned", get_versioned)
    return reads


async def test_a_note_on_a_case_changed_since_it_was_read_is_written_once(client, auth, db, backend, monkeypatch):
    headers = auth(WRITE)
    case = (await client.post("/v1/cases", json=identified_opening(), headers=headers)).json()
    reads = _stale_versions(monkeypatch, stale=2)
    response = await client.post(f"/v1/cases/{case['id']}/notes", json=NOTE, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["journal_sync"] == "pending"
    assert await _counts(db, case["id"]) == (1, 1, 1)  # the guarded tries wrote nothing
    assert len(reads) == (3 if backend == "postgresql" else 0)  # SQLite: the locked path


async def test_a_case_that_keeps_changing_answers_409_with_nothing_written(client, auth, db, backend, monkeypatch):
    if backend != "postgresql":
        pytest.skip("SQLite locks the case: no guarded write")
    headers = auth(WRITE)
    case = (await client.post("/v1/cases", json=identified_opening(), headers=headers)).json()
    reads = _stale_versions(monkeypatch, stale=case_service.GUARDED_ATTEMPTS)
    response = await client.post(f"/v1/cases/{case['id']}/notes", json=NOTE, headers=headers)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert len(reads) == case_service.GUARDED_ATTEMPTS
    assert await _counts(db, case["id"]) == (0, 0, 0)
    status = (await client.get(f"/v1/cases/{case['id']}", headers=headers)).json()["status"]
    assert status == case["status"]  # the case's state is as before


async def test_a_note_with_an_idempotency_key_locks_the_case(client, auth, db, backend, monkeypatch):
    headers = auth(WRITE)
    case = (await client.post("/v1/cases", json=identified_opening(), headers=headers)).json()
    reads = _stale_versions(monkeypatch, stale=0)
    keyed = {**headers, "Idempotency-Key": "note-guard-1"}
    first = await client.post(f"/v1/cases/{case['id']}/notes", json=NOTE, headers=keyed)
    again = await client.post(f"/v1/cases/{case['id']}/notes", json=NOTE, headers=keyed)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert reads == [] and await _counts(db, case["id"]) == (1, 1, 1)


async def _opened(db: Database) -> tuple[int, int, int, int]:
    """Persons, cases, registration events and opening audit rows."""
    async with db.sessions() as session:
        persons = await session.scalar(select(func.count()).select_from(PersonRow))
        cases = await session.scalar(select(func.count()).select_from(CaseRow).where(CaseRow.person_id.is_not(None)))
        events = await session.scalar(select(func.count()).where(OutboxEvent.kind == "case.registered"))
        audit = await session.scalar(select(func.count()).where(AuditRecordRow.action == "case.opened"))
    return int(persons or 0), int(cases or 0), int(events or 0), int(audit or 0)


def _stale_persons(monkeypatch: pytest.MonkeyPatch, stale: int) -> list[str]:
    """The first `stale` reads of a person answer a version the row no longer has (or, for a
    person not there yet, as if another opening had just registered them: read as absent, then
    present)."""
    real = CaseRepository.person_versioned
    reads: list[str] = []

    async def person_versioned(self: CaseRepository, committee: str, digits: str) -> Any:
        found = await real(self, committee, digits)
        reads.append("read")
        if len(reads) > stale:
            return found
        return None if found is None else found._replace(version="0")

    monkeypatch.setattr(CaseRepository, "person_versioned", person_versioned)
    return reads


async def test_an_opening_for_a_person_changed_since_they_were_read_is_written_once(
    client, auth, db, backend, monkeypatch
):
    await client.post("/v1/cases", json=identified_opening(), headers=auth(WRITE, unit="unit-b"))
    reads = _stale_persons(monkeypatch, stale=2)
    response = await client.post("/v1/cases", json=identified_opening(), headers=auth(WRITE))
    assert response.status_code == 201, response.text
    assert response.json()["journal_sync"] == "pending"
    assert await _opened(db) == (1, 2, 2, 2)
    assert len(reads) == (3 if backend == "postgresql" else 0)  # SQLite: the upsert


async def test_an_opening_for_a_person_registered_meanwhile_is_written_once(client, auth, db, backend, monkeypatch):
    """The person read as absent was registered by another opening before the write: the guarded
    insert meets them, writes nothing, and the opening is done again for the known person."""
    if backend != "postgresql":
        pytest.skip("SQLite upserts the person in the request's transaction")
    await client.post("/v1/cases", json=identified_opening(), headers=auth(WRITE, unit="unit-b"))
    real = CaseRepository.person_versioned
    reads: list[str] = []

    async def absent_first(self: CaseRepository, committee: str, digits: str) -> Any:
        reads.append(digits)
        return None if len(reads) == 1 else await real(self, committee, digits)

    monkeypatch.setattr(CaseRepository, "person_versioned", absent_first)
    response = await client.post("/v1/cases", json=identified_opening(), headers=auth(WRITE))
    assert response.status_code == 201, response.text
    assert reads == [ADULT, ADULT]
    assert await _opened(db) == (1, 2, 2, 2)


async def test_an_opening_for_a_person_who_keeps_changing_answers_409_with_nothing_written(
    client, auth, db, backend, monkeypatch
):
    if backend != "postgresql":
        pytest.skip("SQLite upserts the person in the request's transaction")
    await client.post("/v1/cases", json=identified_opening(), headers=auth(WRITE, unit="unit-b"))
    reads = _stale_persons(monkeypatch, stale=case_service.GUARDED_ATTEMPTS)
    response = await client.post("/v1/cases", json=identified_opening(), headers=auth(WRITE))
    assert response.status_code == 409, response.text
    assert response.headers["retry-after"] == "1"
    assert len(reads) == case_service.GUARDED_ATTEMPTS
    assert await _opened(db) == (1, 1, 1, 1)


async def test_a_connection_whose_statements_went_alone_goes_back_to_the_pool_transactional(backend, database_url):
    """The autocommit of a request whose statements go alone ends with its session: the next
    session on the same pooled connection is one transaction again."""
    if backend != "postgresql":
        pytest.skip("SQLite sessions are never put in autocommit")
    db = Database.connect(database_url, pool_size=1, max_overflow=0)
    xid = text("SELECT txid_current()")
    try:
        async with db.sessions() as session:
            assert await statements_alone(session)
            first, second = await session.scalar(xid), await session.scalar(xid)
            assert first != second  # each statement its own transaction
            await session.commit()
        async with db.sessions() as session:
            assert not session.in_transaction()
            first, second = await session.scalar(xid), await session.scalar(xid)
            assert first == second  # one transaction
            assert await statements_alone(session) is False  # too late: the transaction has begun
            await session.rollback()
    finally:
        await db.dispose()
