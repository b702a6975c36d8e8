"""A lean HTTP/1.1 client for the journal system: keep-alive connections, the llhttp parser.

What a worker's deliveries need and nothing else: one request at a time per connection (no
pipelining: event n+1 of a case is never sent before event n's answer), a pool of keep-alive
connections as large as the cases in flight, a timeout over each request as a whole, TLS for
`https://` base URLs, bodies by Content-Length or chunked (parsed by `httptools`, the llhttp
binding uvicorn uses), gzip/deflate bodies when a server sends them unasked. Measured over
loopback against the simulator it spends about a quarter of aiohttp's CPU per request, and a
worker's CPU per request is what bounds its deliveries per second.

A request that got no complete response raises `NoResponse` (it may have been applied: the
caller retries with the same Idempotency-Key). One exception: a reused keep-alive connection
that the server had closed while idle (nothing of a response arrived) is retried once at once
on a fresh connection, as browsers and aiohttp do — the write carries its Idempotency-Key, so
even a request that had been applied is a replay.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httptools

from app.journal.http_adapter import NoResponse, RawResponse


class Headers(Mapping[str, str]):
    """Response headers with case-insensitive lookups (repeated fields joined with ", ")."""

    __slots__ = ("_items",)

    def __init__(self, items: dict[str, str]) -> None:
        self._items = items  # lower-cased names

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def get(self, name: str, default: Any = None) -> Any:
        return self._items.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class _Closed(Exception):
    """The connection closed before the response was complete."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; `request` sends a whole request and waits for its response."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[RawResponse] | None = None
        self.closed = False
        self.used = False  # has carried a request before (a keep-alive reuse)
        self.keep_alive = True
        self.received = False  # bytes of the current response arrived
        self._status = 0
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._headers_done = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self._headers_done and not self._framed():  # a body delimited by the connection's end
            self._complete()
            return
        self._fail(_Closed(type(exc).__name__ if exc else "closed"))

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        previous = self._headers.get(key)
        self._headers[key] = text if previous is None else f"{previous}, {text}"

    def on_headers_complete(self) -> None:
        self._status = self.parser.get_status_code()
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:  # an interim response (e.g. 103): the final one follows
            self._reset()
            return
        self.keep_alive = self.parser.should_keep_alive()
        self._complete()

    # ours

    def _framed(self) -> bool:
        return "content-length" in self._headers or "transfer-encoding" in self._headers

    def _complete(self) -> None:
        content = b"".join(self._body)
        encoding = self._headers.get("content-encoding", "").strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate") and content:
            try:
                content = _decompress(content, encoding)
            except zlib.error as exc:
                self._fail(exc)
                return
        response = RawResponse(self._status, Headers(self._headers), content)
        self._reset()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(response)

    def _fail(self, exc: BaseException) -> None:
        self.keep_alive = False
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def _reset(self) -> None:
        self._status = 0
        self._headers = {}
        self._body = []
        self._headers_done = False

    async def request(self, data: bytes) -> RawResponse:
        assert self.transport is not None
        if self.closed or self.transport.is_closing():
            raise _Closed("closed")
        self.received = False
        self.waiter = asyncio.get_running_loop().create_future()
        self.used = True
        self.transport.write(data)
        try:
            return await self.waiter
        finally:
            self.waiter = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _decompress(content: bytes, encoding: str) -> bytes:
    if encoding != "deflate":
        return zlib.decompress(content, 16 + zlib.MAX_WBITS)
    try:
        return zlib.decompress(content)  # zlib-wrapped, as the standard says
    except zlib.error:
        return zlib.decompress(content, -zlib.MAX_WBITS)  # raw deflate, as some servers send


class Http1Transport:
    """A `JournalTransport`: at most `connections` keep-alive connections to `base_url` (http or
    https, with a path prefix if it has one); `timeout` bounds each request as a whole."""

    def __init__(self, base_url: str, *, timeout: float, connections: int = 16) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("the journal system's base URL must be http:// or https:// with a host")
        self._tls = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port or (443 if self._tls else 80)
        default_port = url.port is None or url.port == (443 if self._tls else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._host_header = host if default_port else f"{host}:{self._port}"
        self._prefix = url.path.rstrip("/")
        self._timeout = timeout
        self._limit = asyncio.Semaphore(connections)
        self._idle: list[_Connection] = []
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if self._tls else None
        self._closed = False

    async def send(self, method: str, path: str, content: bytes, headers: dict[str, str]) -> RawResponse:
        head = [f"{method} {self._prefix}{path} HTTP/1.1\r\nHost: {self._host_header}\r\n"]
        head.append(f"Content-Length: {len(content)}\r\n")
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError("a header holds a line break")
            head.append(f"{name}: {value}\r\n")
        head.append("\r\n")
        data = "".join(head).encode("latin-1") + content
        try:
            async with asyncio.timeout(self._timeout):
                async with self._limit:
                    return await self._exchange(data)
        except (TimeoutError, OSError, _Closed, httptools.HttpParserError, zlib.error) as exc:
            raise NoResponse(type(exc).__name__) from exc

    async def _exchange(self, data: bytes) -> RawResponse:
        connection = await self._connection()
        reused = connection.used
        try:
            response = await connection.request(data)
        except _Closed:
            if not reused or connection.received:
                raise
            # An idle keep-alive connection the server had closed: once more on a fresh one.
            connection = await self._connect()
            try:
                response = await connection.request(data)
            except BaseException:
                connection.close()
                raise
        except BaseException:  # a timeout, a parse error, cancellation: the connection's state is unknown
            connection.close()
            raise
        if connection.keep_alive and not connection.closed and not self._closed:
            self._idle.append(connection)
        else:
            connection.close()
        return response

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and connection.transport is not None and not connection.transport.is_closing():
                return connection
        return await self._connect()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(
            _Connection, self._host, self._port, ssl=self._ssl, server_hostname=self._host if self._tls else None
        )
        return protocol

    async def aclose(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()
