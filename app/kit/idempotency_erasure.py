"""Removing stored idempotent responses that name a disposed file's cases or persons.

A stored response records the ids it names (`names`: every UUID in its body and its stored
headers, such as `Location`), taken when it is stored. Disposal deletes by those ids — exactly,
whatever the shape of the body or where in it an id appears, and off a GIN index on PostgreSQL —
rather than by scanning every stored text for every id of a batch.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Select, String, and_, delete, exists, func, literal_column, select, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.bulk import id_array, in_ids
from app.kit.idempotency_models import IdempotencyRecord

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def ids_named(body: Mapping[str, Any] | None, headers: Mapping[str, str] | None) -> list[str]:
    """The ids (UUIDs, lower case, sorted) a stored response names: in its body, which is kept as
    `{"text": ...}` or `{"base64": ...}`, and in its headers."""
    parts = list((headers or {}).values())
    if body:
        if "text" in body:
            parts.append(str(body["text"]))
        elif "base64" in body:
            parts.append(base64.b64decode(str(body["base64"])).decode("utf-8", errors="replace"))
    return sorted({match.lower() for part in parts for match in _UUID.findall(part)})


async def erase_responses_naming(session: AsyncSession, ids: Collection[str]) -> int:
    """Delete the stored responses naming any of `ids`; returns how many."""
    if not ids:
        return 0
    wanted = sorted({i.lower() for i in ids})
    names = IdempotencyRecord.names
    if session.get_bind().dialect.name == "postgresql":
        # Through a sub-select: with a parameter of thousands of ids the planner's custom plan
        # scans the table; a sub-select's value is unknown to it, so it keeps the GIN index.
        given = select(id_array(wanted)).scalar_subquery()
        condition: Any = type_coerce(names, ARRAY(String)).overlap(given)
    else:
        element = func.json_each(names).table_valued("value")
        listed: Select[Any] = (
            select(literal_column("1")).select_from(element).where(in_ids(session, element.c.value, wanted))
        )
        condition = and_(names.is_not(None), exists(listed))
    result = await session.execute(
        delete(IdempotencyRecord).where(condition).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
