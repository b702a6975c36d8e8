"""No validation error anywhere in the API echoes a submitted value.

Every operation that takes a body is sent one whose every property (and an unknown one) holds
a canary — a test personnummer and a street address — in the wrong shape; every answer must be
a 4xx problem that names fields but contains no canary.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("demo_catalog")

CANARIES = ("199001032391", "900103-2391", "Kanariegatan 17")
CANARY = f"{CANARIES[0]} {CANARIES[2]}"
SOME_ID = "3f1d2c4b-0000-4000-8000-000000000000"


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _canary_body(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    schema = _resolve(schema, document)
    body: dict[str, Any] = {name: CANARY for name in schema.get("properties", {})}
    body[CANARIES[0]] = CANARY  # an unknown key that is itself a value
    body["_" + CANARIES[0]] = CANARY  # ... and one shaped like an identifier
    return body


async def test_no_validation_problem_echoes_a_submitted_value(client, auth) -> None:
    document = (await client.get("/openapi.json")).json()
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content is None:
                continue
            url = path
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    url = url.replace("{" + parameter["name"] + "}", SOME_ID)
            response = await client.request(
                method.upper(), url, json=_canary_body(content["schema"], document), headers=auth()
            )
            assert 400 <= response.status_code < 500, (method, path, response.status_code)
            assert response.headers["content-type"] == "application/problem+json", (method, path)
            for canary in CANARIES:
                assert canary not in response.text, (method, path)
            checked += 1
    assert checked >= 10
