"""The records of transferred files as JSON, one document per file, for the archive package.

A person's file: the person (personnummer, name, earlier names, the units' contact records) and
every case registered on them with its notes, plan, plan versions, sessions and coded entries; a
parent-targeted case names its guardian. An exempted record: the case and its entries (no
identity). Loaded per batch with one query per table, never per file.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import (
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
from app.disposal.archive import ArchiveRecord
from app.kit.bulk import in_ids

RECORDS_FORMAT = "iub-records-json-1.0"
RECORDS_DESCRIPTION = """\
Each record is one JSON document (UTF-8, keys sorted).

`files/<person id>.json` is a person's file (personakt) at the committee, transferred under the
research exemption (SoL 16 kap. 4 §, SoF 13 kap. 1 §) or handed to the committee (SoL 17 kap.
2 §): `{"format", "kind": "person_file", "committee", "rule", "person", "cases"}`. `person` holds
the personnummer (12 digits), the name, earlier names and each unit's contact record; every case
holds its own columns and its `notes`, `plan`, `plan_versions`, `sessions` and `coded_entries`,
and a parent-targeted case its `guardian` (personnummer and name).

`records/<case id>.json` is a record of an exempted intervention (SoL 14 kap. 4-5 §§, no
identity): `{"format", "kind": "exempted_record", "committee", "rule", "case"}`.
"""

_ENTRIES = {
    "notes": CaseNoteRow,
    "plan_versions": CasePlanVersionRow,
    "sessions": CaseSessionRow,
    "coded_entries": CaseCodedEntryRow,
}


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, default=_json, sort_keys=True, ensure_ascii=False).encode()


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


async def _rows(session: AsyncSession, model: Any, column: str, ids: Sequence[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    table = _table(model)
    result = await session.execute(select(table).where(in_ids(session, table.c[column], ids)))
    return [dict(row) for row in result.mappings().all()]


async def _cases_with_entries(session: AsyncSession, column: str, ids: Sequence[str]) -> list[dict[str, Any]]:
    cases = await _rows(session, CaseRow, column, ids)
    case_ids = [c["id"] for c in cases]
    by_case: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for key, model in _ENTRIES.items():
        for row in await _rows(session, model, "case_id", case_ids):
            by_case[row["case_id"]][key].append(row)
    plans = {row["case_id"]: row for row in await _rows(session, CasePlanRow, "case_id", case_ids)}
    for case in cases:
        entries = by_case[case["id"]]
        case["notes"] = sorted(entries["notes"], key=lambda n: (n["occurred_on"], n["created_at"], n["id"]))
        case["plan_versions"] = sorted(entries["plan_versions"], key=lambda v: v["version"])
        case["sessions"] = sorted(entries["sessions"], key=lambda s: s["number"])
        case["coded_entries"] = sorted(entries["coded_entries"], key=lambda e: (e["occurred_on"], e["id"]))
        case["plan"] = plans.get(case["id"])
    return cases


async def file_records(
    session: AsyncSession,
    committee: str,
    persons: dict[str, str],
    records: dict[str, str],
) -> list[ArchiveRecord]:
    """`persons` / `records`: the person / exempted case id → the rule that transfers it. In id order."""
    out: list[ArchiveRecord] = []
    if persons:
        person_ids = sorted(persons)
        people = {p["id"]: p for p in await _rows(session, PersonRow, "id", person_ids)}
        names: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in await _rows(session, PersonNameRow, "person_id", person_ids):
            names[row["person_id"]].append(row)
        contacts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in await _rows(session, PersonContactRow, "person_id", person_ids):
            contacts[row["person_id"]].append(row)
        cases: dict[str, list[dict[str, Any]]] = defaultdict(list)
        all_cases = await _cases_with_entries(session, "person_id", person_ids)
        guardian_ids = sorted({c["guardian_person_id"] for c in all_cases if c["guardian_person_id"]})
        guardians = {
            g["id"]: {"personnummer": g["personnummer"], "name": g["name"]}
            for g in await _rows(session, PersonRow, "id", guardian_ids)
        }
        for case in all_cases:
            case["guardian"] = guardians.get(case["guardian_person_id"] or "")
            cases[case["person_id"]].append(case)
        for person_id in person_ids:
            person = people[person_id]
            person["names"] = sorted(names[person_id], key=lambda n: (n["recorded_at"], n["id"]))
            person["contacts"] = sorted(contacts[person_id], key=lambda c: c["unit"])
            document = {
                "format": RECORDS_FORMAT,
                "kind": "person_file",
                "committee": committee,
                "rule": persons[person_id],
                "person": person,
                "cases": sorted(cases[person_id], key=lambda c: (c["opened_on"], c["id"])),
            }
            out.append(ArchiveRecord(f"files/{person_id}.json", _encode(document)))
    if records:
        for case in sorted(await _cases_with_entries(session, "id", sorted(records)), key=lambda c: c["id"]):
            document = {
                "format": RECORDS_FORMAT,
                "kind": "exempted_record",
                "committee": committee,
                "rule": records[case["id"]],
                "case": case,
            }
            out.append(ArchiveRecord(f"records/{case['id']}.json", _encode(document)))
    return out
