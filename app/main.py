"""The application: routers, problem+json handlers, offline docs and the lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.cases.registry_router import audit_router, persons_router, registry_router
from app.cases.router import router as cases_router
from app.cases.router import units_router
from app.catalog.router import router as catalog_router
from app.catalog.store import CatalogStore
from app.core import health, problems
from app.core.auth import SCOPES, TokenVerifier
from app.core.db import Database
from app.core.docs import decorate_operations, install_docs
from app.core.errors import document_common_problems, install_problem_handlers
from app.core.guard import RequestGuardMiddleware
from app.core.logging import RequestContextMiddleware, configure_logging
from app.core.settings import Settings, get_settings
from app.core.tracing import TracingMiddleware, configure_tracing, flush_tracing, instrument_database
from app.disposal.router import router as disposal_router
from app.eligibility.router import router as eligibility_router
from app.journal.router import metrics_router as outbox_metrics_router
from app.journal.router import router as outbox_router
from app.journal.runtime import start_outbox, stop_outbox
from app.stats.router import groups_router, stats_router

DESCRIPTION = """
**iub** — insatser utan individuell behovsprövning (IUB), socialtjänstlagen (2025:400) 11 kap. 5 §.

The committees' decisions (nämndbeslut) as a time-aware catalog, checked against the law;
the provider's summary check (summarisk kontroll) of facts against conditions; documentation
of the carrying-out (SoL 14 kap. 3–5 §§) with identity protection enforced before anything is
stored; delivery of identified cases to the journal system.

Authenticate with **Authorize**: a bearer JWT with the claims `sub`, `unit`, `committee`,
`scope`, `exp`, `iss`, `aud`. In development, `iub token --all-scopes` prints one with every scope
(sub `dev`, unit `unit-a`, committee `sn-sydvast`: the demo catalog's committee). Each operation
names the scope it requires.
Errors are RFC 9457 problem documents (`application/problem+json`) whose `type` resolves under
`/problems/`. Personnummer never go in URLs: they travel in request bodies only.
"""

TAGS = [
    {"name": "catalog", "description": "Nämndbeslut and the IUB interventions in force (insatser, villkor)."},
    {
        "name": "cases",
        "description": "Ärenden (IFO Registrering IUB): documenting the carrying-out of IUB interventions "
        "(SoL 14 kap. 3–5 §§) — journal notes, insatsplan, samtal/träffar, avslut — with identity protection "
        "enforced before anything is stored. Visible only to the unit that carries the case out.",
    },
    {
        "name": "persons",
        "description": "Identified persons (SoL 14 kap. 3 §): one record shared by all their cases; "
        "skyddade personuppgifter never expose an address.",
    },
    {
        "name": "registry",
        "description": "Förekomst: whether a person has or had identified IUB cases (never notes).",
    },
    {"name": "audit", "description": "Loggning av åtkomst (SoLPUL 10 §): every read and write of identified data."},
    {"name": "units", "description": "The unit's process: three or all five steps (enhet/verksamhet)."},
    {
        "name": "eligibility",
        "description": "Summarisk kontroll: the provider's summary check of facts against the conditions "
        "(villkor), never an assessment of need, with the notices the provider must give.",
    },
    {
        "name": "outbox",
        "description": "Delivery of identified cases to the journal system: the outbox of events, "
        "dead letters and retries. Prometheus metrics at `GET /metrics` (unauthenticated, counts only).",
    },
    {
        "name": "groups",
        "description": "Stöd i grupp: group meetings recorded as counts by gender and age band, no person.",
    },
    {
        "name": "stats",
        "description": "Uppföljning på verksamhetsnivå: predefined tables over ended quarters and years, with "
        "disclosure control (röjandekontroll), and the committee's yearly report.",
    },
    {
        "name": "disposal",
        "description": "Gallring (SoL 16 kap. 1–4 §§): legal holds, disposal lists proposed and approved by "
        "two people, and the disposal certificates (gallringsprotokoll) of their execution.",
    },
    {"name": "health", "description": "Liveness and readiness."},
    {"name": "problems", "description": "The problem types errors refer to."},
]


def create_app(
    settings: Settings | None = None, database: Database | None = None, *, freeze_heap: bool = False
) -> FastAPI:
    """The application. `freeze_heap` (a served process, `iub serve`): once started, what start-up
    built (modules, the catalog, the app) is moved out of the garbage collector's reach
    (`gc.freeze`), so that a full collection never walks it again: on a busy machine one such
    collection paused every request in flight for up to ~190 ms, the tail of the latency."""
    settings = settings or get_settings()
    configure_logging(settings.log_format, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owns_db = database is None
        db = database or Database.connect(settings.database_url)
        app.state.db = db
        instrument_database(db)
        await app.state.verifier.prefetch()
        store: CatalogStore = app.state.catalog
        await store.reload(db)
        store.start_refresh(db, settings.catalog_refresh_seconds)
        outbox = await start_outbox(db, settings)
        if freeze_heap:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await stop_outbox(outbox)
            await store.stop()
            flush_tracing()
            if owns_db:
                await db.dispose()

    app = FastAPI(
        title="iub – IUB interventions",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings)
    app.state.catalog = CatalogStore()
    if database is not None:
        app.state.db = database

    install_problem_handlers(app)
    # Added first, so it runs inside the request context (its answers carry the request id).
    app.add_middleware(RequestGuardMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    if configure_tracing(settings):
        app.add_middleware(TracingMiddleware)  # outermost: the span covers the whole request

    # Routes match in order, and every router that does not hold the path costs µs to rule out:
    # the hot paths first — the summary check, the catalog's cached reads, the case writes (where
    # a few µs weigh least) — and the health checks, problem pages and docs last. No two routers
    # share a path prefix, so the order changes nothing else.
    for router in (
        eligibility_router,
        catalog_router,
        cases_router,
        persons_router,
        registry_router,
        audit_router,
        units_router,
        groups_router,
        stats_router,
        disposal_router,
        outbox_router,
        outbox_metrics_router,
        health.router,
        problems.router,
    ):
        document_common_problems(router)
        add_routes(app, router)
    install_docs(app)
    documented = list(app.routes)  # the OpenAPI document keeps the routers' order
    hot_first(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=documented, tags=TAGS
        )
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        bearer = components.get("securitySchemes", {}).get("bearer")
        if bearer is not None:
            bearer["bearerFormat"] = "JWT"
            bearer["description"] = (
                bearer.get("description", "") + " Scopes: " + ", ".join(f"`{s}`" for s in SCOPES) + "."
            )
        add_links(schema)
        decorate_operations(app, schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


# The routes taken most, in this order: a request is matched against the routes one by one, and
# every route before its own costs it some 8 calls (a note's was the 15th: 3 % of the request).
HOT_ROUTES = (
    ("POST", "/v1/eligibility/check"),
    ("POST", "/v1/cases/{case_id}/notes"),
    ("POST", "/v1/cases"),
    ("GET", "/v1/catalog/interventions"),
)


def hot_first(app: FastAPI) -> None:
    """Match the `HOT_ROUTES` first. No two routes of the app match the same request (a path
    and a method are one operation), so the order changes which route is tried first, never which
    answers."""
    rank = {operation: n for n, operation in enumerate(HOT_ROUTES)}

    def key(route: Any) -> int:
        path = getattr(route, "path", "")
        ranks = [rank[(method, path)] for method in getattr(route, "methods", None) or () if (method, path) in rank]
        return min(ranks, default=len(rank))

    app.router.routes.sort(key=key)


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's operations as routes of the app's own router, in order.

    `include_router` keeps an included router apart and matches a request twice through it
    (once to find the router, once more to pick the route), some 50,000 instructions per request
    on its own — a sixth of a summary check. The routers here add nothing at inclusion (no
    prefix, dependencies or responses of their own beyond their routes'), so each route is
    added again as it was declared, of its own route class; the OpenAPI document is the same.
    A router with anything but FastAPI operations is included as usual.
    """
    if not all(isinstance(route, APIRoute) for route in router.routes):
        app.include_router(router)
        return
    for route in router.routes:
        assert isinstance(route, APIRoute)
        app.router.add_api_route(
            route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=route.tags,
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=route.responses,
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            route_class_override=type(route),
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
            max_body_size=route.max_body_size,
        )


def create_served_app() -> FastAPI:
    """The app factory of `iub serve --workers N` (each worker builds its own, from the environment)."""
    return create_app(freeze_heap=True)


def _ref(method: str, path: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


# OpenAPI links: how the answer of one operation feeds the next (for clients, and for the
# stateful contract test that walks them): (method, path, status) -> name -> (target, parameter, value).
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, str, str]]] = {
    ("post", "/v1/cases", "201"): {
        "GetCase": ("get", "/v1/cases/{case_id}", "case_id", "$response.body#/id"),
        "AddNote": ("post", "/v1/cases/{case_id}/notes", "case_id", "$response.body#/id"),
        "PutPlan": ("put", "/v1/cases/{case_id}/plan", "case_id", "$response.body#/id"),
        "AddSession": ("post", "/v1/cases/{case_id}/sessions", "case_id", "$response.body#/id"),
        "CloseCase": ("post", "/v1/cases/{case_id}/close", "case_id", "$response.body#/id"),
        "GetPerson": ("get", "/v1/persons/{person_id}", "person_id", "$response.body#/person_id"),
        "PatchPerson": ("patch", "/v1/persons/{person_id}", "person_id", "$response.body#/person_id"),
    },
    ("post", "/v1/cases/{case_id}/notes", "201"): {
        "GetCase": ("get", "/v1/cases/{case_id}", "case_id", "$response.body#/id"),
        "CloseCase": ("post", "/v1/cases/{case_id}/close", "case_id", "$response.body#/id"),
    },
    ("post", "/v1/cases/{case_id}/sessions", "201"): {
        "AddSession": ("post", "/v1/cases/{case_id}/sessions", "case_id", "$response.body#/id"),
    },
    ("post", "/v1/catalog/decisions", "201"): {
        "GetDecision": ("get", "/v1/catalog/decisions/{decision_id}", "decision_id", "$response.body#/id"),
    },
}


# Opening a case for an intervention the catalog lists: the link fills the request body.
OPEN_CASE_LINK = {
    "operationRef": _ref("post", "/v1/cases"),
    "requestBody": {"intervention_id": "$response.body#/items/0/id"},
    "description": "Open a case for the first intervention listed.",
}


def add_links(schema: dict[str, Any]) -> None:
    for (method, path, status), links in LINKS.items():
        response = schema["paths"].get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        response["links"] = {
            name: {"operationRef": _ref(target_method, target_path), "parameters": {parameter: value}}
            for name, (target_method, target_path, parameter, value) in links.items()
        }
    listed = schema["paths"].get("/v1/catalog/interventions", {}).get("get", {}).get("responses", {}).get("200")
    if listed is not None:
        listed["links"] = {"OpenCase": OPEN_CASE_LINK}


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details. Never echoes submitted values.",
    "properties": {
        "type": {"type": "string", "description": "A stable URI reference; resolves under /problems/."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Validation problems: each failing field and what was expected.",
            "items": {
                "type": "object",
                "properties": {
                    "field": {
                        "type": "string",
                        "description": "The failing field's path, e.g. `body.notes[0].text`; keys the schema "
                        "does not know are never named: `body.<unknown field>`.",
                    },
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "count": {
                        "type": "integer",
                        "description": "For `<unknown field>`: how many unknown keys the object had.",
                    },
                },
            },
        },
    },
    "required": ["type", "title", "status"],
}
