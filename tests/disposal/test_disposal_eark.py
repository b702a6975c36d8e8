"""A package written by a disposal run, as the E-ARK validator sees it (`make eark`)."""

from __future__ import annotations

from pathlib import Path

from app.core.db import Database
from tests.archive.test_eark_validator import VALIDATOR_DEFECTS, _errors, _validate
from tests.conftest import make_settings
from tests.disposal import scenario as sc


async def test_a_disposal_package_passes_the_e_ark_validator(db: Database, database_url: str, tmp_path: Path) -> None:
    await sc.build(db, per_committee=20, seed=13, committees=("sn-goteborg",))
    await sc.propose_and_approve(db, "sn-goteborg")
    settings = make_settings(database_url, archive_dir=tmp_path)
    [report] = await sc.runner(db, settings, batch_size=500).run(as_of=sc.AS_OF)
    [package] = report.packages
    validated = _validate(tmp_path / package)
    assert validated["structure"]["status"] == "WellFormed"
    assert validated["metadata"]["schema_results"]["status"] == "VALID"
    assert _errors(validated) == VALIDATOR_DEFECTS  # the validator's own defects only (README)
    assert validated["package"]["mets"]["root"]["objid"] == package.removesuffix(".zip")
