"""The committed `openapi.yaml` is the API contract: it must match what the app generates."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.openapi_export import openapi_document

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.yaml"


def test_committed_openapi_matches_the_app() -> None:
    committed = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    assert committed == openapi_document(), "openapi.yaml is stale: run `make openapi`"


def test_every_operation_documents_its_problems_and_security() -> None:
    document = openapi_document()
    for path, operations in document["paths"].items():
        if path.startswith(("/health", "/problems")):
            continue
        for method, operation in operations.items():
            assert operation.get("security"), f"{method} {path} has no security requirement"
            assert "401" in operation["responses"], f"{method} {path} does not document 401"
