"""The only two ways audit records leave the table (SoLPUL 10 §: access is documented and checkable).

- Disposal replaces the records naming a disposed file with records without it (`erasure.py`).
- The retention purge (`iub purge`) deletes records older than `IUB_AUDIT_RETENTION_YEARS`. No
  regulation sets a retention for access logs (legal brief, "Access and logging"), so it is the
  committee's setting; README "Configuration" says why the default is ten years.

The database refuses every other DELETE (migration 0017): each path opens `audit_deletion`,
which writes a grant row that only its own transaction sees and removes it again. An UPDATE is
refused always (0005).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Literal

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import AuditDeleteGrantRow, AuditRecordRow
from app.core.db import Database, new_id

PURGE_BATCH = 5000


@contextlib.asynccontextmanager
async def audit_deletion(session: AsyncSession, reason: Literal["disposal", "retention"]) -> AsyncIterator[None]:
    """Audit records may be deleted inside this block, in this transaction only. An error inside
    leaves the grant to the transaction's rollback (the caller's transaction must not commit)."""
    grant = new_id()
    await session.execute(insert(AuditDeleteGrantRow).values(id=grant, reason=reason))
    yield
    await session.execute(delete(AuditDeleteGrantRow).where(AuditDeleteGrantRow.id == grant))


def years_before(moment: dt.datetime, years: int) -> dt.datetime:
    """The same moment `years` calendar years earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


# The committees of the trail, off the (committee, at, id) index one committee at a time (a loose
# index scan): a plain DISTINCT would read the whole table.
_COMMITTEES = text(
    "WITH RECURSIVE c(committee) AS ("
    " SELECT min(committee) FROM audit_records"
    " UNION ALL"
    " SELECT (SELECT min(committee) FROM audit_records WHERE committee > c.committee) FROM c"
    " WHERE c.committee IS NOT NULL"
    ") SELECT committee FROM c WHERE committee IS NOT NULL"
)


async def purge_audit(
    db: Database, before: dt.datetime, *, batch_size: int = PURGE_BATCH, dry_run: bool = False
) -> int:
    """Delete the audit records from before `before`: per committee, oldest first, in batches of
    `batch_size`, each its own transaction (a long purge never holds a long transaction, and one
    interrupted keeps what it did). `dry_run` counts them and deletes nothing. Returns the count."""
    async with db.sessions() as session:
        committees = list((await session.scalars(_COMMITTEES)).all())
    total = 0
    for committee in committees:
        old = (AuditRecordRow.committee == committee, AuditRecordRow.at < before)
        if dry_run:
            async with db.sessions() as session:
                total += int(await session.scalar(select(func.count()).select_from(AuditRecordRow).where(*old)) or 0)
            continue
        while True:
            # Off the (committee, at, id) index: the oldest of the committee's expired records.
            batch = select(AuditRecordRow.id).where(*old).order_by(AuditRecordRow.at, AuditRecordRow.id)
            async with db.sessions() as session, session.begin(), audit_deletion(session, "retention"):
                result = await session.execute(
                    delete(AuditRecordRow)
                    .where(AuditRecordRow.id.in_(batch.limit(batch_size)))
                    .execution_options(synchronize_session=False)
                )
            deleted = max(int(getattr(result, "rowcount", 0) or 0), 0)
            total += deleted
            if deleted < batch_size:
                break
    return total
