"""Routes whose endpoint FastAPI's request handling adds nothing to: called directly.

A POST that takes a JSON body, the bearer check (`require(...)`) and the request, and nothing
else, needs none of FastAPI's per-request machinery around its endpoint: a second dependency
level for the bearer check, the telemetry hooks, the endpoint's context for error messages, the
content type parsed as an e-mail header, the generic parameter solving. On the summary check
that machinery cost about a third of the request. `DirectRoute` answers such a route's usual
requests itself, in FastAPI's order and with FastAPI's own pieces:

1. the body is read and decoded as Starlette decodes it (`json.loads`);
2. the bearer check, as FastAPI solves the dependency: a 401/403 before any validation problem;
3. the body is validated by the route's own body field (FastAPI's `ModelField`), its errors
   raised as FastAPI raises them (`RequestValidationError`, located under `body`);
4. the endpoint is called with the body, the caller and the request; it answers a `Response`
   (declared as its return type), which FastAPI would pass on as it is.

Everything else — no body, a content type other than plain `application/json`, a body that is
not JSON, an app with dependency overrides (tests) — takes FastAPI's way, before anything has
been checked, so FastAPI answers it as always. A route whose signature is anything else is left
to FastAPI entirely. The OpenAPI document is made from the route as declared: it does not change.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi import routing as fastapi_routing
from fastapi.dependencies.utils import get_typed_return_annotation
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.routing import APIRoute

from app.core.auth import ScopedBearer

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_BODY_LOCATION = ("body",)
_NOT_READ = object()
JSON = "application/json"


def _plain_json(request: Request) -> bool:
    """Whether the request says `Content-Type: application/json` (parameters and case aside)."""
    for name, value in request.scope["headers"]:
        if name == b"content-type":
            return bytes(value).split(b";", 1)[0].strip().lower() == b"application/json"
    return False


class DirectRoute(APIRoute):
    """See the module: a route of a JSON body, the bearer check and the request, called directly."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        route = _effective(self)
        dependant = route.dependant
        bearer = dependant.dependencies[0].call if len(dependant.dependencies) == 1 else None
        caller_name = dependant.dependencies[0].name if bearer is not None else None
        body_field = dependant.body_params[0] if len(dependant.body_params) == 1 else None
        request_name = dependant.request_param_name
        if (
            not isinstance(bearer, ScopedBearer)
            or caller_name is None
            or body_field is None
            or request_name is None
            or route._embed_body_fields
            or dependant.path_params
            or dependant.query_params
            or dependant.header_params
            or dependant.cookie_params
            or dependant.http_connection_param_name
            or dependant.response_param_name
            or dependant.background_tasks_param_name
            or dependant.security_scopes_param_name
            or dependant.websocket_param_name
            or not inspect.iscoroutinefunction(self.endpoint)
            or not _answers_response(self.endpoint)
        ):
            return handler
        endpoint: Callable[..., Awaitable[Response]] = self.endpoint
        body_name = body_field.name
        overrides = route.dependency_overrides_provider

        async def direct(request: Request) -> Response:
            data = await _json_body(request)
            if data is _NOT_READ or (overrides is not None and overrides.dependency_overrides):
                return await handler(request)
            caller = await bearer(request)  # before validation, as FastAPI solves dependencies first
            body, errors = body_field.validate(data, {}, loc=_BODY_LOCATION)
            if errors:
                raise RequestValidationError(errors, body=data)
            return await endpoint(**{body_name: body, caller_name: caller, request_name: request})

        return direct


async def _json_body(request: Request) -> Any:
    """The request's JSON body, or `_NOT_READ`. Whatever goes wrong before the bearer check (the
    client went away, a body that is not JSON, not UTF-8 or nested too deep) is left to FastAPI,
    which fails the same way again on the body it has cached and answers as it always has."""
    try:
        raw = await request.body()
        return json.loads(raw) if raw and _plain_json(request) else _NOT_READ
    except Exception:
        return _NOT_READ


def _effective(route: APIRoute) -> Any:
    """The route FastAPI builds a handler for: an included route is built for its inclusion (its
    prefix, and any dependencies the inclusion adds), as `APIRoute.get_route_handler` judges."""
    context = getattr(fastapi_routing, "_effective_route_context_var", None)
    effective = context.get() if context is not None else None
    return effective if effective is not None and effective.original_route is route else route


def _answers_response(endpoint: Callable[..., Any]) -> bool:
    returns = get_typed_return_annotation(endpoint)
    return isinstance(returns, type) and issubclass(returns, Response)


# --- direct forms ---------------------------------------------------------------------------------
#
# A route whose endpoint takes more than the body and the caller (path parameters, a database
# session, services built from it, optional headers) can still skip FastAPI's dependency solving
# for its usual requests when the module that declares it gives the endpoint a *direct form*: the
# same use case, called with the request, the caller, the validated body and the path parameters,
# building what the endpoint's dependencies would have built. It answers the endpoint's answer
# (validated and serialised by the route's response field, as FastAPI does) and the headers to
# add. A request that carries any header the route declares (an `Idempotency-Key`, an
# `X-Purpose`), a path parameter its field refuses, or anything `DirectRoute` leaves to FastAPI,
# takes FastAPI's way.

DirectAnswer = tuple[Any, dict[str, str]]
DirectForm = Callable[..., Awaitable[DirectAnswer]]
_FORMS: dict[Callable[..., Any], DirectForm] = {}


def direct_form(form: DirectForm) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare `form` the direct form of the endpoint this decorates (put it under the route's
    decorator: the form must be known when the route is built)."""

    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        _FORMS[endpoint] = form
        return endpoint

    return register


def _tree(dependant: Any) -> list[Any]:
    """`dependant` and every dependency under it."""
    found = [dependant]
    for sub in dependant.dependencies:
        found += _tree(sub)
    return found


class DirectForms(APIRoute):
    """A route class whose routes call their endpoint's direct form (`direct_form`) where they can."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        form = _FORMS.get(self.endpoint)
        route = _effective(self)
        dependant = route.dependant
        tree = _tree(dependant)
        bearers = {id(d.call): d.call for d in tree if isinstance(d.call, ScopedBearer)}
        body_field = dependant.body_params[0] if len(dependant.body_params) == 1 else None
        response_field = route.response_field
        if (
            form is None
            or len(bearers) != 1
            or body_field is None
            or route._embed_body_fields
            or response_field is None
            or any(d.query_params or d.cookie_params for d in tree)
        ):
            return handler
        bearer: ScopedBearer = next(iter(bearers.values()))
        # Every name such a header could arrive under (more than FastAPI reads: one too many
        # only sends a request FastAPI's way).
        headers = frozenset(
            spelling.encode("latin-1")
            for d in tree
            for p in d.header_params
            for name in (p.alias or p.name, p.name)
            for spelling in (name.lower(), name.lower().replace("_", "-"))
        )
        path_fields = [(p.name, p) for p in dependant.path_params]
        overrides = route.dependency_overrides_provider
        status_code = self.status_code or 200

        async def direct(request: Request) -> Response:
            if (overrides is not None and overrides.dependency_overrides) or any(
                name in headers for name, _ in request.scope["headers"]
            ):
                return await handler(request)
            path: dict[str, Any] = {}
            for name, field in path_fields:
                value, errors = field.validate(request.path_params.get(name), {}, loc=("path", name))
                if errors:
                    return await handler(request)
                path[name] = value
            data = await _json_body(request)
            if data is _NOT_READ:
                return await handler(request)
            caller = await bearer(request)  # before validation, as FastAPI solves dependencies first
            body, errors = body_field.validate(data, {}, loc=_BODY_LOCATION)
            if errors:
                raise RequestValidationError(errors, body=data)
            answer, added = await form(request, caller, body, **path)
            value, errors = response_field.validate(answer, {}, loc=("response",))
            if errors:
                raise ResponseValidationError(errors, body=answer)
            response = Response(response_field.serialize_json(value, by_alias=True), status_code, media_type=JSON)
            # After the answer's own headers, as FastAPI adds an endpoint's `Response` headers.
            response.headers.raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in added.items())
            return response

        return direct
