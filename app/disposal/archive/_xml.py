"""METS and PREMIS documents of a package, written incrementally (lxml's ``xmlfile``).

Nothing here holds more than one file's entry at a time: the representation's file list is read
from the writer's spool as it is written out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

from app.disposal.archive._schemas import CSIP_NS, METS_NS, PREMIS_NS, SIP_NS, XLINK_NS, XSI_NS, schema_location

if TYPE_CHECKING:
    from lxml.etree._serializer import _IncrementalFileWriter
    from typing_extensions import Writer

    from app.disposal.archive.package import PackageMeta

SIP_PROFILE = "https://earksip.dilcis.eu/profile/E-ARK-SIP.xml"
# mets/@TYPE from the CSIP content-category vocabulary: the records are structured data exported
# from a database, one JSON document per person's file.
CONTENT_CATEGORY = "Datasets"
# Not CITS ERMS (that is an XML representation of its own): our own JSON format, named here and
# described in the package's documentation file.
CONTENT_INFORMATION_TYPE = "OTHER"
OTHER_CONTENT_INFORMATION_TYPE = "iub-records-json-1.0"
REPRESENTATION = "rep1"

M = f"{{{METS_NS}}}"
CSIP = f"{{{CSIP_NS}}}"
XLINK = f"{{{XLINK_NS}}}"
XSI = f"{{{XSI_NS}}}"
P = f"{{{PREMIS_NS}}}"

METS_NSMAP: dict[str | None, str] = {None: METS_NS, "csip": CSIP_NS, "sip": SIP_NS, "xlink": XLINK_NS, "xsi": XSI_NS}
PREMIS_NSMAP: dict[str | None, str] = {"premis": PREMIS_NS, "xsi": XSI_NS}


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file as METS records it; ``href`` is relative to the METS document that lists it."""

    id: str
    href: str
    mimetype: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class FileGroup:
    id: str
    use: str
    files: tuple[FileEntry, ...]
    content_type: bool = False  # a representation group states its content information type


def timestamp(meta: PackageMeta) -> str:
    return meta.created_at.isoformat(timespec="seconds")


class _Writer:
    """Indents as it writes, so that an archivist can read the documents in any text editor."""

    def __init__(self, xf: _IncrementalFileWriter) -> None:
        self.xf = xf
        self.depth = 0

    def _indent(self) -> None:
        if self.depth:  # no text outside the root element
            self.xf.write("\n" + "  " * self.depth)

    @contextmanager
    def element(
        self, tag: str, attrib: dict[str, str] | None = None, nsmap: dict[str | None, str] | None = None
    ) -> Iterator[None]:
        self._indent()
        self.depth += 1
        with self.xf.element(tag, attrib or {}, nsmap=nsmap):
            yield
            self.depth -= 1
            self._indent()

    def leaf(self, tag: str, attrib: dict[str, str] | None = None, text: str | None = None) -> None:
        self._indent()
        with self.xf.element(tag, attrib or {}):
            if text is not None:
                self.xf.write(text)


def _root_attrib(meta: PackageMeta, objid: str, schema_prefix: str) -> dict[str, str]:
    return {
        XSI + "schemaLocation": schema_location(schema_prefix),
        "OBJID": objid,
        "LABEL": meta.label,
        "TYPE": CONTENT_CATEGORY,
        CSIP + "CONTENTINFORMATIONTYPE": CONTENT_INFORMATION_TYPE,
        CSIP + "OTHERCONTENTINFORMATIONTYPE": OTHER_CONTENT_INFORMATION_TYPE,
        "PROFILE": SIP_PROFILE,
    }


def _header(w: _Writer, meta: PackageMeta) -> None:
    created = timestamp(meta)
    attrib = {"CREATEDATE": created, "LASTMODDATE": created, "RECORDSTATUS": "NEW", CSIP + "OAISPACKAGETYPE": "SIP"}
    with w.element(M + "metsHdr", attrib):
        # CSIP10-16: the software that created the package.
        with w.element(M + "agent", {"ROLE": "CREATOR", "TYPE": "OTHER", "OTHERTYPE": "SOFTWARE"}):
            w.leaf(M + "name", text=meta.software_name)
            w.leaf(M + "note", {CSIP + "NOTETYPE": "SOFTWARE VERSION"}, meta.software_version)
        # SIP9-14: the archival creator (arkivbildare), the committee whose register the files are.
        with w.element(M + "agent", {"ROLE": "ARCHIVIST", "TYPE": "ORGANIZATION"}):
            w.leaf(M + "name", text=meta.committee_name)
            w.leaf(M + "note", {CSIP + "NOTETYPE": "IDENTIFICATIONCODE"}, meta.committee_id)
        # SIP15-20: the submitting organisation.
        with w.element(M + "agent", {"ROLE": "CREATOR", "TYPE": "ORGANIZATION"}):
            w.leaf(M + "name", text=meta.submitting_organisation)
            w.leaf(M + "note", {CSIP + "NOTETYPE": "IDENTIFICATIONCODE"}, meta.submitting_organisation_code)
        # SIP26-31: the archive that will preserve the package, when known.
        if meta.archive_name:
            with w.element(M + "agent", {"ROLE": "PRESERVATION", "TYPE": "ORGANIZATION"}):
                w.leaf(M + "name", text=meta.archive_name)
                if meta.archive_code:
                    w.leaf(M + "note", {CSIP + "NOTETYPE": "IDENTIFICATIONCODE"}, meta.archive_code)
        if meta.submission_agreement:
            w.leaf(M + "altRecordID", {"TYPE": "SUBMISSIONAGREEMENT"}, meta.submission_agreement)
        if meta.reference_code:
            w.leaf(M + "altRecordID", {"TYPE": "REFERENCECODE"}, meta.reference_code)


def _file(w: _Writer, entry: FileEntry, created: str) -> None:
    attrib = {
        "ID": entry.id,
        "MIMETYPE": entry.mimetype,
        "SIZE": str(entry.size),
        "CREATED": created,
        "CHECKSUM": entry.sha256,
        "CHECKSUMTYPE": "SHA-256",
    }
    with w.element(M + "file", attrib):
        w.leaf(M + "FLocat", {"LOCTYPE": "URL", XLINK + "type": "simple", XLINK + "href": entry.href})


def _group_attrib(group_id: str, use: str, content_type: bool) -> dict[str, str]:
    attrib = {"ID": group_id, "USE": use}
    if content_type:
        attrib[CSIP + "CONTENTINFORMATIONTYPE"] = CONTENT_INFORMATION_TYPE
        attrib[CSIP + "OTHERCONTENTINFORMATIONTYPE"] = OTHER_CONTENT_INFORMATION_TYPE
    return attrib


def write_root_mets(out: Writer[bytes], meta: PackageMeta, premis: FileEntry, groups: Iterable[FileGroup]) -> None:
    """The package's METS.xml: header, PREMIS reference, the file groups, the CSIP structural map."""
    created = timestamp(meta)
    groups = tuple(groups)
    rep_group = next(g for g in groups if g.use.startswith("Representations/"))
    rep_mets = rep_group.files[0]
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration(standalone=True)
        w = _Writer(xf)
        with w.element(M + "mets", _root_attrib(meta, meta.package_id, "schemas/"), nsmap=METS_NSMAP):
            _header(w, meta)
            digiprov = {"ID": "digiprov-premis", "STATUS": "CURRENT", "CREATED": created}
            with w.element(M + "amdSec"), w.element(M + "digiprovMD", digiprov):
                w.leaf(
                    M + "mdRef",
                    {
                        "ID": premis.id,
                        "LOCTYPE": "URL",
                        XLINK + "type": "simple",
                        XLINK + "href": premis.href,
                        "MDTYPE": "PREMIS",
                        "MDTYPEVERSION": "3.0",
                        "MIMETYPE": premis.mimetype,
                        "SIZE": str(premis.size),
                        "CREATED": created,
                        "CHECKSUM": premis.sha256,
                        "CHECKSUMTYPE": "SHA-256",
                    },
                )
            with w.element(M + "fileSec", {"ID": "filesec"}):
                for group in groups:
                    with w.element(M + "fileGrp", _group_attrib(group.id, group.use, group.content_type)):
                        for entry in group.files:
                            _file(w, entry, created)
            struct_map = {"ID": "structmap-csip", "TYPE": "PHYSICAL", "LABEL": "CSIP"}
            with (
                w.element(M + "structMap", struct_map),
                w.element(M + "div", {"ID": "div-package", "LABEL": meta.package_id}),
            ):
                w.leaf(M + "div", {"ID": "div-metadata", "LABEL": "Metadata", "ADMID": "digiprov-premis"})
                for group in groups:
                    if group.use in ("Schemas", "Documentation"):
                        with w.element(M + "div", {"ID": f"div-{group.use.lower()}", "LABEL": group.use}):
                            w.leaf(M + "fptr", {"FILEID": group.id})
                # CSIP103/104: the content division, pointing at the representations' file group.
                with w.element(M + "div", {"ID": "div-representations", "LABEL": "Representations"}):
                    w.leaf(M + "fptr", {"FILEID": rep_group.id})
                # CSIP105-110: one division per representation, pointing at its METS document.
                with w.element(M + "div", {"ID": f"div-{REPRESENTATION}", "LABEL": rep_group.use}):
                    w.leaf(
                        M + "mptr",
                        {
                            "LOCTYPE": "URL",
                            XLINK + "type": "simple",
                            XLINK + "href": rep_mets.href,
                            XLINK + "title": rep_group.id,
                        },
                    )


def write_representation_mets(out: Writer[bytes], meta: PackageMeta, files: Iterable[FileEntry]) -> None:
    """The representation's METS.xml: every record with its size and SHA-256, streamed from ``files``."""
    created = timestamp(meta)
    group_id = f"{REPRESENTATION}-data"
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration(standalone=True)
        w = _Writer(xf)
        with w.element(M + "mets", _root_attrib(meta, REPRESENTATION, "../../schemas/"), nsmap=METS_NSMAP):
            _header(w, meta)
            file_sec = {"ID": f"{REPRESENTATION}-filesec"}
            with w.element(M + "fileSec", file_sec), w.element(M + "fileGrp", _group_attrib(group_id, "Data", True)):
                for entry in files:
                    _file(w, entry, created)
            struct_map = {"ID": f"{REPRESENTATION}-structmap", "TYPE": "PHYSICAL", "LABEL": "CSIP"}
            with (
                w.element(M + "structMap", struct_map),
                w.element(M + "div", {"ID": f"{REPRESENTATION}-div", "LABEL": REPRESENTATION}),
                w.element(M + "div", {"ID": f"{REPRESENTATION}-div-data", "LABEL": "Data"}),
            ):
                w.leaf(M + "fptr", {"FILEID": group_id})


def _identifier(w: _Writer, kind: str, value: str) -> None:
    with w.element(P + f"{kind}Identifier"):
        w.leaf(P + f"{kind}IdentifierType", text="local")
        w.leaf(P + f"{kind}IdentifierValue", text=value)


def _linking(w: _Writer, kind: str, value: str, role: str | None = None) -> None:
    with w.element(P + f"linking{kind}Identifier"):
        w.leaf(P + f"linking{kind}IdentifierType", text="local")
        w.leaf(P + f"linking{kind}IdentifierValue", text=value)
        if role:
            w.leaf(P + f"linking{kind}Role", text=role)


_EVENT_TYPES = "http://id.loc.gov/vocabulary/preservation/eventType"
_AGENT_ROLES = "http://id.loc.gov/vocabulary/preservation/eventRelatedAgentRole"


def write_premis(out: Writer[bytes], meta: PackageMeta, record_count: int, byte_count: int) -> None:
    """Package-level preservation metadata: the representation, the transfer and fixity events, the agents."""
    created = timestamp(meta)
    software = f"{meta.software_name}-{meta.software_version}"
    committee = f"committee:{meta.committee_id}"
    organisation = f"organisation:{meta.submitting_organisation_code}"
    events = (
        (
            f"{meta.package_id}-transfer",
            "transfer",
            "tra",
            f"{record_count} records ({byte_count} bytes) of {meta.committee_name} packaged for transfer to the "
            "archive (SoL 16 kap. 4 §, SoF 13 kap. 1 §)",
        ),
        (
            f"{meta.package_id}-fixity",
            "message digest calculation",
            "mes",
            f"SHA-256 of each of the {record_count} records computed while it was written; recorded in "
            f"representations/{REPRESENTATION}/METS.xml",
        ),
    )
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration(standalone=True)
        w = _Writer(xf)
        root = {XSI + "schemaLocation": f"{PREMIS_NS} ../../schemas/premis-v3-0.xsd", "version": "3.0"}
        with w.element(P + "premis", root, nsmap=PREMIS_NSMAP):
            with w.element(P + "object", {XSI + "type": "premis:representation"}):
                _identifier(w, "object", REPRESENTATION)
                for event_id, *_ in events:
                    _linking(w, "Event", event_id)
            for event_id, label, code, detail in events:
                with w.element(P + "event"):
                    _identifier(w, "event", event_id)
                    w.leaf(
                        P + "eventType",
                        {"authority": "eventType", "authorityURI": _EVENT_TYPES, "valueURI": f"{_EVENT_TYPES}/{code}"},
                        label,
                    )
                    w.leaf(P + "eventDateTime", text=created)
                    with w.element(P + "eventDetailInformation"):
                        w.leaf(P + "eventDetail", text=detail)
                    with w.element(P + "eventOutcomeInformation"):
                        w.leaf(P + "eventOutcome", text="success")
                    _linking(w, "Agent", software, "executing program")
                    _linking(w, "Agent", organisation, "implementer")
                    if code == "tra":
                        _linking(w, "Agent", committee, "authorizer")
                    _linking(w, "Object", REPRESENTATION)
            agents = (
                (software, meta.software_name, "software", meta.software_version),
                (organisation, meta.submitting_organisation, "organization", None),
                (committee, meta.committee_name, "organization", None),
            )
            for agent_id, name, agent_type, version in agents:
                with w.element(P + "agent"):
                    _identifier(w, "agent", agent_id)
                    w.leaf(P + "agentName", text=name)
                    w.leaf(P + "agentType", text=agent_type)
                    if version:
                        w.leaf(P + "agentVersion", text=version)
