"""Removing stored idempotent responses that name a disposed file's cases or persons.

The table keeps responses for `idempotency_ttl_hours` (`iub purge` removes expired ones), so it
is small; a response names a record by its id, which is what is searched for.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from sqlalchemy import String, any_, bindparam, cast, delete, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.idempotency_models import IdempotencyRecord

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def erase_responses_naming(session: AsyncSession, ids: Collection[str]) -> int:
    if not ids:
        return 0
    body = cast(IdempotencyRecord.response_body, String)
    if session.get_bind().dialect.name == "postgresql":
        patterns = [f"%{i}%" for i in ids]
        result = await session.execute(
            delete(IdempotencyRecord)
            .where(body.like(any_(bindparam("patterns", patterns, type_=ARRAY(String)))))
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
    wanted = set(ids)
    keys = []
    rows = await session.execute(select(IdempotencyRecord.caller, IdempotencyRecord.key_hmac, body))
    for caller, key_hmac, stored in rows.all():
        if stored and not wanted.isdisjoint(_UUID.findall(stored)):
            keys.append((caller, key_hmac))
    for caller, key_hmac in keys:
        await session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.caller == caller, IdempotencyRecord.key_hmac == key_hmac)
        )
    return len(keys)
