"""Every operation's documented examples succeed as they stand, as Swagger UI's "Try it out" sends them.

Against the demo catalog and a token with every scope, each operation is sent each of its request
examples (or none, without a body) with every parameter that has an example. The only values
replaced are ids in the path that the service hands out and no example can know (a case, a
person, an outbox event): they come from the answers of the examples run before, as a person
trying the API would paste them. Every answer must be 2xx. The operations run in the order a case
runs; an operation missing from that order fails the test, so a new operation needs examples.

Also: every response example of the document validates against its schema.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from app.core.docs import RESPONSE_EXAMPLES_FILE
from app.core.examples import DEMO_DECISION
from app.kit.clock import today
from app.main import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.usefixtures("demo_catalog")

# Operation ids in the order a developer would try them. `closeCase` comes after every other entry
# on a case; the unit's process and a new decision come last, as they change what follows.
ORDER = [
    "getLiveness",
    "getReadiness",
    "listProblemTypes",
    "getProblemType",
    "checkEligibility",
    "searchEligibility",
    "listCommittees",
    "putCommittee",
    "getCommittee",
    "listInterventions",
    "getIntervention",
    "listDecisions",
    "getDecision",
    "openCase",
    "listCases",
    "getCase",
    "addNote",
    "setPlan",
    "listPlanVersions",
    "recordSession",
    "addCodedEntry",
    "getPerson",
    "updatePerson",
    "queryOccurrence",
    "listAuditRecords",
    "recordGroupMeeting",
    "listGroupMeetings",
    "listStatsTables",
    "getStatsTable",
    "getStatsReport",
    "listOutboxEvents",
    "retryOutboxEvent",
    "skipOutboxEvent",
    "setDisposalHold",
    "listDisposalHolds",
    "releaseDisposalHold",
    "proposeDisposalList",
    "listDisposalLists",
    "getDisposalList",
    "refreshDisposalList",
    "approveDisposalList",
    "countDisposalDue",
    "listDisposalRuns",
    "getDisposalRun",
    "closeCase",
    "getUnitProcess",
    "setUnitProcess",
    "recordDecision",
]

# Ids the service hands out (in the path, or a hold's `case_id`): taken from earlier answers.
SERVICE_IDS = {"case_id", "person_id", "event_id", "hold_id", "list_id"}
# With this variable set, the SQLite run writes the first example's answer of every operation (ids and
# moments fixed) to app/core/response_examples.json: the response examples of the document.
# Then `make openapi`. Needed when a response's shape changes (the schema test below says so).
CAPTURE = "IUB_CAPTURE_RESPONSE_EXAMPLES"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT")
# Exceptions, as few as can be: a run exists only once `iub disposal run` has executed an approved list.
NOT_FOUND_EXPECTED = {"getDisposalRun"}
# Four eyes: a disposal list is approved by another subject than the one who proposed it.
OTHER_SUBJECT = {"approveDisposalList"}


def openapi_document() -> dict[str, Any]:
    # With the tests' settings (JSON logs): another app's settings would reconfigure the logging.
    return create_app(make_settings("sqlite+aiosqlite:///:memory:")).openapi()


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    found = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            found[operation["operationId"]] = (method, path, operation)
    return found


def test_every_operation_is_tried() -> None:
    documented = set(_operations(openapi_document()))
    assert documented == set(ORDER), (
        f"operations without a place in ORDER: {sorted(documented - set(ORDER))}; gone: "
        f"{sorted(set(ORDER) - documented)}. A new operation needs its id and summary (app/core/docs.py "
        "OPERATIONS), examples that succeed (app/core/examples.py) and its place in ORDER here."
    )


def test_every_request_body_has_an_example() -> None:
    for op_id, (_, _, operation) in _operations(openapi_document()).items():
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            assert body.get("examples"), f"{op_id} has no request example"


def test_every_response_example_matches_its_schema() -> None:
    document = openapi_document()
    for op_id, (_, _, operation) in _operations(document).items():
        for status, response in operation["responses"].items():
            content = response.get("content", {}).get("application/json")
            if content is None or "example" not in content:
                continue
            # A root that holds the components the schema's `$ref`s point to.
            root = {**content["schema"], "components": document["components"]}
            errors = list(jsonschema.Draft202012Validator(root).iter_errors(content["example"]))
            assert not errors, (
                f"the response example of {op_id} {status} no longer matches its schema: capture the examples "
                f"again ({CAPTURE}=1 pytest {__file__} -k 'succeeds and sqlite'; make openapi): {errors[0].message}"
            )
            assert content["example"] != "string", f"{op_id} {status}"


async def test_every_example_succeeds_against_the_demo_catalog(
    app: FastAPI, client: httpx.AsyncClient, auth: Callable[..., dict[str, str]], backend: str
) -> None:
    document = app.openapi()
    operations = _operations(document)
    headers = auth()
    ids: dict[str, dict[str, str]] = {name: {} for name in SERVICE_IDS}
    digest = ""
    tried: list[str] = []
    answers: dict[str, Any] = {}
    closed: set[str] = set()

    def service_id(name: str, example: str | None) -> str:
        """The id the example names (a case opened by the example of the same name), else the default's;
        a closed case is not used again."""
        known = {k: v for k, v in ids[name].items() if v not in closed}
        assert known, f"no {name} handed out before it is needed"
        if example is not None and example in known:
            return known[example]
        return known.get("default") or next(iter(known.values()))

    for op_id in ORDER:
        method, path, operation = operations[op_id]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        examples: list[tuple[str | None, Any]] = (
            [(name, e["value"]) for name, e in body["examples"].items()] if body else [(None, None)]
        )
        for position, (name, value) in enumerate(examples):
            url, query = path, {}
            for parameter in operation.get("parameters", []):
                pname, where = parameter["name"], parameter["in"]
                if where == "path":
                    if pname in SERVICE_IDS:
                        given = service_id(pname, name if pname == "case_id" else None)
                    else:
                        given = str(parameter["example"])
                    url = url.replace("{" + pname + "}", given)
                elif where == "query" and "example" in parameter:
                    query[pname] = str(parameter["example"])
            if op_id == "skipOutboxEvent":  # an event the retries did not touch: the last one listed
                url = path.replace("{event_id}", list(ids["event_id"].values())[-1])
            if isinstance(value, dict) and "case_id" in value:  # pasted from a case, like a path id
                value = {**value, "case_id": service_id("case_id", None)}
            if op_id == "approveDisposalList":
                value = {**value, "digest": digest}
            response = await client.request(
                method.upper(),
                url,
                params=query,
                json=value if body else None,
                headers=auth(sub="second-approver") if op_id in OTHER_SUBJECT else headers,
            )
            if op_id in NOT_FOUND_EXPECTED:
                assert response.status_code == 404, (op_id, response.text)
                continue
            assert 200 <= response.status_code < 300, (op_id, name, response.status_code, response.text)
            tried.append(f"{op_id}:{name}")
            if op_id == "closeCase":
                closed.add(url.split("/")[3])
            answer = response.json() if response.headers.get("content-type", "").startswith("application/") else None
            if position == 0 and response.headers.get("content-type") == "application/json":
                answers.setdefault(op_id, {str(response.status_code): answer})
            if op_id == "setDisposalHold":
                ids["hold_id"]["default"] = answer["id"]
            if op_id == "proposeDisposalList":
                ids["list_id"]["default"] = answer["id"]
            if op_id in ("getDisposalList", "refreshDisposalList"):
                digest = answer["digest"]
            if op_id == "openCase":
                assert isinstance(answer, dict)
                ids["case_id"][name or "default"] = answer["id"]
                if position == 0:
                    ids["case_id"]["default"] = answer["id"]
                if answer.get("person_id"):
                    ids["person_id"].setdefault("default", answer["person_id"])
            if op_id == "listOutboxEvents":
                assert isinstance(answer, dict)
                for item in answer["items"]:
                    ids["event_id"][item["id"]] = item["id"]
                    ids["event_id"].setdefault("default", item["id"])
    assert len(tried) >= len(ORDER)
    if os.environ.get(CAPTURE) and backend == "sqlite":
        RESPONSE_EXAMPLES_FILE.write_text(
            json.dumps(fixed_examples(answers), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )


def fixed_examples(answers: dict[str, Any]) -> dict[str, Any]:
    """The answers as documentation: ids, codes and moments replaced by fixed ones (the same value
    by the same one), today's date by a fixed day, lists cut to two items."""
    fixed: dict[str, str] = {}
    keep = {DEMO_DECISION}

    def uuid_for(value: str) -> str:
        if value in keep:
            return value
        if value not in fixed:
            fixed[value] = f"{len(fixed) + 1:08x}-5d2e-4f1a-8c3b-9e8d2a6f1c0e"
        return fixed[value]

    def norm(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: norm(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [norm(v, key) for v in value[:2]]
        if isinstance(value, str):
            if UUID.match(value):
                return uuid_for(value)
            if MOMENT.match(value):
                return "2026-09-01T09:30:00Z"
            if value == today().isoformat():
                return "2026-09-01"
            if key == "participant_code":
                return "IUB-K7M2Q9XD"
            if key == "next_cursor":
                return "MjAyNi0wOS0wMVQwOTozMDowMHw"
        return value

    return {op_id: norm(answers[op_id]) for op_id in sorted(answers)}
