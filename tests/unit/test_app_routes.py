"""The app's operations are routes of the app's own router: nothing included stands in between."""

from __future__ import annotations

from fastapi.routing import APIRoute, iter_route_contexts

from app.cases.router import CaseRoute
from app.catalog.answers import CatalogRoute
from app.core.direct import DirectRoute
from app.core.settings import Env, Settings
from app.kit.idempotency import IdempotentRoute
from app.main import HOT_ROUTES, create_app


def _app():  # type: ignore[no-untyped-def]
    return create_app(Settings(env=Env.test, database_url="sqlite+aiosqlite:///:memory:"))


def test_every_operation_is_a_route_of_the_app_itself() -> None:
    app = _app()
    operations = [c.original_route for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)]
    own = {id(route) for route in app.router.routes}
    assert operations and all(id(route) in own for route in operations)


def test_each_route_keeps_its_route_class() -> None:
    classes = {route.path: type(route) for route in _app().router.routes if isinstance(route, APIRoute)}
    assert classes["/v1/eligibility/check"] is DirectRoute
    assert classes["/v1/catalog/interventions"] is CatalogRoute
    assert classes["/v1/cases/{case_id}/notes"] is CaseRoute
    assert issubclass(CaseRoute, IdempotentRoute)


def test_the_hot_paths_are_matched_first() -> None:
    routes = [(sorted(route.methods)[0], route.path) for route in _app().router.routes if isinstance(route, APIRoute)]
    assert routes[: len(HOT_ROUTES)] == list(HOT_ROUTES)
    assert routes.index(("POST", "/v1/eligibility/search")) < routes.index(("GET", "/health/live"))


def test_the_openapi_document_keeps_the_routers_order() -> None:
    paths = list(_app().openapi()["paths"])
    assert paths.index("/v1/eligibility/check") < paths.index("/v1/catalog/interventions") < paths.index("/v1/cases")
