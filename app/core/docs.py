"""Swagger UI and ReDoc served from the installed package: they work with no internet.

Also what makes the OpenAPI document usable from them: operation ids, summaries, the scope each
operation requires (read from the dependency that enforces it), and examples.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import fastapi_offline
from fastapi import FastAPI, Request, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from app.core.auth import ScopedBearer
from app.core.examples import DEMO_COMMITTEE, DEMO_DECISION, EXEMPTED, PARAMETER_EXAMPLES, REQUEST_EXAMPLES

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs-assets"


def install_docs(app: FastAPI) -> None:
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} – Swagger UI",
            oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True, "displayRequestDuration": True},
        )

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> RedirectResponse:
        """A browser opening the service lands in Swagger UI."""
        return RedirectResponse(f"{request.scope.get('root_path', '')}/docs", status_code=307)

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} – ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )


# --- the OpenAPI document's operations: ids, summaries, scopes, examples ------------------------

# Endpoint function -> (operationId, summary). camelCase ids become method names in generated clients.
OPERATIONS: dict[str, tuple[str, str]] = {
    "live": ("getLiveness", "Liveness"),
    "ready": ("getReadiness", "Readiness: the database answers"),
    "list_problem_types": ("listProblemTypes", "List the problem types"),
    "get_problem_type": ("getProblemType", "Get a problem type"),
    "check": ("checkEligibility", "Check one intervention's conditions"),
    "search": ("searchEligibility", "Find the interventions the facts qualify for"),
    "list_committees": ("listCommittees", "List the committees"),
    "register_committee": ("putCommittee", "Register or change a committee"),
    "get_committee": ("getCommittee", "Get a committee"),
    "list_interventions": ("listInterventions", "List the interventions in force"),
    "get_intervention": ("getIntervention", "Get an intervention in force"),
    "list_decisions": ("listDecisions", "List a committee's decisions"),
    "get_decision": ("getDecision", "Get a decision"),
    "record_decision": ("recordDecision", "Record a committee decision"),
    "open_case": ("openCase", "Open a case"),
    "list_cases": ("listCases", "List the unit's cases"),
    "get_case": ("getCase", "Get a case"),
    "add_note": ("addNote", "Add a journal note"),
    "set_plan": ("setPlan", "Set the intervention plan"),
    "plan_versions": ("listPlanVersions", "List the plan's versions"),
    "add_coded_entry": ("addCodedEntry", "Add a coded entry"),
    "record_session": ("recordSession", "Record a session"),
    "close_case": ("closeCase", "Close a case"),
    "get_process": ("getUnitProcess", "Get the unit's process"),
    "set_process": ("setUnitProcess", "Set the unit's process"),
    "get_person": ("getPerson", "Get a person"),
    "patch_person": ("updatePerson", "Change a person"),
    "registry_occurrence": ("queryOccurrence", "Ask whether a person has cases (förekomst)"),
    "list_audit": ("listAuditRecords", "List the audit trail"),
    "record_meeting": ("recordGroupMeeting", "Record a group meeting"),
    "list_meetings": ("listGroupMeetings", "List a group's meetings"),
    "list_tables": ("listStatsTables", "List the statistics tables"),
    "get_table": ("getStatsTable", "Get a statistics table"),
    "get_report": ("getStatsReport", "Get the yearly report (HTML)"),
    "list_events": ("listOutboxEvents", "List outbox events"),
    "retry_event": ("retryOutboxEvent", "Retry an outbox event"),
    "skip_event": ("skipOutboxEvent", "Skip an outbox event"),
    "set_hold": ("setDisposalHold", "Put a hold on disposal"),
    "list_holds": ("listDisposalHolds", "List the disposal holds"),
    "release_hold": ("releaseDisposalHold", "Release a disposal hold"),
    "propose_list": ("proposeDisposalList", "Propose a disposal list"),
    "list_lists": ("listDisposalLists", "List the disposal lists"),
    "get_list": ("getDisposalList", "Get a disposal list"),
    "refresh_list": ("refreshDisposalList", "Make a disposal list again"),
    "approve_list": ("approveDisposalList", "Approve a disposal list"),
    "due": ("countDisposalDue", "Count the files falling due"),
    "list_runs": ("listDisposalRuns", "List the disposal runs"),
    "get_run": ("getDisposalRun", "Get a disposal run's certificate"),
}


def api_routes(app: FastAPI) -> list[APIRoute]:
    """The app's API routes in the document, also those of included routers."""
    found: list[APIRoute] = []
    for context in routing.iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            found.append(cast(APIRoute, context))  # behaves as the route, with its effective path
    return found


def operation_id(route: APIRoute) -> str:
    """The operation id of a route: from `OPERATIONS`, else its endpoint's name in camelCase."""
    known = OPERATIONS.get(route.name)
    if known is not None:
        return known[0]
    head, *rest = route.name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def required_scopes(dependant: Dependant) -> list[str]:
    """The scopes the route's dependencies demand (`require(scope)`), in the order they are met."""
    found: list[str] = []
    for dependency in dependant.dependencies:
        call = dependency.call
        if isinstance(call, ScopedBearer) and call.scope is not None and call.scope not in found:
            found.append(call.scope)
        found += [s for s in required_scopes(dependency) if s not in found]
    return found


def _scope_line(scopes: list[str]) -> str:
    if len(scopes) == 1:
        return f"Requires scope `{scopes[0]}`."
    return "Requires scopes " + ", ".join(f"`{s}`" for s in scopes) + "."


_LOCATION_HEADER = {
    "Location": {"description": "The URL of what was created.", "schema": {"type": "string"}},
}


def decorate_operations(app: FastAPI, schema: dict[str, Any]) -> None:
    """Give every operation its id, summary, required scopes, and request and response examples."""
    paths = schema.get("paths", {})
    for route in api_routes(app):
        for method in sorted(route.methods or ()):
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            op_id = operation_id(route)
            operation["operationId"] = op_id
            known = OPERATIONS.get(route.name)
            if known is not None:
                operation["summary"] = known[1]
            scopes = required_scopes(route.dependant)
            if scopes:
                operation["security"] = [{"bearer": scopes}]
                description = operation.get("description", "").rstrip()
                operation["description"] = (description + "\n\n" if description else "") + _scope_line(scopes)
            for parameter in operation.get("parameters", []):
                if parameter["name"] in PARAMETER_EXAMPLES and parameter.get("in") in ("path", "query"):
                    parameter["example"] = PARAMETER_EXAMPLES[parameter["name"]]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and op_id in REQUEST_EXAMPLES:
                body["examples"] = REQUEST_EXAMPLES[op_id]
            for status, response in operation.get("responses", {}).items():
                if status == "201":
                    response.setdefault("headers", {}).update(_LOCATION_HEADER)
                content = response.get("content", {}).get("application/json")
                if status.startswith("2") and content is not None and "schema" in content:
                    captured = RESPONSE_EXAMPLES.get(op_id, {}).get(status)
                    content["example"] = captured if captured is not None else example_of(content["schema"], schema)


# --- response examples ---------------------------------------------------------------------------

# What the service answered to each operation's first request example (against the demo catalog),
# with ids, codes and moments replaced by fixed ones and lists cut to two items; written by
# `IUB_CAPTURE_RESPONSE_EXAMPLES=1 pytest tests/integration/test_openapi_examples.py -k 'succeeds and sqlite'`.
# A test holds each to its schema; operations without one get an example generated from the schema (below).
RESPONSE_EXAMPLES_FILE = Path(__file__).parent / "response_examples.json"
RESPONSE_EXAMPLES: dict[str, dict[str, Any]] = json.loads(RESPONSE_EXAMPLES_FILE.read_text(encoding="utf-8"))

_UUIDS = {
    "id": "0b7c5d2e-4f1a-4c3b-9e8d-2a6f1c0e9b11",
    "case_id": "0b7c5d2e-4f1a-4c3b-9e8d-2a6f1c0e9b11",
    "person_id": "6d1e8f3a-2b4c-4d5e-8f9a-0b1c2d3e4f50",
    "guardian_person_id": "7e2f9a4b-3c5d-4e6f-9a0b-1c2d3e4f5061",
    "aggregate_id": "0b7c5d2e-4f1a-4c3b-9e8d-2a6f1c0e9b11",
}

# Example values by property name, where the type alone would give a meaningless one.
_BY_NAME: dict[str, Any] = {
    "intervention_id": EXEMPTED,
    "intervention_name": "Krisstöd",
    "committee": DEMO_COMMITTEE,
    "committee_name": "Socialnämnden Sydväst",
    "decision_id": DEMO_DECISION,
    "unit": "unit-a",
    "actor": "dev",
    "recorded_by": "dev",
    "sub": "dev",
    "reference": "§ 123",
    "personnummer": "194501103297",
    "participant_code": "K7M2Q9XD",
    "participant_count": 10,
    "paragraph": "SoL 11:5",
    "rule": "SoL 14:5",
    "path": "notes[0].text",
    "kind": "execution",
    "text": "Samtal med [namn] om veckan. [namn] nås på [telefon].",
    "text_sv": "Du har rätt att ansöka om insatser hos socialnämnden.",
    "text_en": "You have the right to apply to the social committee for interventions.",
    "message_sv": "Villkoret är uppfyllt.",
    "message_en": "The condition is met.",
    "message": "The condition is met.",
    "condition": "age",
    "code": "age_within_limits",
    "target_group": "Enskilda som har upplevt en krissituation.",
    "description": "Tillfälligt stöd och stöttning vid en akut kris.",
    "group_id": "komet-tisdagar",
    "note": "Träff 3 av 11: konflikthantering.",
    "journal_case_ref": "IFO-2026-000123",
    "next_cursor": None,
    "last_error": None,
    "why_code": "carrying_out",
    "basis": None,
    "action": "case.opened",
    "status_now": "dead",
    "period": "2025Q4",
    "periods": "Calendar quarters (2026Q1) and years (2026), once they have ended.",
    "version": 1,
    "number": 1,
    "session_count": 1,
    "max_sessions": 3,
    "wellbeing": 4,
    "satisfaction": 5,
    "age": 45,
    "threshold": 5,
    "attempts": 0,
    "age_band": "30-49",
    "address": "Storgatan 1, 414 63 Göteborg",
    "phone": "070-174 06 10",
    "email": "sven.testsson@example.se",
    "label": "Socialnämnden Sydväst",
    "label_sv": "Påbörjade",
    "title": "Participants: started, ongoing, closed",
    "title_sv": "Deltagare: påbörjade, pågående och avslutade",
    "counts": "participants",
    "slug": "not-found",
    "type": "/problems/not-found",
}

# Per schema, where one name means different things (a person's name, an intervention's).
_BY_SCHEMA: dict[str, dict[str, Any]] = {
    "PersonDoc": {"name": "Sven Testsson"},
    "NameVersionDoc": {"name": "Sven Testsson"},
    "CommitteeDoc": {"id": DEMO_COMMITTEE, "name": "Socialnämnden Sydväst"},
    "ProblemTypeDoc": {"title": "Not found", "description": "The resource does not exist."},
    "OutboxEventDoc": {"kind": "case.registered", "aggregate_type": "case"},
    "TableInfoDoc": {"name": "participants"},
    "TableDoc": {"name": "participants"},
    "ColumnDoc": {"key": "started", "label": "Started"},
    "RowDoc": {"key": DEMO_COMMITTEE, "values": {"started": 12, "ongoing": 30, "closed": 9}},
    "MeetingDoc": {
        "participants": {"female": 6, "male": 4},
        "age_bands": {"30-49": 7, "21-29": 2},
        "id": "5c4b3a29-1807-4f6e-8d5c-4b3a29180700",
    },
    "DecisionDoc": {"id": DEMO_DECISION},
    "ViolationDoc": {"code": "identity_exemption_without_risk_analysis", "field": "risk_analysis_reference"},
    "NoticeDoc": {"code": "right_to_apply", "paragraph": "SoL 11 kap. 6 §"},
    "RequiredActionDoc": {"code": "obtain_guardian_consent"},
    "RedactionDoc": {"kind": "name"},
}

_NAMES = {
    "OfferedInterventionDoc": "Krisstöd",
    "InterventionDoc": "Krisstöd",
    "InterventionVerdictDoc": "Krisstöd",
    "CheckResponse": "Krisstöd",
}


def example_of(schema: dict[str, Any], document: dict[str, Any]) -> Any:
    """A plausible instance of `schema` (a response model), for Swagger UI and ReDoc."""
    return _example(schema, document, None, None, 0)


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    ref = schema.get("$ref")
    if ref is None:
        return schema, None
    name = ref.rsplit("/", 1)[-1]
    return document["components"]["schemas"][name], name


def _example(schema: dict[str, Any], document: dict[str, Any], prop: str | None, owner: str | None, depth: int) -> Any:
    schema, name = _resolve(schema, document)
    if name is not None:
        owner = name
    if depth > 8:
        return None
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return _example(options[0], document, prop, owner, depth + 1)
    if "allOf" in schema:
        return _example(schema["allOf"][0], document, prop, owner, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        result: dict[str, Any] = {}
        for key, sub in schema.get("properties", {}).items():
            result[key] = _property(sub, document, key, owner, depth)
        return result
    if kind == "array":
        item = _example(schema.get("items", {}), document, prop, owner, depth + 1)
        return [] if item is None else [item]
    if kind == "string":
        return _string(schema, prop, owner)
    if kind == "integer":
        value = _BY_NAME.get(prop or "")
        return value if isinstance(value, int) else max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return 0.5
    if kind == "boolean":
        return True
    return None


def _property(sub: dict[str, Any], document: dict[str, Any], key: str, owner: str | None, depth: int) -> Any:
    overrides = _BY_SCHEMA.get(owner or "", {})
    if key in overrides:
        return overrides[key]
    if key == "name" and owner in _NAMES:
        return _NAMES[owner]
    resolved, _ = _resolve(sub, document)
    if key in _BY_NAME and "$ref" not in sub and _fits(_BY_NAME[key], resolved):
        return _BY_NAME[key]
    return _example(sub, document, key, owner, depth + 1)


_JSON_TYPES = {str: "string", int: "integer", bool: "boolean", float: "number"}


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    """Whether a value by name may stand for `schema`: its type is the schema's (or one of anyOf's), no enum."""
    if any(k in schema for k in ("enum", "const")):
        return False
    types = {o.get("type") for o in schema.get("anyOf", [])} | {schema.get("type")}
    return (value is None and "null" in types) or _JSON_TYPES.get(type(value)) in types


def _string(schema: dict[str, Any], prop: str | None, owner: str | None) -> str:
    fmt = schema.get("format")
    if fmt == "date":
        return "2026-09-01"
    if fmt == "date-time":
        return "2026-09-01T09:30:00Z"
    if prop in _UUIDS:
        return _UUIDS[prop]
    if prop is not None and prop.endswith("_id"):
        return _UUIDS["id"]
    value = _BY_NAME.get(prop or "")
    if isinstance(value, str):
        return value
    return prop.replace("_", " ") if prop else "text"
