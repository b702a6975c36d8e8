"""The write path's round trips, counted: a regression guard (never a timing).

Each request is one transaction (BEGIN and COMMIT are round trips of their own) with the fewest
statements its work needs. On PostgreSQL an identified opening upserts the person (one
statement: the outbox payload carries the person as the register has them) and writes the case,
its audit row and its outbox event in one more. A note without an idempotency record is two
statements, each its own transaction (no BEGIN, no COMMIT): the case read unlocked with its row
version, then the note, the case's new state, the event and the audit row written only if the
case is still that version, and the delivery state read, in one statement; with a record (which
must commit with the note) it is one transaction that locks the case first.
No connection is pinged on checkout. SQLite takes one statement per row instead of the
PostgreSQL statement with its data-modifying CTEs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import event, text

from app.core.db import Database

pytestmark = pytest.mark.usefixtures("demo_catalog")

ADULT = "199003012391"
WRITE = "cases:write cases:read"


@dataclass
class Counted:
    statements: list[str] = field(default_factory=list)
    sql: list[str] = field(default_factory=list)
    commits: int = 0
    rollbacks: int = 0


@contextmanager
def counting(db: Database) -> Iterator[Counted]:
    counted = Counted()
    engine = db.engine.sync_engine

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        counted.statements.append(sql.split(None, 1)[0].upper())
        counted.sql.append(sql)

    def commit(conn: Any) -> None:
        counted.commits += 1

    def rollback(conn: Any) -> None:
        counted.rollbacks += 1

    listeners = (("before_cursor_execute", statement), ("commit", commit), ("rollback", rollback))
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield counted
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


def identified_opening(n: int = 0) -> dict[str, Any]:
    return {
        "intervention_id": "skyddat-boende-vuxna",
        "opened_on": "2026-09-01",
        "subject": {"personnummer": ADULT, "name": f"Testperson {n}"},
        "participant": {"gender": "female", "role": "adult"},
        "facts": {"accompanying_children": False},
        "informed_of_right_to_apply": True,
        "informed_of_documentation": True,
    }


def exempted_opening() -> dict[str, Any]:
    return {
        "intervention_id": "motiverande-samtal",
        "opened_on": "2026-09-01",
        "participant": {"gender": "female", "age": 40, "role": "adult"},
        "informed_of_right_to_apply": True,
        "informed_of_documentation": True,
    }


def disposal_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k.startswith(("disposal_", "retention_"))}


async def assert_disposal_as_read(client, headers, written: dict[str, Any]) -> None:
    """What a write answers of disposal (computed without a query for an open case) is what a read
    answers (from the person's whole file)."""
    read = await client.get(f"/v1/cases/{written['id']}", headers=headers)
    assert disposal_view(written) and disposal_view(written) == disposal_view(read.json())


NOTE = {"kind": "execution", "occurred_on": "2026-09-02", "text": "Samtal genomfört enligt planen."}


def test_no_connection_is_pinged_on_checkout(db: Database) -> None:
    assert db.engine.pool._pre_ping is False  # type: ignore[attr-defined]


@pytest.mark.parametrize("unit", ["unit-a", "unit-b"])  # the unit's process steps: read once, then from memory
async def test_an_identified_opening_is_two_statements(client, auth, db, backend, unit, monkeypatch):
    headers = auth(WRITE, unit=unit)
    warm = await client.post("/v1/cases", json=exempted_opening(), headers=headers)  # reads the unit's process
    assert warm.status_code == 201, warm.text
    with counting(db) as counted, counting_begins(monkeypatch) as begun:
        response = await client.post("/v1/cases", json=identified_opening(), headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["journal_sync"] == "pending"
    await assert_disposal_as_read(client, headers, response.json())
    assert counted.commits == 1 and counted.rollbacks == 0
    if backend == "postgresql":
        # The person read; the person (new: inserted, guarded by their absence), case, audit and
        # event. Each statement its own transaction: no BEGIN (and no COMMIT).
        assert counted.statements == ["SELECT", "WITH"]
        assert "ON CONFLICT DO NOTHING" in counted.sql[1]
        assert begun == []
    else:
        assert counted.statements == ["INSERT", "INSERT", "INSERT", "INSERT"]  # person, audit, event, case


async def test_an_exempted_opening_is_one_statement(client, auth, db, backend):
    headers = auth(WRITE)
    await client.post("/v1/cases", json=exempted_opening(), headers=headers)
    with counting(db) as counted:
        response = await client.post("/v1/cases", json=exempted_opening(), headers=headers)
    assert response.status_code == 201, response.text
    assert counted.commits == 1
    assert counted.statements == ["INSERT"]  # the case alone: no person, no event, no audit row


@contextmanager
def counting_begins(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The BEGINs the driver sends (asyncpg's transactions started)."""
    begun: list[str] = []
    real_start = asyncpg.transaction.Transaction.start

    async def start(self: Any) -> None:
        begun.append("BEGIN")
        await real_start(self)

    with monkeypatch.context() as patched:
        patched.setattr(asyncpg.transaction.Transaction, "start", start)
        yield begun


@pytest.mark.parametrize("opening", ["identified", "exempted"])
@pytest.mark.parametrize("key", [None, "note-1"])
async def test_a_note_is_two_statements(client, auth, db, backend, opening, key, monkeypatch):
    headers = auth(WRITE)
    body = identified_opening() if opening == "identified" else exempted_opening()
    case = (await client.post("/v1/cases", json=body, headers=headers)).json()
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    with counting(db) as counted, counting_begins(monkeypatch) as begun:
        response = await client.post(f"/v1/cases/{case['id']}/notes", json=NOTE, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["journal_sync"] == ("pending" if opening == "identified" else "not_applicable")
    await assert_disposal_as_read(client, headers, response.json())
    assert counted.rollbacks == 0
    if backend == "postgresql":
        statements = ["SELECT", "WITH"] + (["UPDATE"] if key else [])  # the case; everything else; the response
        assert counted.statements == statements
        if key is None:  # each statement its own transaction: no BEGIN (and no COMMIT)
            assert "FOR UPDATE" not in counted.sql[0] and "xmin" in counted.sql[1]
            assert begun == []
        else:  # the stored response commits with the note: one transaction, the case locked
            assert "FOR UPDATE" in counted.sql[0]
            assert begun and counted.commits == 1  # (the claim's transaction is counted too)
        return
    # SQLite: with a key, the claim (a transaction of its own) first and the stored response last.
    statements = counted.statements[1:-1] if key else counted.statements
    assert counted.commits == (2 if key else 1)
    if opening == "identified":  # the case; audit, event, note, the case's update; the delivery state
        assert statements == ["SELECT", "INSERT", "INSERT", "INSERT", "UPDATE", "SELECT"]
    else:
        assert statements == ["SELECT", "INSERT", "UPDATE"]


async def test_an_idempotency_key_adds_a_claim_that_waits_for_no_disk(client, auth, db, backend):
    """The claim commits before the endpoint runs (a concurrent retry must see it), on the pool
    whose commits do not wait for the WAL flush; the response is stored in the request's own
    transaction. One fsynced commit per request, key or not."""
    headers = auth(WRITE)
    await client.post("/v1/cases", json=exempted_opening(), headers=headers)
    unsynced = db.unsynced
    with counting(db) as counted:
        if backend == "postgresql":
            assert unsynced is not db.sessions
            claim_db = Database(unsynced.kw["bind"], unsynced)
            with counting(claim_db) as claims:
                response = await client.post(
                    "/v1/cases", json=identified_opening(), headers={**headers, "Idempotency-Key": "k-1"}
                )
            assert claims.statements == ["INSERT"] and claims.commits == 1
            async with unsynced() as session:
                setting = (await session.execute(text("SHOW synchronous_commit"))).scalar()
            assert setting == "off"
        else:
            response = await client.post(
                "/v1/cases", json=identified_opening(), headers={**headers, "Idempotency-Key": "k-1"}
            )
    assert response.status_code == 201, response.text
    if backend == "postgresql":
        assert counted.statements == ["INSERT", "WITH", "UPDATE"]  # person; case, audit, event; the response
        assert counted.commits == 1
    else:  # the claim's own transaction, then the request's
        assert counted.statements[0] == "INSERT" and counted.statements[-1] == "UPDATE"
        assert counted.commits == 2


async def test_an_opening_for_a_person_the_register_knows_reads_their_file_once(client, auth, db, backend):
    """The person's other cases decide whether their closed cases' disposal dates go (SoL 16:1):
    on PostgreSQL counted by the upsert itself; a file is read only when they have closed cases and
    none open."""
    await client.post("/v1/cases", json=identified_opening(), headers=auth(WRITE, unit="unit-b"))
    headers = auth(WRITE)
    await client.post("/v1/cases", json=exempted_opening(), headers=headers)
    with counting(db) as counted:
        response = await client.post("/v1/cases", json=identified_opening(), headers=headers)
    assert response.status_code == 201, response.text
    await assert_disposal_as_read(client, headers, response.json())
    if backend == "postgresql":
        # The person read, with their cases counted; the rest, guarded by the person's row version.
        assert counted.statements == ["SELECT", "WITH"]
        assert "xmin" in counted.sql[1] and "FOR UPDATE" in counted.sql[1]


@pytest.mark.parametrize("given", ["contacts", "protected", "key"])
async def test_an_opening_with_more_to_write_is_one_transaction_with_the_upsert(
    client, auth, db, backend, given, monkeypatch
):
    """Contact details, a protection to raise or an idempotency record take statements or a
    commit of their own: the opening is then one transaction that upserts the person."""
    headers = auth(WRITE)
    await client.post("/v1/cases", json=exempted_opening(), headers=headers)  # reads the unit's process
    body = identified_opening()
    if given == "contacts":
        body["subject"]["phone"] = "070-123 45 67"
    elif given == "protected":
        body["subject"]["protected_identity"] = True
    else:
        headers = {**headers, "Idempotency-Key": "opening-1"}
    with counting(db) as counted, counting_begins(monkeypatch) as begun:
        response = await client.post("/v1/cases", json=body, headers=headers)
    assert response.status_code == 201, response.text
    if backend == "postgresql":
        assert counted.statements[0] == "INSERT" and "ON CONFLICT (committee, personnummer)" in counted.sql[0]
        assert begun


async def test_a_page_of_cases_writes_one_audit_statement_of_one_row(client, auth, db):
    headers = auth(WRITE)
    for n, pnr in enumerate(("199003012391", "198507012394", "197712012397")):
        opening = {**identified_opening(n), "subject": {"personnummer": pnr, "name": f"Testperson {n}"}}
        assert (await client.post("/v1/cases", json=opening, headers=headers)).status_code == 201
    with counting(db) as counted:
        response = await client.get("/v1/cases", headers=headers)
    assert len(response.json()["items"]) == 3
    audit = [sql for sql in counted.sql if "audit_records" in sql]
    assert len(audit) == 1 and audit[0].startswith("INSERT")
    assert counted.commits == 1
