"""Archive packages: FGS Paketstruktur 2.0 (E-ARK CSIP 2.1.0 + SIP 2.1.0), written and verified."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from app.disposal.archive import ArchiveRecord, PackageInvalid, PackageResult, verify_package, write_package
from app.disposal.archive._schemas import premis_schema
from tests.archive.support import meta, record, records

NS = {
    "m": "http://www.loc.gov/METS/",
    "csip": "https://DILCIS.eu/XML/METS/CSIPExtensionMETS",
    "xlink": "http://www.w3.org/1999/xlink",
    "premis": "http://www.loc.gov/premis/v3",
}
PACKAGE = "iub-sn-sydvast-2026-12-01-0001"
SIP_PROFILE = "https://earksip.dilcis.eu/profile/E-ARK-SIP.xml"


def _zip_members(result: PackageResult) -> dict[str, bytes]:
    with zipfile.ZipFile(result.path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _folder_members(root: Path) -> dict[str, bytes]:
    return {f"{root.name}/{p.relative_to(root).as_posix()}": p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def package(tmp_path: Path) -> PackageResult:
    return write_package(tmp_path, meta(), records(5))


def test_a_package_is_one_root_folder_named_after_its_objid(package: PackageResult) -> None:
    names = sorted(_zip_members(package))
    assert package.name == f"{PACKAGE}.zip"
    assert package.file_count == 5
    assert {n.split("/", 1)[0] for n in names} == {PACKAGE}
    assert [n.removeprefix(f"{PACKAGE}/") for n in names] == sorted(
        [
            "METS.xml",
            "documentation/iub-archive-package.md",
            "metadata/preservation/premis.xml",
            "representations/rep1/METS.xml",
            *(f"representations/rep1/data/files/file-{n:06d}.json" for n in range(5)),
            "schemas/DILCISExtensionMETS.xsd",
            "schemas/DILCISExtensionSIPMETS.xsd",
            "schemas/mets.xsd",
            "schemas/premis-v3-0.xsd",
            "schemas/xlink.xsd",
        ]
    )


def test_the_receipt_is_the_zip_files_own_sha256_and_size(package: PackageResult) -> None:
    data = package.path.read_bytes()
    assert package.sha256 == hashlib.sha256(data).hexdigest()
    assert package.size == len(data)


def test_root_mets_follows_the_e_ark_sip_profile(package: PackageResult) -> None:
    mets = etree.fromstring(_zip_members(package)[f"{PACKAGE}/METS.xml"])
    assert mets.get("OBJID") == PACKAGE
    assert mets.get("PROFILE") == SIP_PROFILE
    assert mets.get("TYPE") == "Datasets"
    assert mets.get(f"{{{NS['csip']}}}CONTENTINFORMATIONTYPE") == "OTHER"
    assert mets.get(f"{{{NS['csip']}}}OTHERCONTENTINFORMATIONTYPE") == "iub-records-json-1.0"

    header = mets.find("m:metsHdr", NS)
    assert header is not None
    assert header.get("CREATEDATE") == "2026-12-01T09:30:00+00:00"
    assert header.get(f"{{{NS['csip']}}}OAISPACKAGETYPE") == "SIP"
    software = header.find("m:agent[@ROLE='CREATOR'][@TYPE='OTHER'][@OTHERTYPE='SOFTWARE']", NS)
    assert software is not None
    assert software.findtext("m:name", namespaces=NS) == "iub"
    assert software.find("m:note", NS).get(f"{{{NS['csip']}}}NOTETYPE") == "SOFTWARE VERSION"  # type: ignore[union-attr]
    assert software.findtext("m:note", namespaces=NS) == "0.1.0"
    submitter = header.find("m:agent[@ROLE='CREATOR'][@TYPE='ORGANIZATION']", NS)
    assert submitter is not None
    assert submitter.findtext("m:name", namespaces=NS) == "Göteborgs Stad"
    assert submitter.find("m:note", NS).get(f"{{{NS['csip']}}}NOTETYPE") == "IDENTIFICATIONCODE"  # type: ignore[union-attr]
    assert submitter.findtext("m:note", namespaces=NS) == "212000-1355"
    creator = header.find("m:agent[@ROLE='ARCHIVIST']", NS)
    assert creator is not None and creator.findtext("m:name", namespaces=NS) == "Socialnämnden Sydväst"

    uses = [g.get("USE") for g in mets.iterfind("m:fileSec/m:fileGrp", NS)]
    assert uses == ["Documentation", "Schemas", "Representations/rep1"]

    struct_map = mets.find("m:structMap", NS)
    assert struct_map is not None
    assert (struct_map.get("TYPE"), struct_map.get("LABEL")) == ("PHYSICAL", "CSIP")
    labels = [d.get("LABEL") for d in struct_map.iterfind("m:div/m:div", NS)]
    assert labels == ["Metadata", "Documentation", "Schemas", "Representations", "Representations/rep1"]
    mptr = struct_map.find("m:div/m:div[@LABEL='Representations/rep1']/m:mptr", NS)
    assert mptr is not None and mptr.get(f"{{{NS['xlink']}}}href") == "representations/rep1/METS.xml"

    premis_ref = mets.find("m:amdSec/m:digiprovMD/m:mdRef", NS)
    assert premis_ref is not None
    assert premis_ref.get(f"{{{NS['xlink']}}}href") == "metadata/preservation/premis.xml"
    assert premis_ref.get("MDTYPE") == "PREMIS"


def test_every_listed_file_carries_size_created_and_a_true_sha256(package: PackageResult) -> None:
    members = _zip_members(package)
    listed = 0
    for folder in ("", "representations/rep1/"):
        base = f"{PACKAGE}/{folder}"
        mets = etree.fromstring(members[base + "METS.xml"])
        entries = [
            (f, f.find("m:FLocat", NS).get(f"{{{NS['xlink']}}}href"))  # type: ignore[union-attr]
            for f in mets.iterfind(".//m:file", NS)
        ] + [(r, r.get(f"{{{NS['xlink']}}}href")) for r in mets.iterfind(".//m:mdRef", NS)]
        for entry, href in entries:
            content = members[base + str(href)]
            assert entry.get("ID")
            assert re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", entry.get("MIMETYPE", ""))
            assert entry.get("SIZE") == str(len(content))
            assert entry.get("CREATED") == "2026-12-01T09:30:00+00:00"
            assert entry.get("CHECKSUMTYPE") == "SHA-256"
            assert entry.get("CHECKSUM") == hashlib.sha256(content).hexdigest()
            listed += 1
    # documentation, 5 schemas, the representation's METS, PREMIS, and the 5 records
    assert listed == 1 + 5 + 1 + 1 + 5


def test_records_are_stored_verbatim_in_the_representation(package: PackageResult) -> None:
    members = _zip_members(package)
    for n in range(5):
        expected = record(n)
        assert members[f"{PACKAGE}/representations/rep1/data/{expected.path}"] == expected.content
        assert json.loads(expected.content)["file_id"] == f"file-{n:06d}"


def test_premis_records_the_transfer_and_the_software_agent(package: PackageResult) -> None:
    premis = etree.fromstring(_zip_members(package)[f"{PACKAGE}/metadata/preservation/premis.xml"])
    assert premis_schema().validate(premis)
    assert premis.xpath("premis:event/premis:eventType/text()", namespaces=NS) == [
        "transfer",
        "message digest calculation",
    ]
    software = premis.xpath("premis:agent[premis:agentType='software']", namespaces=NS)
    assert len(software) == 1
    assert software[0].findtext("premis:agentName", namespaces=NS) == "iub"
    assert software[0].findtext("premis:agentVersion", namespaces=NS) == "0.1.0"
    detail = premis.xpath("premis:event[1]/premis:eventDetailInformation/premis:eventDetail/text()", namespaces=NS)
    assert "5 records" in detail[0] and "SoL 16 kap. 4 §" in detail[0]


def test_documentation_names_the_legal_basis_and_the_record_shape(package: PackageResult) -> None:
    text = _zip_members(package)[f"{PACKAGE}/documentation/iub-archive-package.md"].decode()
    assert "SoL 16 kap. 4 §" in text and "13 kap. 1 §" in text
    assert "one UTF-8 JSON" in text
    assert "E-ARK CSIP 2.1.0" in text


def test_a_package_verifies(package: PackageResult) -> None:
    verify_package(package)


def test_a_folder_package_holds_the_same_files_as_the_zip(tmp_path: Path, package: PackageResult) -> None:
    folder = write_package(tmp_path / "folder", meta(), records(5), as_zip=False)
    assert folder.name == PACKAGE and folder.path.is_dir()
    assert _folder_members(folder.path) == _zip_members(package)
    assert folder.sha256 == hashlib.sha256((folder.path / "METS.xml").read_bytes()).hexdigest()
    assert folder.size == sum(len(b) for b in _folder_members(folder.path).values())
    verify_package(folder)


def test_the_same_records_make_a_byte_identical_package(tmp_path: Path) -> None:
    first = write_package(tmp_path / "a", meta(), records(20))
    second = write_package(tmp_path / "b", meta(), records(20))
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()


def test_a_json_schema_of_the_records_is_shipped_when_given(tmp_path: Path) -> None:
    schema = b'{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}'
    result = write_package(tmp_path, meta(records_schema=schema), records(1))
    members = _zip_members(result)
    assert members[f"{PACKAGE}/schemas/records.schema.json"] == schema
    assert b"schemas/records.schema.json" in members[f"{PACKAGE}/METS.xml"]
    assert b"records.schema.json" in members[f"{PACKAGE}/documentation/iub-archive-package.md"]
    verify_package(result)


def test_the_preservation_agent_and_agreement_appear_when_the_delivery_agreement_names_them(tmp_path: Path) -> None:
    given = meta(archive_name="Regionarkivet", archive_code="232100-0131", submission_agreement="RA 2026/17")
    result = write_package(tmp_path, given, records(1))
    mets = etree.fromstring(_zip_members(result)[f"{PACKAGE}/METS.xml"])
    assert mets.xpath("m:metsHdr/m:agent[@ROLE='PRESERVATION']/m:name/text()", namespaces=NS) == ["Regionarkivet"]
    assert mets.xpath("m:metsHdr/m:altRecordID[@TYPE='SUBMISSIONAGREEMENT']/text()", namespaces=NS) == ["RA 2026/17"]
    verify_package(result)


# --- verify_package finds what is wrong -----------------------------------------------------------


def _rewrite_zip(result: PackageResult, change: dict[str, bytes | None]) -> None:
    """Rewrite the package's ZIP with some members replaced (bytes), removed (None) or added."""
    members = _zip_members(result)
    for name, content in change.items():
        if content is None:
            members.pop(name)
        else:
            members[name] = content
    with zipfile.ZipFile(result.path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)


def _problems(result: PackageResult) -> list[str]:
    with pytest.raises(PackageInvalid) as caught:
        verify_package(result)
    return caught.value.problems


def test_a_tampered_record_is_detected(package: PackageResult) -> None:
    name = f"{PACKAGE}/representations/rep1/data/files/file-000003.json"
    _rewrite_zip(package, {name: record(3).content.replace(b"Person 3", b"Person 4")})
    problems = _problems(package)
    assert "representations/rep1/data/files/file-000003.json: SHA-256 does not match representations/rep1/METS.xml" in (
        problems
    )
    assert any("does not match the receipt" in p for p in problems)


def test_a_tampered_record_in_a_folder_package_is_detected(tmp_path: Path) -> None:
    result = write_package(tmp_path, meta(), records(3), as_zip=False)
    target = result.path / "representations/rep1/data/files/file-000001.json"
    target.write_bytes(target.read_bytes() + b" ")
    problems = _problems(result)
    assert any(p.startswith("representations/rep1/data/files/file-000001.json: size is") for p in problems)
    assert any("file-000001.json: SHA-256 does not match" in p for p in problems)


def test_a_missing_record_and_an_unlisted_file_are_detected(package: PackageResult) -> None:
    _rewrite_zip(
        package,
        {
            f"{PACKAGE}/representations/rep1/data/files/file-000000.json": None,
            f"{PACKAGE}/representations/rep1/data/files/extra.json": b"{}",
        },
    )
    problems = _problems(package)
    assert "representations/rep1/data/files/file-000000.json: listed in representations/rep1/METS.xml but missing" in (
        problems
    )
    assert "representations/rep1/data/files/extra.json: in the package but listed in no METS document" in problems


def test_a_mets_document_that_breaks_the_schema_is_detected(tmp_path: Path) -> None:
    result = write_package(tmp_path, meta(), records(2), as_zip=False)
    mets = result.path / "METS.xml"
    mets.write_bytes(mets.read_bytes().replace(b"<amdSec>", b"<amdSec><unknownElement/>"))
    problems = _problems(result)
    assert any(p.startswith("METS.xml: not valid against the bundled METS schemas") for p in problems)
    assert "METS.xml: SHA-256 does not match the receipt" in problems


def test_a_changed_representation_mets_is_detected_through_the_root_mets(package: PackageResult) -> None:
    name = f"{PACKAGE}/representations/rep1/METS.xml"
    original = _zip_members(package)[name]
    _rewrite_zip(package, {name: original.replace(b'SIZE="', b'SIZE="1', 1)})
    problems = _problems(package)
    assert "representations/rep1/METS.xml: SHA-256 does not match METS.xml" in problems
    assert any("size is" in p and "representations/rep1/METS.xml says 1" in p for p in problems)


def test_a_package_that_is_not_there_is_invalid(tmp_path: Path, package: PackageResult) -> None:
    package.path.unlink()
    assert _problems(package) == [f"{package.name}: does not exist"]


# --- write_package refuses what it cannot write safely ------------------------------------------------


@pytest.mark.parametrize("path", ["../escape.json", "/abs.json", "a//b.json", "a\\b.json", ".hidden", "", "a/./b"])
@pytest.mark.parametrize("as_zip", [True, False])
def test_an_unsafe_record_path_is_refused_and_nothing_is_left(tmp_path: Path, path: str, as_zip: bool) -> None:
    with pytest.raises(ValueError, match="not a safe relative path"):
        write_package(tmp_path, meta(), [record(0), ArchiveRecord(path, b"{}")], as_zip=as_zip)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("as_zip", [True, False])
def test_two_records_with_one_path_are_refused(tmp_path: Path, as_zip: bool) -> None:
    with pytest.raises(ValueError, match="same path"):
        write_package(tmp_path, meta(), [record(0), record(0)], as_zip=as_zip)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_package_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one record"):
        write_package(tmp_path, meta(), [])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"package_id": "../up"}, "package_id"),
        ({"package_id": ""}, "package_id"),
        ({"created_at": meta().created_at.replace(tzinfo=None)}, "time zone"),
        ({"submitting_organisation_code": " "}, "submitting_organisation_code"),
    ],
)
def test_incomplete_metadata_is_refused(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_package(tmp_path, meta(**changes), records(1))


def test_an_existing_package_is_never_overwritten(tmp_path: Path, package: PackageResult) -> None:
    before = package.path.read_bytes()
    with pytest.raises(FileExistsError):
        write_package(package.path.parent, meta(), records(1))
    assert package.path.read_bytes() == before


def test_a_half_written_package_left_by_a_crash_is_replaced(tmp_path: Path) -> None:
    (tmp_path / f"{PACKAGE}.zip.partial").write_bytes(b"left by a crash")
    (tmp_path / f"{PACKAGE}.partial").mkdir()
    zipped = write_package(tmp_path, meta(), records(1))
    folder = write_package(tmp_path, meta(), records(1), as_zip=False)
    verify_package(zipped)
    verify_package(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == [PACKAGE, f"{PACKAGE}.zip"]


def test_a_failing_record_source_leaves_nothing(tmp_path: Path) -> None:
    def source():  # type: ignore[no-untyped-def]
        yield record(0)
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        write_package(tmp_path, meta(), source())
    assert list(tmp_path.iterdir()) == []


_SEGMENT = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    contents=st.dictionaries(
        st.lists(_SEGMENT, min_size=1, max_size=3).map("/".join), st.binary(max_size=300), min_size=1, max_size=8
    ),
    as_zip=st.booleans(),
)
def test_any_safe_records_round_trip_and_verify(tmp_path: Path, contents: dict[str, bytes], as_zip: bool) -> None:
    # A path may not also be a folder of another path.
    paths = sorted(contents)
    if any(b.startswith(a + "/") for a in paths for b in paths):
        return
    target = tmp_path / f"run-{hashlib.sha256(repr(sorted(contents.items())).encode()).hexdigest()[:12]}"
    result = write_package(target, meta(), [ArchiveRecord(p, c) for p, c in contents.items()], as_zip=as_zip)
    verify_package(result)
    members = _zip_members(result) if as_zip else _folder_members(result.path)
    for path, content in contents.items():
        assert members[f"{PACKAGE}/representations/rep1/data/{path}"] == content
    shutil.rmtree(target)


def test_a_second_writer_of_the_same_package_is_refused_while_the_first_writes(tmp_path: Path) -> None:
    def source():  # type: ignore[no-untyped-def]
        yield record(0)
        # Meanwhile another worker, given the same batch, tries to write the same package.
        with pytest.raises(FileExistsError, match="being written by another process"):
            write_package(tmp_path, meta(), records(1))
        yield record(1)

    result = write_package(tmp_path, meta(), source())
    verify_package(result)
    assert result.file_count == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{PACKAGE}.zip"]
