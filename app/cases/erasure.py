"""Removing whole files at disposal (gallring): bulk deletes by id, one statement per table.

Called by the disposal job only, inside its batch transaction. The audit trail is never
rewritten: the rows that name a removed case or person are replaced by rows without them (the
access happened, by whom and when; not whose file it was).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    Delete,
    String,
    Table,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
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
from app.kit.bulk import in_ids


async def _delete(session: AsyncSession, statement: Delete) -> int:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


_CASE_TABLES = (CaseNoteRow, CasePlanVersionRow, CasePlanRow, CaseSessionRow, CaseCodedEntryRow)


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


async def erase_cases(session: AsyncSession, case_ids: Sequence[str]) -> int:
    """Delete the cases with their notes, plans, plan versions, sessions and coded entries."""
    if not case_ids:
        return 0
    ids = list(case_ids)
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


async def erase_persons(session: AsyncSession, person_ids: Sequence[str]) -> None:
    """Delete the persons with their names and contacts (no case may refer to them any more)."""
    if not person_ids:
        return
    ids = list(person_ids)
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
                f"WHERE x <> ALL(:{ids}) ORDER BY n) END"
            )

        # A page row names cases of many files, so batches running at once may both rewrite it:
        # the second one's DELETE would skip the row the first deleted and not see the first's
        # copy, which keeps the second's ids. One rewriter at a time (until the batch commits), and
        # this statement's snapshot, taken after the lock, sees the copy. Only a batch whose ids a
        # page row names takes the lock: a row naming them, the original or a committed copy, is
        # in the count's snapshot; the rows of single accesses lose both ids in their copies, so
        # no batch rewrites them twice. (Taken by every batch, the lock made the batches' most
        # expensive statement and their commits one at a time.)
        cases_, persons_ = "(SELECT CAST(:cases AS VARCHAR[]))", "(SELECT CAST(:persons AS VARCHAR[]))"
        arrays = (bindparam("cases", cases, type_=ARRAY(String)), bindparam("persons", persons, type_=ARRAY(String)))
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
            f"SELECT {_TIME_ORDERED_ID}, {columns}, {remaining('case_ids', 'cases')}, "
            f"{remaining('person_ids', 'persons')} FROM gone"
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
