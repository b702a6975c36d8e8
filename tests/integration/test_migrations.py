"""Alembic migrations are the only way the schema is made: the models must agree with them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.cases.models import CaseRow, PersonContactRow, PersonRow
from app.core.db import Database
from app.journal.models import OutboxEvent
from app.kit.idempotency_models import IdempotencyRecord
from app.models import Base
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _pg_admin


async def test_models_and_migrations_agree(database: Database) -> None:
    def diff(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with database.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


# --- 0007: persons get their committee from their cases ---------------------------------------------

ADULT, PROTECTED, ORPHAN = "199003012391", "198507012394", "197712012397"
T0 = dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)

persons_0005 = sa.table(
    "persons",
    *(sa.column(n, sa.String()) for n in ("id", "personnummer", "name", "address", "phone", "email")),
    sa.column("protected_identity", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
cases_0005 = sa.table(
    "cases",
    *(
        sa.column(n, sa.String())
        for n in (
            "id", "committee", "unit", "intervention_id", "intervention_name", "decision_id", "documentation_rule",
            "subject_rule", "identity", "status", "created_by", "person_id", "guardian_person_id",
        )
    ),
    *(sa.column(n, sa.Integer()) for n in ("process_steps", "session_count")),
    *(sa.column(n, sa.JSON()) for n in ("start_social_situation", "end_social_situation")),
    *(sa.column(n, sa.Boolean()) for n in ("informed_of_right_to_apply", "informed_of_documentation")),
    *(sa.column(n, sa.Date()) for n in ("opened_on", "last_entry_on")),
    *(sa.column(n, sa.DateTime(timezone=True)) for n in ("created_at", "updated_at")),
)  # fmt: skip
outbox_0005 = sa.table(
    "outbox_events",
    *(sa.column(n, sa.String()) for n in ("id", "aggregate_type", "aggregate_id", "kind", "status")),
    sa.column("payload", sa.JSON()),
    sa.column("attempts", sa.Integer()),
)
keys_0005 = sa.table(
    "idempotency_keys",
    *(sa.column(n, sa.String()) for n in ("caller", "key", "fingerprint", "state")),
    sa.column("expires_at", sa.DateTime(timezone=True)),
)


def _case(case_id: str, committee: str, unit: str, minutes: int, **people: str | None) -> dict[str, Any]:
    return {
        "id": case_id, "committee": committee, "unit": unit, "intervention_id": "skyddat-boende-vuxna",
        "intervention_name": "Skyddat boende", "decision_id": str(uuid.uuid4()), "documentation_rule": "standard",
        "subject_rule": "subject", "identity": "identified", "status": "registered", "created_by": f"sub-{unit}",
        "person_id": people.get("person_id"), "guardian_person_id": people.get("guardian_person_id"),
        "process_steps": 3, "session_count": 0, "start_social_situation": [], "end_social_situation": [],
        "informed_of_right_to_apply": True, "informed_of_documentation": True, "opened_on": T0.date(),
        "last_entry_on": T0.date(), "created_at": T0 + dt.timedelta(minutes=minutes),
        "updated_at": T0 + dt.timedelta(minutes=minutes),
    }  # fmt: skip


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    name = f"iub_migrate_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _upgrade(url: str, revision: str) -> None:
    from alembic import command
    from app.cli import alembic_config

    command.upgrade(alembic_config(url), revision)  # type: ignore[arg-type]


async def test_migration_gives_persons_the_committee_of_their_cases_and_each_unit_its_contacts(
    empty_database_url: str,
) -> None:
    await asyncio.to_thread(_upgrade, empty_database_url, "0005")
    db = Database.connect(empty_database_url)
    adult, protected, orphan = (str(uuid.uuid4()) for _ in range(3))
    cases = [str(uuid.uuid4()) for _ in range(5)]
    try:
        async with db.sessions() as session, session.begin():
            person = {"created_at": T0, "updated_at": T0, "protected_identity": False, "address": None, "email": None}
            await session.execute(
                sa.insert(persons_0005),
                [
                    {**person, "id": adult, "personnummer": ADULT, "name": "Sigrid Provsson",
                     "address": "Provgatan 3", "phone": "070-174 06 10", "email": "a@example.com"},
                    {**person, "id": protected, "personnummer": PROTECTED, "name": "Petra Provsson",
                     "phone": "070-174 06 11", "protected_identity": True},
                    {**person, "id": orphan, "personnummer": ORPHAN, "name": "Ingen Alls", "phone": "070-174 06 12"},
                ],
            )  # fmt: skip
            await session.execute(
                sa.insert(cases_0005),
                [
                    _case(cases[0], "sn-sydvast", "unit-a", 0, person_id=adult),
                    _case(cases[1], "sn-sydvast", "unit-b", 5, person_id=adult),
                    _case(cases[2], "sn-centrum", "unit-x", 1, guardian_person_id=adult, person_id=protected),
                    _case(cases[3], "sn-sydvast", "unit-a", 2, person_id=protected),
                    _case(cases[4], "sn-sydvast", "unit-b", 3, person_id=protected),
                ],
            )
            event = {"status": "pending", "attempts": 0, "payload": {}}
            await session.execute(
                sa.insert(outbox_0005),
                [
                    {**event, "id": str(uuid.uuid4()), "aggregate_type": "case", "aggregate_id": cases[2],
                     "kind": "case.registered"},
                    {**event, "id": str(uuid.uuid4()), "aggregate_type": "person", "aggregate_id": adult,
                     "kind": "person.updated"},
                ],
            )  # fmt: skip
            await session.execute(
                sa.insert(keys_0005),
                [
                    {
                        "caller": '["unit-a","s"]',
                        "key": ADULT,
                        "fingerprint": "0" * 64,
                        "state": "done",
                        "expires_at": T0,
                    }
                ],
            )
    finally:
        await db.dispose()

    await asyncio.to_thread(_upgrade, empty_database_url, "head")

    db = Database.connect(empty_database_url)
    try:
        async with db.sessions() as session:
            persons = {(p.committee, p.personnummer): p for p in (await session.scalars(sa.select(PersonRow))).all()}
            contacts = (await session.scalars(sa.select(PersonContactRow))).all()
            case_rows = {c.id: c for c in (await session.scalars(sa.select(CaseRow))).all()}
            events = (await session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.seq))).all()
            keys = (await session.scalars(sa.select(IdempotencyRecord))).all()
    finally:
        await db.dispose()

    # The first committee keeps the row; the second gets its own copy and its cases point at it.
    assert set(persons) == {("sn-sydvast", ADULT), ("sn-centrum", ADULT), ("sn-sydvast", PROTECTED),
                            ("sn-centrum", PROTECTED)}  # fmt: skip
    assert persons[("sn-sydvast", ADULT)].id == adult
    copy = persons[("sn-centrum", ADULT)]
    assert copy.id != adult and case_rows[cases[2]].guardian_person_id == copy.id
    assert case_rows[cases[1]].person_id == adult
    assert persons[("sn-centrum", PROTECTED)].id == protected  # its earliest case is in sn-centrum
    assert case_rows[cases[3]].person_id == persons[("sn-sydvast", PROTECTED)].id != protected
    # Who recorded the name: the earliest case's unit and author in that committee.
    sydvast = persons[("sn-sydvast", ADULT)]
    assert (sydvast.name, sydvast.name_source, sydvast.name_recorded_unit, sydvast.name_recorded_by) == (
        "Sigrid Provsson", "registration", "unit-a", "sub-unit-a",
    )  # fmt: skip
    assert all(p.personnummer != ORPHAN for p in persons.values())  # no case: no committee, unreachable
    # Every unit with a case keeps what it saw; a protected person's phone only the first unit.
    recorded = {(c.person_id, c.unit): (c.address, c.phone, c.email) for c in contacts}
    adult_contact = ("Provgatan 3", "070-174 06 10", "a@example.com")
    protected_sydvast = persons[("sn-sydvast", PROTECTED)].id
    assert recorded == {
        (adult, "unit-a"): adult_contact,
        (adult, "unit-b"): adult_contact,
        (copy.id, "unit-x"): adult_contact,
        (protected, "unit-x"): (None, "070-174 06 11", None),
        (protected_sydvast, "unit-a"): (None, "070-174 06 11", None),
    }
    assert [(e.aggregate_type, e.committee) for e in events] == [("case", "sn-centrum"), ("person", "sn-sydvast")]
    assert keys == []  # verbatim, committee-less keys are not carried over


# --- 0019: stored responses record the ids they name ------------------------------------------------


async def test_migration_records_the_ids_stored_responses_name(empty_database_url: str) -> None:
    await asyncio.to_thread(_upgrade, empty_database_url, "0017")
    case_id, note_id = str(uuid.uuid4()), str(uuid.uuid4())
    keys_0017 = sa.table(
        "idempotency_keys",
        *(sa.column(n, sa.String()) for n in ("caller", "key_hmac", "fingerprint", "state")),
        sa.column("response_status", sa.Integer()),
        *(sa.column(n, sa.JSON()) for n in ("response_body", "response_headers")),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    stored = {"fingerprint": "0" * 64, "state": "done", "response_status": 201, "expires_at": T0}
    db = Database.connect(empty_database_url)
    try:
        async with db.sessions() as session, session.begin():
            await session.execute(
                sa.insert(keys_0017),
                [
                    {**stored, "caller": "a", "key_hmac": "1", "response_body": {"text": json.dumps({"id": note_id})},
                     "response_headers": {"location": f"/v1/cases/{case_id.upper()}"}},
                    {**stored, "caller": "a", "key_hmac": "2", "response_body": {"text": "{}"}, "response_headers": {}},
                ],
            )  # fmt: skip
    finally:
        await db.dispose()

    await asyncio.to_thread(_upgrade, empty_database_url, "head")

    db = Database.connect(empty_database_url)
    try:
        async with db.sessions() as session:
            names = dict((await session.execute(sa.select(IdempotencyRecord.key_hmac, IdempotencyRecord.names))).all())
    finally:
        await db.dispose()
    assert names == {"1": sorted([case_id, note_id]), "2": []}
