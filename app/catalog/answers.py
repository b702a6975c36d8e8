"""Catalog reads answered from memory, serialised once: the bytes and a strong `ETag` per question.

The catalog changes only when a committee records a decision, and every change replaces the
in-memory snapshot (`CatalogStore`). So each snapshot keeps its own answers: a question (the
endpoint, the committee asked about, the date, the filters, the page) is answered by building
and serialising its page model once; after that the same bytes are sent as they are. A new
snapshot starts with no answers, so a change is never served stale, and the answers of a
replaced snapshot go with it. Each snapshot holds at most `MAX_ANSWERS` (least recently used
first out).

The `ETag` is a hash of the body: the same content gives the same validator on every replica
and after a restart, changed content a new one. A request whose `If-None-Match` names it gets
`304 Not Modified` without a body. `Cache-Control: private, no-cache`: the answer depends on
the token (its committee is the default), so shared caches must not keep it, and a client
revalidates before reuse (cheaply: a 304).
"""

from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from app.catalog.snapshot import CatalogSnapshot
from app.core.auth import ScopedBearer
from app.kit.clock import today
from app.kit.idempotency import IdempotentRoute

MAX_ANSWERS = 1024
CACHE_CONTROL = b"private, no-cache"


class CachedAnswer(Response):
    """A ready answer: status, headers and body fixed when it was first built."""

    def __init__(self, status_code: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        # No Response.__init__: the headers are ready. A fresh list, since middleware adds to it.
        self.status_code = status_code
        self.body = body
        self.background = None
        self.raw_headers = list(raw_headers)


class _Entry:
    __slots__ = ("body", "etag", "headers", "not_modified_headers")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
        etag = self.etag.encode("latin-1")
        self.not_modified_headers = [(b"etag", etag), (b"cache-control", CACHE_CONTROL)]
        self.headers = [
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", b"application/json"),
            *self.not_modified_headers,
        ]


class Answers:
    """A snapshot's serialised answers, least recently used first."""

    def __init__(self, size: int = MAX_ANSWERS) -> None:
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._size = size

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, build: Callable[[], BaseModel]) -> _Entry:
        entry = self.find(key)
        if entry is None:
            entry = _Entry(build().model_dump_json().encode())
            self.put(key, entry)
        return entry

    def find(self, key: Hashable) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: Hashable, entry: _Entry) -> None:
        self._entries[key] = entry
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)


_answers: weakref.WeakKeyDictionary[CatalogSnapshot, Answers] = weakref.WeakKeyDictionary()


def answers_of(snapshot: CatalogSnapshot) -> Answers:
    found = _answers.get(snapshot)
    if found is None:
        found = _answers[snapshot] = Answers()
    return found


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 13.1.2: `*`, or any listed tag equal to ours by the weak comparison."""
    if if_none_match == etag:
        return True
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def answer(request: Request, snapshot: CatalogSnapshot, key: Hashable, build: Callable[[], BaseModel]) -> Response:
    """The answer to `key` from `snapshot`: 200 with the cached body, or 304 when the client has it.

    `build` makes the page model on a miss (its errors, e.g. a bad cursor, are raised as usual
    and nothing is cached).
    """
    entry = answers_of(snapshot).get(key, build)
    request.scope[_ENTRY] = entry
    return _respond(request, entry)


_ENTRY = "iub.catalog_answer"


def _respond(request: Request, entry: _Entry) -> Response:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and _matches(if_none_match, entry.etag):
        return CachedAnswer(304, entry.not_modified_headers, b"")
    return CachedAnswer(200, entry.headers, entry.body)


class CatalogRoute(IdempotentRoute):
    """The catalog's routes; a GET answered from memory skips parameter solving when it can.

    FastAPI solves a request's parameters field by field (about half the time of a cached
    answer). A GET whose only dependency is the bearer check (`require(...)`) and whose other
    parameters are the request, path and query parameters needs none of that once its answer
    is known: the answer is then also kept under the request as sent (path, query string, the
    token's committee, today's date), and the same request again is answered after the bearer
    check alone. Without a query string and path parameters the endpoint is called directly
    with the caller and the defaults. Any other request takes FastAPI's usual way.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        dependant = self.dependant
        bearer = dependant.dependencies[0].call if len(dependant.dependencies) == 1 else None
        caller_name = dependant.dependencies[0].name if bearer is not None else None
        if (
            self.methods != {"GET"}
            or not isinstance(bearer, ScopedBearer)
            or caller_name is None
            or dependant.request_param_name is None
            or dependant.header_params
            or dependant.cookie_params
            or dependant.body_params
        ):
            return handler
        endpoint: Callable[..., Awaitable[Response]] = self.endpoint
        request_name = dependant.request_param_name
        direct = not dependant.path_params and not any(f.field_info.is_required() for f in dependant.query_params)

        async def answer_from_memory(request: Request) -> Response:
            query = request.scope["query_string"]
            caller = await bearer(request)  # first, as FastAPI solves it: 401/403 before anything else
            if direct and not query:
                return await endpoint(**{request_name: request, caller_name: caller})
            answers = answers_of(request.app.state.catalog.snapshot)
            key = ("request", request.scope["path"], query, caller.committee, today())
            entry = answers.find(key)
            if entry is not None:
                return _respond(request, entry)
            response = await handler(request)
            entry = request.scope.get(_ENTRY)
            if entry is not None:
                answers.put(key, entry)
            return response

        return answer_from_memory
