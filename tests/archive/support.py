"""Shared facts for the archive package tests: a package's metadata and some records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

from app.disposal.archive import ArchiveRecord, PackageMeta

CREATED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def meta(package_id: str = "iub-sn-sydvast-2026-12-01-0001", **changes: object) -> PackageMeta:
    values: dict[str, object] = {
        "package_id": package_id,
        "label": "Personakter överlämnade till arkiv, Socialnämnden Sydväst",
        "committee_id": "sn-sydvast",
        "committee_name": "Socialnämnden Sydväst",
        "created_at": CREATED,
        "software_name": "iub",
        "software_version": "0.1.0",
        "submitting_organisation": "Göteborgs Stad",
        "submitting_organisation_code": "212000-1355",
    }
    values.update(changes)
    return PackageMeta(**values)  # type: ignore[arg-type]


def record(n: int) -> ArchiveRecord:
    # Skatteverket's test personnummer only (shared/domain/test-personnummer.txt).
    body = {
        "file_id": f"file-{n:06d}",
        "person": {"personnummer": "189001019802", "given_name": "Test", "family_name": f"Person {n}"},
        "cases": [{"case_id": f"case-{n}", "intervention": "samtalsstod", "notes": [{"text": "Samtal " * 20}]}],
    }
    return ArchiveRecord(f"files/file-{n:06d}.json", json.dumps(body, ensure_ascii=False).encode())


def records(count: int) -> Iterator[ArchiveRecord]:
    return (record(n) for n in range(count))
