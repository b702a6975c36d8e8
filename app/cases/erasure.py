"""Removing whole files at disposal (gallring): bulk deletes by id, one statement per table.

Called by the disposal job only, inside its batch transaction. The audit trail is never
rewritten: the rows that name a removed case or person are replaced by rows without them (the
access happened, by whom and when; not whose file it was).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

from sqlalchemy import (
    Delete,
    Table,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.audit import page_records
from app.cases.audit_deletion import audit_deletion
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
from app.core.db import new_id
from app.kit.bulk import id_array_text, in_ids


async def _delete(session: AsyncSession, statement: Delete) -> int:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


_CASE_TABLES = (CaseNoteRow, CasePlanVersionRow, CasePlanRow, CaseSessionRow, CaseCodedEntryRow)

# --- removing files without the per-row foreign-key triggers (PostgreSQL) -----------------------
#
# PostgreSQL enforces a foreign key with a trigger per row: deleting a file's case runs one query
# per referencing table (five cascades, the holds' restriction), its person five more, some
# eleven queries per file and most of a disposal batch's time in the database. Inside
# `references_unchecked` the batch's transaction runs with `session_replication_role = replica`,
# which fires no triggers, and does the same work per batch: the cascades as one DELETE per
# table, the restrictions as one check (`check_no_references`) before the triggers are back.
# Every other writer keeps its triggers: a hold or an entry written meanwhile takes its key lock
# on the case or person, which the batch's DELETE waits for, and the statements after it see it.
#
# Only where the keys are exactly these (`REFERENCES`, checked before a run uses it): a key added
# later and not handled here makes disposal keep the triggers rather than leave rows behind.
REFERENCES = frozenset(
    {
        ("case_notes", "case_id", "cases", "c"),
        ("case_plans", "case_id", "cases", "c"),
        ("case_plan_versions", "case_id", "cases", "c"),
        ("case_sessions", "case_id", "cases", "c"),
        ("case_coded_entries", "case_id", "cases", "c"),
        ("disposal_holds", "case_id", "cases", "r"),
        ("person_contacts", "person_id", "persons", "c"),
        ("person_names", "person_id", "persons", "c"),
        ("cases", "person_id", "persons", "r"),
        ("cases", "guardian_person_id", "persons", "r"),
        ("disposal_holds", "person_id", "persons", "r"),
    }
)
# Every key referring to a table disposal deletes from, and whether this role may skip triggers.
_REFERENCES_NOW = text(
    "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, c.confdeltype::text"
    " FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
    " WHERE c.contype = 'f' AND c.confrelid = ANY(CAST(:tables AS regclass[]))"
)
_DELETED_TABLES = [
    "cases",
    "persons",
    "case_notes",
    "case_plans",
    "case_plan_versions",
    "case_sessions",
    "case_coded_entries",
    "person_contacts",
    "person_names",
    "disposal_holds",
    "outbox_events",
    "journal_links",
]
# The checks after the deletes see what writers the deletes waited for committed only in a
# READ COMMITTED transaction (a statement's own snapshot), the batches' level.
_SERVER = text(
    "SELECT current_setting('is_superuser') = 'on', current_setting('server_version_num')::int,"
    " current_setting('transaction_isolation') = 'read committed'"
)
# PostgreSQL 15 lets a superuser grant the setting: GRANT SET ON PARAMETER session_replication_role TO ...
_MAY_SET = text("SELECT has_parameter_privilege('session_replication_role', 'SET')")


async def set_based_available(session: AsyncSession) -> bool:
    """Whether `references_unchecked` may be used: PostgreSQL, a role allowed to set
    `session_replication_role`, and the foreign keys into the deleted tables exactly `REFERENCES`."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    superuser, server_version, read_committed = (await session.execute(_SERVER)).one()
    if not read_committed:
        return False
    if not superuser and not (server_version >= 150000 and await session.scalar(_MAY_SET)):
        return False
    rows = await session.execute(_REFERENCES_NOW, {"tables": _DELETED_TABLES})
    return {(table, column, referred, action) for table, column, referred, action in rows.all()} == REFERENCES


async def _delete_children(session: AsyncSession, children: Sequence[tuple[str, str]], ids: list[str]) -> None:
    """One statement deleting the rows of every (table, column) that name one of `ids`."""
    wanted, param = id_array_text("ids", ids)
    *first, (last_table, last_column) = children
    ctes = ", ".join(
        f"d{n} AS (DELETE FROM {table} WHERE {column} = ANY({wanted}))" for n, (table, column) in enumerate(first)
    )
    statement = f"DELETE FROM {last_table} WHERE {last_column} = ANY({wanted})"
    await session.execute(text(f"WITH {ctes} {statement}" if ctes else statement).bindparams(param))


@contextlib.asynccontextmanager
async def references_unchecked(session: AsyncSession) -> AsyncIterator[None]:
    """Triggers off for this transaction's statements inside the block (see `REFERENCES`). The
    block must end with `check_no_references`; an error inside leaves the setting to the
    transaction's rollback."""
    await session.execute(text("SET LOCAL session_replication_role = replica"))
    yield
    await session.execute(text("SET LOCAL session_replication_role = origin"))


async def check_no_references(session: AsyncSession, case_ids: Collection[str], person_ids: Collection[str]) -> None:
    """The restrictions of `REFERENCES` for the removed cases and persons, once for all of them
    (cascaded rows are deleted): a row naming one fails the batch as the key's trigger would."""
    cases_sql, cases_param = id_array_text("cases", sorted(case_ids))
    persons_sql, persons_param = id_array_text("persons", sorted(person_ids))
    checks = [
        f"SELECT 1 FROM disposal_holds WHERE case_id = ANY({cases_sql})",
        f"SELECT 1 FROM disposal_holds WHERE person_id = ANY({persons_sql})",
        f"SELECT 1 FROM cases WHERE person_id = ANY({persons_sql})",
        f"SELECT 1 FROM cases WHERE guardian_person_id = ANY({persons_sql})",
    ]
    query = text("SELECT " + " OR ".join(f"EXISTS ({check})" for check in checks)).bindparams(
        cases_param, persons_param
    )
    if await session.scalar(query):
        raise IntegrityError(
            "check_no_references", None, Exception("a row refers to a case or person the batch removed")
        )


async def identified_case_ids(session: AsyncSession, person_ids: Collection[str]) -> list[str]:
    """The cases registered on these persons (their files), in id order."""
    if not person_ids:
        return []
    query = select(CaseRow.id).where(in_ids(session, CaseRow.person_id, person_ids)).order_by(CaseRow.id)
    return list((await session.scalars(query)).all())


async def guardians_of(session: AsyncSession, case_ids: Collection[str]) -> set[str]:
    if not case_ids:
        return set()
    query = select(CaseRow.guardian_person_id).where(
        in_ids(session, CaseRow.id, case_ids), CaseRow.guardian_person_id.is_not(None)
    )
    return {g for g in (await session.scalars(query)).all() if g is not None}


async def erase_cases(session: AsyncSession, case_ids: Sequence[str], *, set_based: bool = False) -> int:
    """Delete the cases with their notes, plans, plan versions, sessions and coded entries.

    `set_based` (PostgreSQL, inside `references_unchecked`): the cases first, then their entries in
    one statement, instead of the cascade's one query per case and table."""
    if not case_ids:
        return 0
    ids = list(case_ids)
    if set_based:
        deleted = await _delete(session, delete(CaseRow).where(in_ids(session, CaseRow.id, ids)))
        # A statement of its own, after the cases': its snapshot sees an entry committed by a
        # writer the cases' DELETE waited for (the writer's key lock on its case), as the
        # cascade's queries, run after the DELETE, would.
        await _delete_children(session, [(table.__tablename__, "case_id") for table in _CASE_TABLES], ids)
        return deleted
    # On PostgreSQL the entries go with their case (ON DELETE CASCADE): the database runs a cascade
    # check per deleted case for each of these tables anyway, so deleting them first only doubles
    # the work. SQLite deletes them first (its cascade needs the foreign_keys pragma).
    if session.get_bind().dialect.name != "postgresql":
        for table in _CASE_TABLES:
            await session.execute(
                delete(table).where(in_ids(session, table.case_id, ids)).execution_options(synchronize_session=False)
            )
    result = await session.execute(
        delete(CaseRow).where(in_ids(session, CaseRow.id, ids)).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def unreferenced_persons(session: AsyncSession, person_ids: Collection[str]) -> list[str]:
    """Those of the persons no case refers to (as registered person or guardian): a guardian's row
    stays while any file refers to it."""
    if not person_ids:
        return []
    # Locked first (in id order): two batches removing the files that name one guardian decide
    # one after the other, each seeing what the other removed.
    lock = select(PersonRow.id).where(in_ids(session, PersonRow.id, person_ids)).order_by(PersonRow.id)
    await session.execute(lock.with_for_update())
    # One NOT EXISTS per referring column, each an index probe (an OR of both is a bitmap OR per person).
    registered = exists().where(CaseRow.person_id == PersonRow.id)
    guardian = exists().where(CaseRow.guardian_person_id == PersonRow.id)
    query = (
        select(PersonRow.id)
        .where(in_ids(session, PersonRow.id, person_ids), ~registered, ~guardian)
        .order_by(PersonRow.id)
    )
    return list((await session.scalars(query)).all())


async def erase_persons(session: AsyncSession, person_ids: Sequence[str], *, set_based: bool = False) -> None:
    """Delete the persons with their names and contacts (no case may refer to them any more).
    `set_based`: as for `erase_cases`."""
    if not person_ids:
        return
    ids = list(person_ids)
    if set_based:
        await _delete(session, delete(PersonRow).where(in_ids(session, PersonRow.id, ids)))
        await _delete_children(session, [("person_contacts", "person_id"), ("person_names", "person_id")], ids)
        return
    if session.get_bind().dialect.name != "postgresql":  # PostgreSQL: ON DELETE CASCADE (as for cases)
        for table in (PersonContactRow, PersonNameRow):
            await session.execute(
                delete(table).where(in_ids(session, table.person_id, ids)).execution_options(synchronize_session=False)
            )
    await _delete(session, delete(PersonRow).where(in_ids(session, PersonRow.id, ids)))


# A copy's id: a time-ordered UUID (version 7: milliseconds since the epoch, then random bits), so
# the copies' primary-key entries go to the index's right edge, a few pages per batch. A random
# UUID put each of a batch's thousands of copies on another leaf of an index far larger than the
# buffer cache: a page read, dirtied and written whole to the WAL per copy (a batch of 2,000 files
# wrote 78 MB of WAL for its audit rows, against 26 MB with these ids).
# Written in one expression per row (a sub-select of its parts would be evaluated once for all).
_TIME_ORDERED_ID = (
    "regexp_replace(lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0'),"
    " '^(.{8})', '\\1-') || '-7' || substr(gen_random_uuid()::text, 16)"
)

# The transaction-level advisory lock of rewriting audit rows (an arbitrary, fixed 64-bit key).
_AUDIT_REWRITE_LOCK = 0x6975625F61756474  # "iub_audt"


async def deidentify_audit(session: AsyncSession, case_ids: Collection[str], person_ids: Collection[str]) -> int:
    """Replace the audit rows naming these cases or persons with rows without them (append-only:
    the new rows are inserted, the old deleted; an UPDATE is refused by the database).

    A row of one access loses its case and person. A page row (`case_ids`, `person_ids`) loses
    just these ids: what else it names was read as well, and those persons' trails stay complete.
    """
    cases, persons = sorted(case_ids), sorted(person_ids)
    if not cases and not persons:
        return 0
    table = AuditRecordRow.__table__
    assert isinstance(table, Table)
    named = ("id", "case_id", "person_id", "case_ids", "person_ids")
    kept = [c.name for c in table.c if c.name not in named]
    if session.get_bind().dialect.name == "postgresql":
        # In the database, one statement: the rows are found off their indexes (btree for the
        # single ids, GIN `&&` for the lists), deleted, and their copies inserted with a new id and
        # the lists filtered in their order. The arrays come through sub-selects: given as a
        # parameter of thousands of ids, the planner's custom plan estimates a huge match and scans
        # the table; a sub-select's value is unknown to it, so it keeps the indexes (`ANY` takes it
        # cast, or it would read it as `ANY (subquery)`).
        def remaining(column: str, ids: str) -> str:
            return (
                f"CASE WHEN {column} IS NOT NULL THEN ARRAY(SELECT x FROM unnest({column}) WITH ORDINALITY AS u(x, n) "
                f"WHERE x <> ALL(CAST({ids} AS VARCHAR[])) ORDER BY n) END"
            )

        # A page row names cases of many files, so batches running at once may both rewrite it:
        # the second one's DELETE would skip the row the first deleted and not see the first's
        # copy, which keeps the second's ids. One rewriter at a time (until the batch commits), and
        # this statement's snapshot, taken after the lock, sees the copy. Only a batch whose ids a
        # page row names takes the lock: a row naming them, the original or a committed copy, is
        # in the count's snapshot; the rows of single accesses lose both ids in their copies, so
        # no batch rewrites them twice. (Taken by every batch, the lock made the batches' most
        # expensive statement and their commits one at a time.)
        (cases_sql, cases_param), (persons_sql, persons_param) = (
            id_array_text("cases", cases),
            id_array_text("persons", persons),
        )
        cases_, persons_ = f"(SELECT {cases_sql})", f"(SELECT {persons_sql})"
        arrays = (cases_param, persons_param)
        pages = text(  # counted, not EXISTS: a first-row plan would walk the trail hoping for an early match
            f"SELECT count(*) FROM audit_records WHERE case_ids && {cases_} OR person_ids && {persons_}"
        ).bindparams(*arrays)
        if await session.scalar(pages):
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AUDIT_REWRITE_LOCK})
        columns = ", ".join(kept)
        statement = text(
            f"WITH gone AS (DELETE FROM audit_records WHERE case_id = ANY(CAST({cases_} AS VARCHAR[])) "
            f"OR person_id = ANY(CAST({persons_} AS VARCHAR[])) "
            f"OR case_ids && {cases_} OR person_ids && {persons_} RETURNING {columns}, case_ids, person_ids) "
            f"INSERT INTO audit_records (id, {columns}, case_ids, person_ids) "
            f"SELECT {_TIME_ORDERED_ID}, {columns}, {remaining('case_ids', cases_)}, "
            f"{remaining('person_ids', persons_)} FROM gone"
        ).bindparams(*arrays)
        async with audit_deletion(session, "disposal"):
            result = await session.execute(statement)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
    # SQLite: one query per kind of condition, each off its index (an OR of them all is a full
    # scan there): the single ids, then the page records (a range on their lists' index) by `json_each`.
    queries = [
        select(table).where(or_(in_ids(session, table.c.case_id, cases), in_ids(session, table.c.person_id, persons)))
    ]
    for ids_column, ids in ((table.c.case_ids, cases), (table.c.person_ids, persons)):
        if ids:
            element = func.json_each(ids_column).table_valued("value")
            listed = exists(select(literal_column("1")).select_from(element).where(element.c.value.in_(ids)))
            queries.append(select(table).where(page_records(ids_column), listed))
    found: dict[str, Any] = {}
    for query in queries:
        for row in (await session.execute(query)).mappings().all():
            found[row["id"]] = row
    rows = list(found.values())
    if not rows:
        return 0
    gone = {*cases, *persons}
    keep: list[dict[str, Any]] = [
        {
            **row,
            "id": new_id(),
            "case_id": None,
            "person_id": None,
            "case_ids": None if row["case_ids"] is None else [i for i in row["case_ids"] if i not in gone],
            "person_ids": None if row["person_ids"] is None else [i for i in row["person_ids"] if i not in gone],
        }
        for row in rows
    ]
    async with audit_deletion(session, "disposal"):
        await session.execute(delete(table).where(in_ids(session, table.c.id, [row["id"] for row in rows])))
    await session.execute(insert(table), keep)
    return len(rows)
