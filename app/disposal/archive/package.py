"""Write and verify archive packages (FGS Paketstruktur 2.0 = E-ARK CSIP 2.1.0 + E-ARK SIP 2.1.0).

Layout of a package named after its OBJID (``meta.package_id``)::

    <package_id>/
      METS.xml                                  the package: agents, file groups, structural map
      metadata/preservation/premis.xml          PREMIS 3.0: transfer and fixity events, agents
      representations/rep1/METS.xml             every record with size and SHA-256
      representations/rep1/data/<record path>   the records (JSON)
      schemas/                                  METS, XLink, PREMIS, CSIP and SIP extension XSDs
      documentation/iub-archive-package.md      what the records are, their shape, the legal basis

Memory stays flat in the number of records: each record is hashed and written as it arrives, its
entry (path, size, SHA-256, media type) goes to a spool file on disk, and the representation's
METS is streamed from the spool afterwards. The one exception is the ZIP format itself, whose
central directory (written last) the standard library keeps in memory: about 0.5 KB per record.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import posixpath
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

from lxml import etree

from app.disposal.archive._docs import DEFAULT_RECORDS_DESCRIPTION, DOCUMENTATION_PATH, render_documentation
from app.disposal.archive._schemas import CSIP_NS, METS_NS, SCHEMA_DIR, SHIPPED, XLINK_NS, mets_schema, premis_schema
from app.disposal.archive._xml import (
    REPRESENTATION,
    SIP_PROFILE,
    FileEntry,
    FileGroup,
    write_premis,
    write_representation_mets,
    write_root_mets,
)

ROOT_METS = "METS.xml"
PREMIS_PATH = "metadata/preservation/premis.xml"
REPRESENTATION_METS = f"representations/{REPRESENTATION}/METS.xml"
DATA_DIR = f"representations/{REPRESENTATION}/data/"
RECORDS_SCHEMA_PATH = "schemas/records.schema.json"

_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_PACKAGE_ID = re.compile(rf"^{_SEGMENT}$")
_RECORD_PATH = re.compile(rf"^{_SEGMENT}(?:/{_SEGMENT}){{0,7}}$")
_MIMETYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
_CHUNK = 1 << 20
_MAX_PROBLEMS = 1000


@dataclass(frozen=True)
class ArchiveRecord:
    """One record: ``path`` is relative to the representation's data folder, e.g. ``files/<id>.json``.

    Path segments are letters, digits, ``.``, ``_`` and ``-`` (starting with a letter or digit), at
    most 8 deep: the names must survive every archive's file system.
    """

    path: str
    content: bytes
    mimetype: str = "application/json"


@dataclass(frozen=True)
class PackageMeta:
    """What the package says about itself. ``created_at`` must carry a time zone; it is the
    CREATED/CREATEDATE of every METS entry and the timestamp of every ZIP entry, so that the same
    records give the same package."""

    package_id: str
    label: str
    committee_id: str
    committee_name: str
    created_at: datetime
    software_name: str
    software_version: str
    submitting_organisation: str
    submitting_organisation_code: str
    # Optional: the archive that preserves the package (SIP26-31), the delivery agreement (SIP5)
    # and the archival reference code (SIP7), when the delivery agreement names them.
    archive_name: str | None = None
    archive_code: str | None = None
    submission_agreement: str | None = None
    reference_code: str | None = None
    # How the records are shaped, for the documentation file; and optionally a JSON Schema of one
    # record, shipped as schemas/records.schema.json.
    records_description: str = DEFAULT_RECORDS_DESCRIPTION
    records_schema: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PackageResult:
    """The archivist's receipt. ``path`` is the ZIP file or the package's root folder. For a ZIP,
    ``sha256`` and ``size`` are the ZIP file's own; for a folder, ``sha256`` is the root METS.xml's
    (which pins every other file by checksum) and ``size`` the bytes of all files. ``file_count``
    counts the records."""

    name: str
    path: Path
    sha256: str
    size: int
    file_count: int


class PackageInvalid(Exception):
    """The package does not match its METS documents or the bundled schemas; ``problems`` says where."""

    def __init__(self, problems: list[str]) -> None:
        shown = "; ".join(problems[:10])
        more = f" (+{len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(shown + more)
        self.problems = problems


# --- writing ------------------------------------------------------------------------------------


class _HashingWriter(io.RawIOBase):
    """Counts and hashes what passes through on its way to ``target``."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.digest.update(b)
        self.size += len(b)
        self.target.write(b)
        return len(b)


class _AppendOnly(io.RawIOBase):
    """The partial ZIP file, seen by zipfile as a stream it cannot seek in: it then writes each
    entry's sizes in a data descriptor after the data instead of seeking back to patch the header
    (three seeks and buffer flushes per record fewer), and the archive is hashed as it is written."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = 0) -> int:
        raise io.UnsupportedOperation("append-only")

    def tell(self) -> int:
        return self.size

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.target.write(b)
        self.digest.update(b)
        self.size += len(b)
        return len(b)

    def flush(self) -> None:
        self.target.flush()


class _ZipSink:
    def __init__(self, final: Path, root: str, created_at: datetime) -> None:
        self.final = final
        self.partial = final.with_name(final.name + ".partial")
        self.root = root
        utc = created_at.astimezone(UTC)
        self.date_time = (max(utc.year, 1980), utc.month, utc.day, utc.hour, utc.minute, utc.second)
        self.total = 0
        self.file = open(self.partial, "xb")  # noqa: SIM115 - closed in finish() or abort()
        self.out = _AppendOnly(self.file)
        self.zf = zipfile.ZipFile(self.out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)

    def _info(self, path: str) -> zipfile.ZipInfo:
        name = f"{self.root}/{path}"
        try:
            self.zf.getinfo(name)
        except KeyError:
            pass
        else:
            raise ValueError(f"two records have the same path: {path!r}")
        info = zipfile.ZipInfo(name, self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3  # Unix, whatever the platform: the same bytes everywhere
        info.external_attr = 0o100644 << 16
        return info

    def write(self, path: str, data: bytes) -> tuple[int, str]:
        self.zf.writestr(self._info(path), data)
        self.total += len(data)
        return len(data), hashlib.sha256(data).hexdigest()

    @contextmanager
    def stream(self, path: str) -> Iterator[_HashingWriter]:
        with self.zf.open(self._info(path), "w", force_zip64=True) as raw:
            out = _HashingWriter(raw)
            yield out
        self.total += out.size

    def finish(self) -> Path:
        self.zf.close()
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.partial, self.final)
        _fsync_dir(self.final.parent)
        return self.final

    def receipt(self) -> tuple[str, int]:
        return self.out.digest.hexdigest(), self.out.size

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # the half-written file is removed either way
            self.zf.close()
        self.file.close()
        self.partial.unlink(missing_ok=True)


class _DirSink:
    def __init__(self, final: Path) -> None:
        self.final = final
        self.partial = final.with_name(final.name + ".partial")
        self.total = 0
        self._made: str | None = None
        self.partial.mkdir()

    def _open(self, path: str) -> IO[bytes]:
        target = self.partial / path
        parent = str(target.parent)
        if parent != self._made:
            os.makedirs(parent, exist_ok=True)
            self._made = parent
        try:
            return open(target, "xb")
        except FileExistsError:
            raise ValueError(f"two records have the same path: {path!r}") from None

    def write(self, path: str, data: bytes) -> tuple[int, str]:
        with self._open(path) as f:
            f.write(data)
        self.total += len(data)
        return len(data), hashlib.sha256(data).hexdigest()

    @contextmanager
    def stream(self, path: str) -> Iterator[_HashingWriter]:
        with self._open(path) as f:
            out = _HashingWriter(f)
            yield out
        self.total += out.size

    def finish(self) -> Path:
        os.sync()  # one flush for all files, rather than one fsync per record
        os.replace(self.partial, self.final)
        _fsync_dir(self.final.parent)
        return self.final

    def abort(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)


@contextmanager
def _exclusive(lock_path: Path, name: str) -> Iterator[None]:
    """One writer per package name, across processes: a second writer (another worker given the
    same batch) fails at once instead of taking the first one's half-written file for a crash's."""
    with open(lock_path, "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FileExistsError(f"archive package {name} is being written by another process") from None
        try:
            yield
        finally:
            lock_path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_meta(meta: PackageMeta) -> None:
    if not _PACKAGE_ID.match(meta.package_id):
        raise ValueError("package_id must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if meta.created_at.tzinfo is None or meta.created_at.utcoffset() is None:
        raise ValueError("created_at must carry a time zone")
    required = {
        "label": meta.label,
        "committee_id": meta.committee_id,
        "committee_name": meta.committee_name,
        "software_name": meta.software_name,
        "software_version": meta.software_version,
        "submitting_organisation": meta.submitting_organisation,
        "submitting_organisation_code": meta.submitting_organisation_code,
    }
    for name, value in required.items():
        if not value.strip():
            raise ValueError(f"{name} must not be empty")


def _spooled_entries(spool: IO[bytes]) -> Iterator[FileEntry]:
    spool.seek(0)
    for number, line in enumerate(spool, start=1):
        path, size, sha256, mimetype = line.decode().rstrip("\n").split("\t")
        yield FileEntry(f"{REPRESENTATION}-file-{number:07d}", f"data/{path}", mimetype, int(size), sha256)


def write_package(
    target_dir: Path, meta: PackageMeta, records: Iterable[ArchiveRecord], *, as_zip: bool = True
) -> PackageResult:
    """Write one package to ``target_dir`` (as ``<package_id>.zip``, or a ``<package_id>/`` folder).

    Records are consumed once, in the order given (give them in a stable order, e.g. by file id,
    and the same records make a byte-identical package). Nothing appears under the final name
    until the package is complete and flushed to disk; an existing package is never overwritten
    (FileExistsError), nor one another process is writing (FileExistsError), and a half-written
    one left by a crash is replaced. Invalid metadata or
    record paths raise ValueError and leave nothing behind.
    """
    _check_meta(meta)
    target_dir.mkdir(parents=True, exist_ok=True)
    name = f"{meta.package_id}.zip" if as_zip else meta.package_id
    final = target_dir / name
    with _exclusive(target_dir / f".{name}.lock", name):
        if final.exists():
            raise FileExistsError(f"archive package {name} already exists")
        stale = final.with_name(final.name + ".partial")
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)
        sink: _ZipSink | _DirSink = _ZipSink(final, meta.package_id, meta.created_at) if as_zip else _DirSink(final)
        try:
            count, root_sha256 = _write(sink, meta, records, spool_dir=target_dir)
            path = sink.finish()
        except BaseException:
            sink.abort()
            raise
    if isinstance(sink, _ZipSink):
        sha256, size = sink.receipt()
    else:
        sha256, size = root_sha256, sink.total
    return PackageResult(name=name, path=path, sha256=sha256, size=size, file_count=count)


def _write(
    sink: _ZipSink | _DirSink, meta: PackageMeta, records: Iterable[ArchiveRecord], *, spool_dir: Path
) -> tuple[int, str]:
    def put(entry_id: str, path: str, mimetype: str, data: bytes) -> FileEntry:
        size, sha256 = sink.write(path, data)
        return FileEntry(entry_id, path, mimetype, size, sha256)

    schemas = [
        put(f"schema-{n}", f"schemas/{name}", "application/xml", (SCHEMA_DIR / name).read_bytes())
        for n, name in enumerate(SHIPPED, start=1)
    ]
    if meta.records_schema is not None:
        schemas.append(put("schema-records", RECORDS_SCHEMA_PATH, "application/schema+json", meta.records_schema))
    documentation = render_documentation(meta, has_records_schema=meta.records_schema is not None)
    docs = [put("doc-1", DOCUMENTATION_PATH, "text/markdown", documentation)]

    count = 0
    data_bytes = 0
    with tempfile.TemporaryFile(dir=spool_dir, prefix=".archive-spool-") as spool:
        for record in records:
            if not _RECORD_PATH.match(record.path):
                raise ValueError(f"record path {record.path!r} is not a safe relative path")
            if not _MIMETYPE.match(record.mimetype):
                raise ValueError(f"record media type {record.mimetype!r} is not type/subtype")
            size, sha256 = sink.write(DATA_DIR + record.path, record.content)
            spool.write(f"{record.path}\t{size}\t{sha256}\t{record.mimetype}\n".encode())
            count += 1
            data_bytes += size
        if count == 0:
            raise ValueError("an archive package needs at least one record")
        with sink.stream(REPRESENTATION_METS) as out:
            write_representation_mets(out, meta, _spooled_entries(spool))
        digest = out.digest.hexdigest()
        rep_mets = FileEntry(f"{REPRESENTATION}-mets", REPRESENTATION_METS, "application/xml", out.size, digest)

    buffer = io.BytesIO()
    write_premis(buffer, meta, count, data_bytes)
    premis = put("premis", PREMIS_PATH, "application/xml", buffer.getvalue())

    buffer = io.BytesIO()
    groups = (
        FileGroup("grp-documentation", "Documentation", tuple(docs)),
        FileGroup("grp-schemas", "Schemas", tuple(schemas)),
        FileGroup(f"grp-{REPRESENTATION}", f"Representations/{REPRESENTATION}", (rep_mets,), content_type=True),
    )
    write_root_mets(buffer, meta, premis, groups)
    root = put("mets", ROOT_METS, "application/xml", buffer.getvalue())
    return count, root.sha256


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# --- verifying ----------------------------------------------------------------------------------


class _Reader(Protocol):
    root: str

    def open(self, path: str) -> IO[bytes]: ...

    def paths(self) -> Iterator[str]: ...


class _ZipReader:
    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        roots = {name.split("/", 1)[0] for name in zf.namelist()}
        self.root = roots.pop() if len(roots) == 1 else ""

    def open(self, path: str) -> IO[bytes]:
        return self.zf.open(f"{self.root}/{path}")

    def paths(self) -> Iterator[str]:
        prefix = f"{self.root}/"
        for info in self.zf.infolist():
            if not info.is_dir():
                yield info.filename.removeprefix(prefix)


class _DirReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = path.name

    def open(self, path: str) -> IO[bytes]:
        return open(self.path / path, "rb")

    def paths(self) -> Iterator[str]:
        for folder, _dirs, files in os.walk(self.path):
            rel = os.path.relpath(folder, self.path)
            for f in files:
                yield f if rel == "." else f"{Path(rel).as_posix()}/{f}"


@dataclass
class _Check:
    reader: _Reader
    problems: list[str] = field(default_factory=list)
    referenced: set[str] = field(default_factory=set)
    dropped: int = 0

    def problem(self, text: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.dropped += 1

    def listed_file(self, base: str, href: str | None, elem: etree._Element, where: str) -> str | None:
        """Check one file a METS document lists; returns its package-relative path."""
        if not href:
            self.problem(f"{where}: a file without xlink:href")
            return None
        path = posixpath.normpath(posixpath.join(base, href))
        if href.startswith("/") or ":" in href or path.startswith("../") or path == "..":
            self.problem(f"{where}: {href!r} is not a relative path inside the package")
            return None
        if path in self.referenced:
            self.problem(f"{path}: listed more than once")
        self.referenced.add(path)
        size, checksum, kind = elem.get("SIZE"), elem.get("CHECKSUM"), elem.get("CHECKSUMTYPE")
        if kind != "SHA-256":
            self.problem(f"{path}: CHECKSUMTYPE is {kind!r}, expected 'SHA-256'")
            return path
        digest = hashlib.sha256()
        actual = 0
        try:
            with self.reader.open(path) as f:
                while chunk := f.read(_CHUNK):
                    digest.update(chunk)
                    actual += len(chunk)
        except (KeyError, FileNotFoundError, IsADirectoryError):
            self.problem(f"{path}: listed in {where} but missing")
            return path
        if size is None or not size.isdigit() or int(size) != actual:
            self.problem(f"{path}: size is {actual}, {where} says {size}")
        if (checksum or "").lower() != digest.hexdigest():
            self.problem(f"{path}: SHA-256 does not match {where}")
        return path


@dataclass
class _MetsSummary:
    objid: str | None = None
    profile: str | None = None
    package_type: str | None = None
    files: int = 0
    representations: list[str] = field(default_factory=list)
    preservation: list[str] = field(default_factory=list)


_M = f"{{{METS_NS}}}"
_HREF = f"{{{XLINK_NS}}}href"
_PACKAGE_TYPE = f"{{{CSIP_NS}}}OAISPACKAGETYPE"


def _check_mets(check: _Check, mets_path: str) -> _MetsSummary:
    """Stream one METS document: valid against the bundled schemas, and every file it lists present
    with the listed size and SHA-256."""
    summary = _MetsSummary()
    base = posixpath.dirname(mets_path)
    try:
        stream = check.reader.open(mets_path)
    except (KeyError, FileNotFoundError):
        check.problem(f"{mets_path}: missing")
        return summary
    try:
        with stream:
            events = etree.iterparse(
                stream,
                events=("start", "end"),
                tag=(_M + "mets", _M + "metsHdr", _M + "file", _M + "mdRef"),
                schema=mets_schema(),
                no_network=True,
                resolve_entities=False,
                huge_tree=True,
            )
            for event, elem in events:
                if event == "start":
                    if elem.tag == _M + "mets":
                        summary.objid = elem.get("OBJID")
                        summary.profile = elem.get("PROFILE")
                    continue
                if elem.tag == _M + "metsHdr":
                    summary.package_type = elem.get(_PACKAGE_TYPE)
                elif elem.tag == _M + "file":
                    flocat = elem.find(_M + "FLocat")
                    href = flocat.get(_HREF) if flocat is not None else None
                    path = check.listed_file(base, href, elem, mets_path)
                    group = elem.getparent()
                    use = group.get("USE", "") if group is not None else ""
                    if path and use.startswith("Representations") and posixpath.basename(path) == "METS.xml":
                        summary.representations.append(path)
                    summary.files += 1
                    _release(elem)
                elif elem.tag == _M + "mdRef":
                    path = check.listed_file(base, elem.get(_HREF), elem, mets_path)
                    if path and elem.get("MDTYPE") == "PREMIS":
                        summary.preservation.append(path)
    except etree.XMLSyntaxError as exc:
        check.problem(f"{mets_path}: not valid against the bundled METS schemas: {exc}")
    return summary


def _release(elem: etree._Element) -> None:
    """Drop a processed element and its processed siblings, so a long file list never builds up."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _check_premis(check: _Check, path: str) -> None:
    try:
        with check.reader.open(path) as f:
            doc = etree.parse(f, etree.XMLParser(no_network=True, resolve_entities=False))
    except (KeyError, FileNotFoundError):
        return  # already reported as missing
    except etree.XMLSyntaxError as exc:
        check.problem(f"{path}: not well-formed XML: {exc}")
        return
    schema = premis_schema()
    if not schema.validate(doc):
        check.problem(f"{path}: not valid against the bundled PREMIS schema: {schema.error_log.last_error}")


def verify_package(result: PackageResult) -> None:
    """Recompute every size and SHA-256 against the METS documents, validate the METS and PREMIS
    documents against the bundled schemas (offline), and check the package's identity and that
    nothing is in it that no METS lists. Raises PackageInvalid with every problem found."""
    path = result.path
    if not path.exists():
        raise PackageInvalid([f"{path.name}: does not exist"])
    if path.is_dir():
        _verify(result, _DirReader(path))
        return
    problems: list[str] = []
    sha256, size = _hash_file(path)
    if size != result.size:
        problems.append(f"{path.name}: size is {size}, the receipt says {result.size}")
    if sha256 != result.sha256:
        problems.append(f"{path.name}: SHA-256 does not match the receipt")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise PackageInvalid([*problems, f"{path.name}: not a ZIP file ({exc})"]) from None
    with zf:
        _verify(result, _ZipReader(zf), problems)


def _verify(result: PackageResult, reader: _Reader, problems: list[str] | None = None) -> None:
    check = _Check(reader, problems=list(problems or []))
    if not reader.root:
        check.problem(f"{result.name}: a package has exactly one root folder")
        raise PackageInvalid(check.problems)
    if isinstance(reader, _ZipReader) and result.name != f"{reader.root}.zip":
        check.problem(f"{result.name}: the ZIP's root folder is {reader.root!r}")
    root = _check_mets(check, ROOT_METS)
    if root.objid != reader.root:
        check.problem(f"{ROOT_METS}: OBJID {root.objid!r} is not the root folder's name {reader.root!r}")
    if root.profile != SIP_PROFILE:
        check.problem(f"{ROOT_METS}: PROFILE is not the E-ARK SIP profile")
    if root.package_type != "SIP":
        check.problem(f"{ROOT_METS}: metsHdr/@csip:OAISPACKAGETYPE is not SIP")
    if isinstance(reader, _DirReader):
        sha256, _ = _hash_stream(reader, ROOT_METS)
        if sha256 is not None and sha256 != result.sha256:
            check.problem(f"{ROOT_METS}: SHA-256 does not match the receipt")
    if not root.representations:
        check.problem(f"{ROOT_METS}: no representation METS listed")
    records = 0
    for rep_path in root.representations:
        rep = _check_mets(check, rep_path)
        folder = posixpath.basename(posixpath.dirname(rep_path))
        if rep.objid != folder:
            check.problem(f"{rep_path}: OBJID {rep.objid!r} is not the representation folder's name {folder!r}")
        records += rep.files
    if records != result.file_count:
        check.problem(f"the representations list {records} records, the receipt says {result.file_count}")
    for premis in root.preservation:
        _check_premis(check, premis)
    for member in reader.paths():
        if member != ROOT_METS and member not in check.referenced:
            check.problem(f"{member}: in the package but listed in no METS document")
    if check.dropped:
        check.problems.append(f"... and {check.dropped} more problems")
    if check.problems:
        raise PackageInvalid(check.problems)


def _hash_stream(reader: _Reader, path: str) -> tuple[str | None, int]:
    digest = hashlib.sha256()
    size = 0
    try:
        with reader.open(path) as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except (KeyError, FileNotFoundError):
        return None, 0
    return digest.hexdigest(), size
