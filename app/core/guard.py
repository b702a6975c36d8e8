"""Pure ASGI middleware that turns away, before any parsing, requests no endpoint could take.

- A body larger than `IUB_MAX_BODY_BYTES` (1 MiB by default) is a 413 problem. A declared
  `Content-Length` is judged before a byte is read; a chunked body (no `Content-Length`) is
  read up to the limit and answered 413 the moment it passes it, and otherwise handed on whole.
- A NUL character (`%00`) in the path or the query is a 422 problem: no identifier or filter
  holds one, and PostgreSQL refuses it in text.
- A body sent as anything but JSON (`Content-Type` other than `application/json` or
  `application/*+json`, e.g. `curl -d`'s form encoding) is a 415 problem: every body the API
  takes is JSON. A body without a `Content-Type` is read as JSON.

FastAPI's own `max_body_size` answers a declared over-long body as plain text; here every
answer is a problem document like all the others.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA, VALIDATION, problem_response

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RequestGuardMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            await _nul_in_url(scope)(scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared != 0 and not _json_or_absent(scope):
            await _not_json(scope)(scope, receive, send)
            return
        if declared is not None:
            if declared > self.max_body_bytes:
                await self._too_large(scope)(scope, receive, send)
                return
            # The server delivers no more than the declared length.
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                await self._too_large(scope)(scope, receive, send)
                return
            messages.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self, scope: Scope) -> Response:
        return problem_response(
            PAYLOAD_TOO_LARGE,
            f"The request body exceeds {self.max_body_bytes} bytes.",
            max_bytes=self.max_body_bytes,
            headers={"Connection": "close"},  # the rest of the body is not read
            request=Request(scope),
        )


def _nul_in_url(scope: Scope) -> Response:
    return problem_response(
        VALIDATION,
        "1 field(s) failed validation: url.",
        errors=[{"field": "url", "code": "unstorable_text", "message": "the path or query may not contain NUL (%00)"}],
        request=Request(scope),
    )


def _json_or_absent(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = bytes(value).split(b";", 1)[0].strip().lower()
            main, _, sub = media.partition(b"/")
            return main == b"application" and (sub == b"json" or sub.endswith(b"+json"))
    return True


def _not_json(scope: Scope) -> Response:
    return problem_response(
        UNSUPPORTED_MEDIA,
        "The body must be JSON: send it with `Content-Type: application/json`.",
        request=Request(scope),
    )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
