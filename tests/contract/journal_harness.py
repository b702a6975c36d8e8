"""Test helpers: the journal contract loaded once, and an httpx transport that checks every
request/response pair against it with openapi-core."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

REPO = Path(__file__).resolve().parents[2]
CONTRACT_PATH = REPO / "contracts" / "journal-system.openapi.yaml"
# Skatteverket's test numbers, beside the repository (see the project README).
TEST_PERSONNUMMER_FILE = REPO.parent / "shared" / "domain" / "test-personnummer.txt"


@cache
def contract_dict() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))
    return data


@cache
def contract() -> OpenAPI:
    config = Config(
        extra_media_type_deserializers={
            "application/merge-patch+json": json.loads,
            "application/problem+json": json.loads,
        }
    )
    return OpenAPI.from_dict(contract_dict(), config=config)


class OpenAPIRequest:
    """An httpx.Request as openapi-core's Request protocol."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(request.url.query.decode())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return f"{self._request.url.scheme}://{self._request.url.netloc.decode()}"

    @property
    def path(self) -> str:
        return self._request.url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return str(self._request.headers.get("content-type", ""))


class OpenAPIResponse:
    """An httpx.Response (already read) as openapi-core's Response protocol."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return str(self._response.headers.get("content-type", ""))

    @property
    def headers(self) -> Headers:
        return Headers(list(self._response.headers.items()))

    @property
    def data(self) -> bytes:
        return self._response.content


@dataclass
class Exchange:
    method: str
    url: str
    request_body: bytes
    status: int
    request_errors: list[str]
    response_errors: list[str]


@dataclass
class ValidatingTransport(httpx.AsyncBaseTransport):
    """Forwards to `inner` and validates each contract exchange; `/_sim/*` is not contract."""

    inner: httpx.AsyncBaseTransport
    exchanges: list[Exchange] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if not request.url.path.startswith("/_sim/"):
            openapi_request = OpenAPIRequest(request)
            self.exchanges.append(
                Exchange(
                    request.method,
                    str(request.url),
                    request.content,
                    response.status_code,
                    _errors(lambda: contract().validate_request(openapi_request)),
                    _errors(lambda: contract().validate_response(openapi_request, OpenAPIResponse(response))),
                )
            )
        return response

    def errors(self) -> list[str]:
        """All findings, requests and responses."""
        return [
            f"{e.method} {e.url} -> {e.status}: {err}"
            for e in self.exchanges
            for err in e.request_errors + e.response_errors
        ]


def _errors(check: Callable[[], object]) -> list[str]:
    try:
        check()
    except Exception as exc:  # any validation failure is a finding
        return [f"{type(exc).__name__}: {exc.__cause__ or exc}"]
    return []
