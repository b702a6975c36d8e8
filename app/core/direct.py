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
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from app.core.auth import ScopedBearer

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_BODY_LOCATION = ("body",)
_NOT_READ = object()


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
        # An included route is built for its inclusion (its prefix, and any dependencies the
        # inclusion adds): judge what FastAPI would run, as `APIRoute.get_route_handler` does.
        context = getattr(fastapi_routing, "_effective_route_context_var", None)
        effective = context.get() if context is not None else None
        route: Any = effective if effective is not None and effective.original_route is self else self
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
            # Whatever goes wrong before the bearer check (the client went away, a body that is
            # not JSON, not UTF-8 or nested too deep) is left to FastAPI, which fails the same
            # way again on the body it has cached and answers as it always has.
            try:
                raw = await request.body()
                data = json.loads(raw) if raw and _plain_json(request) else _NOT_READ
            except Exception:
                data = _NOT_READ
            if data is _NOT_READ or (overrides is not None and overrides.dependency_overrides):
                return await handler(request)
            caller = await bearer(request)  # before validation, as FastAPI solves dependencies first
            body, errors = body_field.validate(data, {}, loc=_BODY_LOCATION)
            if errors:
                raise RequestValidationError(errors, body=data)
            return await endpoint(**{body_name: body, caller_name: caller, request_name: request})

        return direct


def _answers_response(endpoint: Callable[..., Any]) -> bool:
    returns = get_typed_return_annotation(endpoint)
    return isinstance(returns, type) and issubclass(returns, Response)
