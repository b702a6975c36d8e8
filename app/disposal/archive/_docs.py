"""The documentation file every package carries (documentation/iub-archive-package.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.disposal.archive._xml import (
    CONTENT_CATEGORY,
    OTHER_CONTENT_INFORMATION_TYPE,
    REPRESENTATION,
    SIP_PROFILE,
    timestamp,
)

if TYPE_CHECKING:
    from app.disposal.archive.package import PackageMeta

DOCUMENTATION_PATH = "documentation/iub-archive-package.md"

DEFAULT_RECORDS_DESCRIPTION = """\
Each data file is one person's file (personakt) at the committee, serialised as one UTF-8 JSON
object: everything the committee's register held about the person when the file was
transferred — the person (personnummer or samordningsnummer, names, contact data, protected
identity marker), and every identified case of the person with its intervention, unit, dates,
status, closing reason, journal notes, plan and sessions. Dates are ISO 8601 (`YYYY-MM-DD`),
timestamps ISO 8601 with offset; codes are the service's stable codes (see the service's
OpenAPI contract, delivered with the service). A JSON Schema of the records, when one is
supplied, is in `schemas/`.
"""


def render_documentation(meta: PackageMeta, *, has_records_schema: bool) -> bytes:
    schema_line = (
        "- `schemas/records.schema.json` — JSON Schema (draft 2020-12) of one data file\n" if has_records_schema else ""
    )
    text = f"""\
# Archive package {meta.package_id}

{meta.label}

Created {timestamp(meta)} by {meta.software_name} {meta.software_version} for
{meta.submitting_organisation} ({meta.submitting_organisation_code}). Archival creator:
{meta.committee_name} ({meta.committee_id}).

## What the records are

Personal files (personakter) of the social committee's register of interventions given without
an individual needs assessment (socialtjänstlagen 2025:400, SoL 11 kap. 5 §). Such a file is due
for disposal five years after its last entry (SoL 16 kap. 1 §). The files in this package are
those the committee must keep for research instead: SoL 16 kap. 4 § with
socialtjänstförordningen (2025:468) 13 kap. 1 § exempts from disposal every file in Göteborgs
kommun and in the municipalities of Östergötlands, Gotlands and Västernorrlands län, and
elsewhere the files of persons born on the 5th, 15th or 25th day of a month (for a
samordningsnummer, the day minus 60). Kept files are transferred to the archive and then
removed from the service; the others are destroyed and are not in any package.

## Format

The package follows FGS Paketstruktur 2.0, that is E-ARK CSIP 2.1.0 with the E-ARK SIP 2.1.0
profile (`{SIP_PROFILE}`).

- `METS.xml` — the package: agents, the file groups with size and SHA-256 of every file, the
  structural map
- `metadata/preservation/premis.xml` — PREMIS 3.0: the transfer and fixity events and their agents
- `representations/{REPRESENTATION}/METS.xml` — the representation: every data file with its size and SHA-256
- `representations/{REPRESENTATION}/data/` — the records, one JSON document per file
- `schemas/` — the XML schemas of the METS and PREMIS documents (METS 1.12, XLink, PREMIS 3.0,
  the E-ARK CSIP and SIP extensions)
{schema_line}- `documentation/` — this file

Content category (`mets/@TYPE`): `{CONTENT_CATEGORY}`. Content information type:
`OTHER`, named `{OTHER_CONTENT_INFORMATION_TYPE}` — the JSON format below, not CITS ERMS.

## The records

{meta.records_description.strip()}

## Checking the package

Every file is listed in a METS document with its SHA-256 (`CHECKSUM`, `CHECKSUMTYPE="SHA-256"`)
and size in bytes; `sha256sum` reproduces the values. Any E-ARK validator reads the METS
documents.
"""
    return text.encode()
