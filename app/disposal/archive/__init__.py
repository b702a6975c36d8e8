"""Archive packages for transfer to an archive: FGS Paketstruktur 2.0 (E-ARK CSIP 2.1.0 + SIP 2.1.0).

An adapter: it writes files and knows nothing of the database. The disposal job hands it the
records of the files that are transferred (already serialised as JSON) and gets back the
package's name, place and SHA-256 (the archivist's receipt); ``verify_package`` must pass before
the records are removed.
"""

from app.disposal.archive.package import (
    ArchiveRecord,
    PackageInvalid,
    PackageMeta,
    PackageResult,
    verify_package,
    write_package,
)

__all__ = [
    "ArchiveRecord",
    "PackageInvalid",
    "PackageMeta",
    "PackageResult",
    "verify_package",
    "write_package",
]
