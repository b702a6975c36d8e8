"""The committed `openapi.yaml` is the API contract: it must match what the app generates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
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


def test_every_operation_names_the_scope_it_requires_and_has_a_camel_case_id() -> None:
    from app.core.auth import SCOPES

    document = openapi_document()
    ids = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            ids.append(operation["operationId"])
            assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", operation["operationId"]), operation["operationId"]
            assert 0 < len(operation["summary"]) <= 60, (method, path)
            if path.startswith(("/health", "/problems")):
                assert "security" not in operation
                continue
            [requirement] = operation["security"]
            [scope] = requirement["bearer"]
            assert scope in SCOPES, (method, path)
            assert operation["description"].endswith(f"Requires scope `{scope}`."), (method, path)
    assert len(ids) == len(set(ids))
    assert "iub token --all-scopes" in document["components"]["securitySchemes"]["bearer"]["description"]


@pytest.mark.usefixtures("db")
async def test_the_root_redirects_to_swagger_ui(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/")
    assert response.status_code == 307
    assert response.headers["location"] == "/docs"
