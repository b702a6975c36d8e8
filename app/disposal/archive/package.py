"""The package writer and verifier (interface; the implementation follows)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class ArchiveRecord:
    """One record: ``path`` is relative to the representation's data folder, e.g. ``files/<id>.json``."""

    path: str
    content: bytes
    mimetype: str = "application/json"


@dataclass(frozen=True)
class PackageMeta:
    package_id: str
    label: str
    committee_id: str
    committee_name: str
    created_at: datetime
    software_name: str
    software_version: str
    submitting_organisation: str
    submitting_organisation_code: str


@dataclass(frozen=True)
class PackageResult:
    """``path`` is the ZIP file or the package's root folder; ``sha256``/``size`` are of the ZIP
    (for a directory: of its root METS.xml); ``file_count`` counts the records."""

    name: str
    path: Path
    sha256: str
    size: int
    file_count: int


class PackageInvalid(Exception):
    """The package does not match its METS or the bundled schemas; ``problems`` says where."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:10]) + (f" (+{len(problems) - 10} more)" if len(problems) > 10 else ""))
        self.problems = problems


def write_package(
    target_dir: Path, meta: PackageMeta, records: Iterable[ArchiveRecord], *, as_zip: bool = True
) -> PackageResult:
    raise NotImplementedError


def verify_package(result: PackageResult) -> None:
    raise NotImplementedError
