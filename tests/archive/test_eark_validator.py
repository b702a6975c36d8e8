"""A package as the E-ARK validator sees it (eark-validator, in .venv-eark: `make eark`).

The validator reports a package's structure, its METS schema validity and its CSIP/SIP
Schematron rules. On our packages it reports structure and schema valid, and Schematron errors
under exactly five rules that it implements against the specification's own text (see the README,
"Archive packages"). The test asserts that list exactly: any other error, or one of these
disappearing in a new validator version, fails it.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.disposal.archive import PackageResult, write_package
from tests.archive.support import meta, records

ROOT = Path(__file__).resolve().parents[2]
EARK_PYTHON = ROOT / ".venv-eark" / "bin" / "python"
OFFLINE_RUNNER = Path(__file__).with_name("eark_offline.py")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Rule -> how many times eark-validator 1.1.3 reports it on a package of ours, though the package
# follows the specification there (README, "Archive packages: what the E-ARK validator says").
VALIDATOR_DEFECTS = Counter(
    {
        "CSIP12": 1,  # the software agent's TYPE rule applied to the submitting organisation (SIP15-17)
        "CSIP13": 1,  # the software agent's OTHERTYPE rule, likewise
        "CSIP16": 1,  # the software agent's note type, likewise
        "CSIP63": 2,  # fails every file group without csip:CONTENTINFORMATIONTYPE="OTHER" (Documentation, Schemas)
        "SIP14": 2,  # un-namespaced @NOTETYPE, and applied to the software agent's SOFTWARE VERSION note too
    }
)


def _validate(package: Path) -> dict[str, Any]:
    if not EARK_PYTHON.exists():
        reason = "the E-ARK validator is not installed (.venv-eark): run `make eark`"
        if IN_CI:
            pytest.fail(reason + " — CI requires it")
        pytest.skip(reason)
    completed = subprocess.run(
        [str(EARK_PYTHON), str(OFFLINE_RUNNER), str(package)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    reports = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == 1, completed.stdout + completed.stderr
    report: dict[str, Any] = json.loads(reports[0])
    return report


def _errors(report: dict[str, Any]) -> Counter[str]:
    messages = report["metadata"]["schematron_results"]["messages"]
    return Counter(m["rule_id"] for m in messages if m["severity"] == "Error")


@pytest.fixture(scope="module")
def zipped(tmp_path_factory: pytest.TempPathFactory) -> PackageResult:
    return write_package(tmp_path_factory.mktemp("eark"), meta(), records(25))


def test_the_e_ark_validator_finds_the_zip_package_well_formed_and_schema_valid(zipped: PackageResult) -> None:
    report = _validate(zipped.path)
    assert report["structure"]["status"] == "WellFormed"
    structure_errors = [m for m in report["structure"]["messages"] if m["severity"] == "Error"]
    assert structure_errors == []
    assert report["metadata"]["schema_results"]["status"] == "VALID"
    assert _errors(report) == VALIDATOR_DEFECTS
    assert report["package"]["mets"]["root"]["objid"] == "iub-sn-sydvast-2026-12-01-0001"
    assert report["package"]["mets"]["root"]["profile"] == "https://earksip.dilcis.eu/profile/E-ARK-SIP.xml"


def test_the_e_ark_validator_reads_the_folder_package_the_same_way(tmp_path: Path) -> None:
    folder = write_package(tmp_path, meta(), records(3), as_zip=False)
    report = _validate(folder.path)
    assert report["structure"]["status"] == "WellFormed"
    assert report["metadata"]["schema_results"]["status"] == "VALID"
    assert _errors(report) == VALIDATOR_DEFECTS


def test_the_e_ark_validator_does_catch_a_real_breach(tmp_path: Path) -> None:
    # The control: a package whose PROFILE is not the SIP profile gets SIP2 on top of the known list.
    folder = write_package(tmp_path, meta(), records(1), as_zip=False)
    mets = folder.path / "METS.xml"
    mets.write_bytes(mets.read_bytes().replace(b"profile/E-ARK-SIP.xml", b"profile/E-ARK-CSIP.xml", 1))
    errors = _errors(_validate(folder.path))
    assert errors - VALIDATOR_DEFECTS == Counter({"SIP2": 1})


def test_the_offline_runner_refuses_the_network() -> None:
    if not EARK_PYTHON.exists():
        pytest.skip("the E-ARK validator is not installed (.venv-eark): run `make eark`")
    probe = (
        "import sys, urllib.request; sys.path.insert(0, sys.argv[1]); import eark_offline;"
        "urllib.request.urlopen = eark_offline._offline_urlopen;"
        "\ntry:\n urllib.request.urlopen('https://example.org/')\nexcept OSError as e:\n print('refused', e)"
    )
    completed = subprocess.run(
        [str(EARK_PYTHON), "-c", probe, str(OFFLINE_RUNNER.parent)], capture_output=True, text=True, check=True
    )
    assert completed.stdout.startswith("refused offline")
