"""`Idempotency-Key` for POST endpoints (IETF httpapi idempotency-key draft, Stripe's practice).

A client that may retry a POST sends `Idempotency-Key: <key>`. The first request with a key
runs; a retry with the same key and the same request gets the first response back (same status,
body, `Location` and `Content-Type`, plus `Idempotent-Replayed: true`) and writes nothing. The
same key with another request is a 422 (`idempotency-key-reused`); while the first request is
still running, a retry gets 409 (`idempotency-key-in-progress`, `Retry-After: 1`). Keys are
scoped to the caller (token `committee`, `unit` and `sub`: callers of different committees never
share a key) and kept `IUB_IDEMPOTENCY_TTL_HOURS`; expired records are ignored and overwritten,
and `purge_expired` deletes them.

Adopting it, in a router module::

    from app.kit.idempotency import IdempotencyDep, IdempotentRoute

    router = APIRouter(prefix="/v1/cases", tags=["cases"], route_class=IdempotentRoute)

    @router.post("", status_code=201, ...)
    async def open_case(body: CaseDoc, caller: WriteCaller, _idempotency: IdempotencyDep,
                        session: SessionDep, ...) -> CaseDoc: ...

`route_class=IdempotentRoute` once per router (it does nothing for routes without the
dependency), and the `IdempotencyDep` parameter on each route that accepts the header, declared
after the caller (so authentication and the scope check come first) and before anything that
writes. A route with the dependency but without the route class, or with the dependency
before the caller, answers 500 to the first request carrying a key: never a silent no-op.

How it works, and why:

1. Claim. The dependency inserts an `in_progress` row in a short transaction of its own and
   commits it before the endpoint runs, so that a concurrent retry sees it (409). That commit
   does not wait for the disk (`Database.unsynced`): a crash that loses the claim loses the
   request's writes too (they commit after it, and their commit flushes it), and a retry then
   runs afresh, so a key costs no second fsync. The primary
   key (caller, key digest) makes racing claims safe on SQLite and PostgreSQL alike: exactly one insert
   wins. A row that is expired, or `in_progress` for longer than `LEASE` (its request crashed),
   is taken over by a conditional UPDATE, which is race-safe the same way.
2. Run. The endpoint runs in the request's own transaction (`SessionDep`).
3. Store. `IdempotentRoute` wraps the route handler, which FastAPI runs inside the
   function-scoped dependency stack: when the handler returns, the response is serialized but
   the request's session has not committed yet. The wrapper updates the row to `done` with the
   response *in that session*, so the request's writes and the stored response commit together
   or not at all. The update names the claim it owns (`created_at` is the claim's token); if
   another request took the claim over meanwhile, it answers 409 and the request's writes roll back.
4. Failure. An exception (a problem such as 404/409/422, a crash, a failed commit) rolls the
   request back, so nothing was written: the claim is deleted (in its own transaction, after the
   rollback) and a retry runs afresh. So errors that are raised are *not* stored — unlike
   Stripe, which also stores 4xx answers; here a retry after, say, a 404 for a catalog entry that
   has since been added should succeed, and re-running is safe because nothing was written.
   A response the endpoint *returns* (whatever its status) is stored, since its transaction
   commits. Requests without the header, or that fail before the claim, are untouched.

The fingerprint that tells a retry from a different request is an HMAC-SHA256, keyed with
`IUB_IDEMPOTENCY_SECRET`, over the method, the path, the query and the canonical JSON body:
bodies can carry personnummer, and a bare hash over so small a space could be reversed. The
key itself is stored the same way, never verbatim (`key_digest`, an HMAC over the caller's
scope and the key): a client may put anything in a key, a personnummer included.
The stored response is the real response, in clear: this assumes, as holds for this API, that
responses of idempotent routes never carry a personnummer (case responses carry ids only).
Keys, bodies and responses are never logged, and problems never echo the key.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import anyio
import structlog
from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database, SessionDep, database_unavailable
from app.core.errors import ProblemError, problem_openapi, problem_type
from app.core.settings import Settings
from app.kit import clock
from app.kit.idempotency_erasure import ids_named
from app.kit.idempotency_models import IdempotencyRecord

log = structlog.get_logger("iub.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# An `in_progress` claim older than this is presumed dead (its process crashed) and is taken over.
LEASE = dt.timedelta(seconds=60)
# Response headers that are part of the stored response (others, e.g. x-request-id, are per request).
STORED_HEADERS = ("content-type", "location", "content-location", "etag", "last-modified")

IN_PROGRESS = "in_progress"
DONE = "done"

KEY_INVALID = problem_type(
    "idempotency-key-invalid",
    400,
    "The Idempotency-Key header is malformed",
    f"An `{HEADER}` is 1–{MAX_KEY_LENGTH} visible ASCII characters (a UUID is a good choice), "
    "optionally as a quoted string. The key is never echoed.",
)
KEY_IN_PROGRESS = problem_type(
    "idempotency-key-in-progress",
    409,
    "A request with this Idempotency-Key is still running",
    f"The first request with this `{HEADER}` has not finished. Retry after the `Retry-After` "
    "seconds: you then get its response.",
)
KEY_REUSED = problem_type(
    "idempotency-key-reused",
    422,
    "The Idempotency-Key was used for a different request",
    f"This `{HEADER}` was already used by this caller with another method, path or body. "
    "Use a new key for a new request.",
)

HEADER_DESCRIPTION = (
    "Makes a retry safe: a retry with the same key and the same body returns the first "
    "response (with `Idempotent-Replayed: true`) and writes nothing twice. The same key with "
    "another body is a 422, and while the first request is still running a retry gets a 409 "
    "with `Retry-After`. 1–255 visible ASCII characters, e.g. a UUID; keys are per caller "
    "and kept 24 hours (configurable)."
)

_ROUTE_FLAG = "iub.idempotent_route"
_CLAIM = "iub.idempotency_claim"


class _Replay(Exception):
    """Carries a stored response from the dependency to `IdempotentRoute`, skipping the endpoint."""

    def __init__(self, response: Response) -> None:
        super().__init__("replay")
        self.response = response


# --- keys, callers, fingerprints --------------------------------------------------------------


def parse_key(raw: str) -> str | None:
    """The key of an `Idempotency-Key` header value, or None if it is malformed.

    Accepts a bare token (as Stripe's clients send) and the draft's structured-field string
    (`"..."`, with `\\"` and `\\\\` escapes). A key is 1–255 visible ASCII characters.
    """
    value = raw.strip()
    if value.startswith('"'):
        if len(value) < 2 or not value.endswith('"'):
            return None
        chars: list[str] = []
        escaped = False
        for char in value[1:-1]:
            if escaped:
                if char not in '"\\':
                    return None
                chars.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                return None
            else:
                chars.append(char)
        if escaped:
            return None
        value = "".join(chars)
    if not 1 <= len(value) <= MAX_KEY_LENGTH:
        return None
    if not all("!" <= char <= "~" for char in value):
        return None
    return value


def caller_scope(committee: str, unit: str, sub: str) -> str:
    """The column value keys are scoped by: committee, unit and subject, unambiguously joined."""
    scope = json.dumps([committee, unit, sub], ensure_ascii=False, separators=(",", ":"))
    if len(scope) <= 300:
        return scope
    return "sha256:" + hashlib.sha256(scope.encode("utf-8")).hexdigest()


def key_digest(secret: str, caller: str, key: str) -> str:
    """The key as stored: HMAC-SHA256 over the caller's scope and the key, 64 hex characters.

    Never the key itself (a client may put anything in one); bound to the caller, so the same
    key of two callers gives unrelated digests.
    """
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    for part in (b"idempotency-key", caller.encode("utf-8"), key.encode("utf-8")):
        mac.update(len(part).to_bytes(8, "big"))
        mac.update(part)
    return mac.hexdigest()


def canonical_body(body: bytes) -> bytes:
    """JSON bodies in a canonical form (sorted keys, no spaces), so formatting is not a difference."""
    if not body:
        return b""
    try:
        document = json.loads(body)
    except ValueError:
        return body
    # `surrogatepass`: a body may escape an unpaired surrogate (`\udfff`), which plain UTF-8
    # cannot encode; the request is refused by validation, but its fingerprint must not fail first.
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )


def request_fingerprint(secret: str, method: str, path: str, query: str | bytes, body: bytes) -> str:
    """HMAC-SHA256 over method, path, query and canonical body: 64 hex characters, reveals nothing."""
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    canonical_query = urlencode(sorted(parse_qsl(query, keep_blank_values=True)))
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    for part in (method.upper().encode(), path.encode("utf-8"), canonical_query.encode("utf-8"), canonical_body(body)):
        mac.update(len(part).to_bytes(8, "big"))
        mac.update(part)
    return mac.hexdigest()


# --- the claim --------------------------------------------------------------------------------


@dataclass
class IdempotencyClaim:
    """This request's claim on a key: the row `(caller, key_hmac)` with `created_at == claimed_at`."""

    db: Database
    caller: str
    key: str  # the key's digest (`key_digest`), never the key
    fingerprint: str
    claimed_at: dt.datetime
    ttl: dt.timedelta
    session: AsyncSession | None = None
    stored: bool = field(default=False)

    def _owned(self) -> Any:
        return and_(
            IdempotencyRecord.caller == self.caller,
            IdempotencyRecord.key_hmac == self.key,
            IdempotencyRecord.state == IN_PROGRESS,
            IdempotencyRecord.created_at == self.claimed_at,
        )

    async def store(self, response: Response) -> None:
        """Record the response as `done` in the request's own session (committed with its writes)."""
        assert self.session is not None, "the claim is bound to the request's session"
        body = getattr(response, "body", None)
        if not isinstance(body, bytes | memoryview):
            raise RuntimeError("an idempotent route must return a response with a body, not a stream")
        stored_body: dict[str, str]
        try:
            stored_body = {"text": bytes(body).decode("utf-8")}
        except UnicodeDecodeError:
            stored_body = {"base64": base64.b64encode(bytes(body)).decode("ascii")}
        headers = {name: response.headers[name] for name in STORED_HEADERS if name in response.headers}
        now = clock.now()
        result = await self.session.execute(
            update(IdempotencyRecord)
            .where(self._owned())
            .values(
                state=DONE,
                response_status=response.status_code,
                response_body=stored_body,
                response_headers=headers,
                names=ids_named(stored_body, headers),
                expires_at=now + self.ttl,
            )
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) != 1:
            # Our claim was taken over (this request outlived the lease): the other request's
            # outcome stands, and this one's writes roll back with this error.
            log.warning("idempotency_claim_lost")
            raise _in_progress()
        self.stored = True

    async def release(self) -> None:
        """Delete the claim (in its own transaction) so that a retry runs afresh.

        When the database is away (most likely why the request failed), the claim is left to
        `_UNRELEASED`, which deletes it as soon as the database answers again.
        """
        with anyio.CancelScope(shield=True):
            try:
                async with self.db.unsynced() as session, session.begin():
                    await session.execute(
                        delete(IdempotencyRecord).where(self._owned()).execution_options(synchronize_session=False)
                    )
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                _UNRELEASED.add(self)


def _rowcount(result: Any) -> int:
    count = getattr(result, "rowcount", -1)
    return int(count) if count is not None else -1


def _in_progress() -> ProblemError:
    return ProblemError(
        KEY_IN_PROGRESS,
        "A request with this Idempotency-Key is still being processed. Retry shortly.",
        headers={"Retry-After": "1"},
    )


def _replay_response(record: IdempotencyRecord) -> Response:
    stored = record.response_body or {}
    text = stored.get("text")
    content = str(text).encode("utf-8") if text is not None else base64.b64decode(stored.get("base64", ""))
    headers = dict(record.response_headers or {})
    headers[REPLAYED_HEADER] = "true"
    return Response(content=content, status_code=record.response_status or 200, headers=headers)


async def claim_key(
    db: Database,
    caller: str,
    key: str,
    fingerprint: str,
    *,
    now: dt.datetime,
    ttl: dt.timedelta,
    lease: dt.timedelta = LEASE,
) -> IdempotencyClaim:
    """Claim `key` (the digest of the client's key) for `caller` in a short transaction of its own,
    committed on return.

    Raises `ProblemError` 422 (the key was used for another request) or 409 (its first request
    is still running), or `_Replay` with the stored response of a finished first request.
    """
    await _UNRELEASED.release(db)
    try:
        return await _claim_key(db, caller, key, fingerprint, now=now, ttl=ttl, lease=lease)
    except Exception as exc:
        if database_unavailable(exc):
            # The claim may have committed although its answer was lost with the connection: it is
            # released (if it exists: its `created_at` is `now`) once the database is back.
            _UNRELEASED.add(IdempotencyClaim(db, caller, key, fingerprint, now, ttl))
        raise


async def _claim_key(
    db: Database,
    caller: str,
    key: str,
    fingerprint: str,
    *,
    now: dt.datetime,
    ttl: dt.timedelta,
    lease: dt.timedelta,
) -> IdempotencyClaim:
    insert = postgresql.insert if db.is_postgresql else sqlite.insert
    # Committed before the endpoint runs, so a concurrent retry sees it, but not fsynced: a crash
    # that loses the claim loses the request's writes too, and then the retry should run afresh.
    async with db.unsynced() as session, session.begin():
        for _attempt in range(3):
            inserted = await session.execute(
                insert(IdempotencyRecord)
                .values(
                    caller=caller,
                    key_hmac=key,
                    fingerprint=fingerprint,
                    state=IN_PROGRESS,
                    created_at=now,
                    expires_at=now + ttl,
                )
                .on_conflict_do_nothing(index_elements=["caller", "key_hmac"])
            )
            if _rowcount(inserted) == 1:
                return IdempotencyClaim(db, caller, key, fingerprint, now, ttl)
            # The key exists. Expired, or claimed by a request that died: take it over. The
            # condition is re-checked under the row's write lock, so only one taker wins.
            taken = await session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.caller == caller,
                    IdempotencyRecord.key_hmac == key,
                    or_(
                        IdempotencyRecord.expires_at <= now,
                        and_(
                            IdempotencyRecord.fingerprint == fingerprint,
                            IdempotencyRecord.state == IN_PROGRESS,
                            IdempotencyRecord.created_at <= now - lease,
                        ),
                    ),
                )
                .values(
                    fingerprint=fingerprint,
                    state=IN_PROGRESS,
                    response_status=None,
                    response_body=None,
                    response_headers=None,
                    created_at=now,
                    expires_at=now + ttl,
                )
                .execution_options(synchronize_session=False)
            )
            if _rowcount(taken) == 1:
                log.info("idempotency_claim_taken_over")
                return IdempotencyClaim(db, caller, key, fingerprint, now, ttl)
            record = (
                await session.execute(
                    select(IdempotencyRecord).where(
                        IdempotencyRecord.caller == caller, IdempotencyRecord.key_hmac == key
                    )
                )
            ).scalar_one_or_none()
            if record is None:
                continue  # released between our statements: try again
            if not hmac.compare_digest(record.fingerprint, fingerprint):
                raise ProblemError(
                    KEY_REUSED,
                    "This Idempotency-Key was already used for a different request. Use a new key.",
                )
            if record.state != DONE:
                raise _in_progress()
            raise _Replay(_replay_response(record))
    raise _in_progress()  # pragma: no cover - the key kept appearing and disappearing


async def purge_expired(session: AsyncSession, now: dt.datetime) -> int:
    """Delete records that expired at or before `now`; returns how many. The caller commits."""
    result = await session.execute(
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    return max(_rowcount(result), 0)


# --- claims left behind while the database was away -------------------------------------------


class _UnreleasedClaims:
    """Claims whose request failed because the database was unreachable, so their release failed too.

    Without this, such a claim would block its key with 409 until its lease ran out. They are
    kept in memory and deleted once the database answers again: before this process's next claim
    (a retry reaching this process never meets one) and by a background task retrying every
    `RETRY_SECONDS` (for retries reaching another process). Each delete names the exact claim
    (`_owned`: in progress, its own `created_at`), so a claim taken over meanwhile, or a response
    stored by a commit that did reach the database, is never touched. Claims older than `LEASE`
    are dropped: by then a retry takes them over anyway.
    """

    RETRY_SECONDS = 1.0

    def __init__(self) -> None:
        self._claims: list[IdempotencyClaim] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, claim: IdempotencyClaim) -> None:
        self._claims.append(claim)
        log.warning("idempotency_claim_release_deferred")
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._retry())

    def __len__(self) -> int:
        return len(self._claims)

    async def release(self, db: Database) -> None:
        """Delete the left claims of `db`; raises (leaving them) while the database is still away."""
        claims = [c for c in self._claims if c.db is db] if self._claims else []
        if not claims:
            return
        async with db.sessions() as session, session.begin():
            await session.execute(
                delete(IdempotencyRecord)
                .where(or_(*(c._owned() for c in claims)))
                .execution_options(synchronize_session=False)
            )
        released = {id(c) for c in claims}
        self._claims = [c for c in self._claims if id(c) not in released]

    async def _retry(self) -> None:
        while self._claims:
            await asyncio.sleep(self.RETRY_SECONDS)
            horizon = clock.now() - LEASE
            self._claims = [c for c in self._claims if c.claimed_at > horizon]
            for db in {id(c.db): c.db for c in self._claims}.values():
                with contextlib.suppress(Exception):  # still away: next round
                    await self.release(db)


_UNRELEASED = _UnreleasedClaims()


# --- the dependency and the route class ---------------------------------------------------------


async def _claim(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description=HEADER_DESCRIPTION,
            json_schema_extra={
                "minLength": 1,
                "maxLength": MAX_KEY_LENGTH,
                "examples": ["6f1c2a0e-2b1d-4c9e-9a57-3d2f0c1b7e44"],
            },
        ),
    ] = None,
) -> AsyncIterator[IdempotencyClaim | None]:
    """Request-scoped: claims the key before the endpoint; releases it if the request fails.

    The release runs after the request's transaction has rolled back (request scope ends after
    the function-scoped session), so it never waits on the request's own locks.
    """
    if idempotency_key is None:
        yield None
        return
    if not request.scope.get(_ROUTE_FLAG):
        raise RuntimeError("IdempotencyDep needs the route class: APIRouter(..., route_class=IdempotentRoute)")
    caller = getattr(request.state, "caller", None)
    if caller is None:
        raise RuntimeError("declare IdempotencyDep after the authenticated caller parameter")
    key = parse_key(idempotency_key)
    if key is None:
        raise ProblemError(KEY_INVALID, f"An {HEADER} must be 1–{MAX_KEY_LENGTH} visible ASCII characters.")
    settings: Settings = request.app.state.settings
    db: Database = request.app.state.db
    secret = settings.idempotency_secret.get_secret_value()
    query: bytes = request.scope.get("query_string", b"")
    fingerprint = request_fingerprint(secret, request.method, request.scope["path"], query, await request.body())
    scope = caller_scope(caller.committee, caller.unit, caller.sub)
    claim = await claim_key(
        db,
        scope,
        key_digest(secret, scope, key),
        fingerprint,
        now=clock.now(),
        ttl=dt.timedelta(hours=settings.idempotency_ttl_hours),
    )
    try:
        yield claim
    except BaseException:
        await claim.release()
        raise
    if not claim.stored:
        await claim.release()


async def _bind(
    request: Request,
    claim: Annotated[IdempotencyClaim | None, Depends(_claim)],
    session: SessionDep,
) -> IdempotencyClaim | None:
    """Binds the claim to the request's session, where `IdempotentRoute` will store the response."""
    if claim is not None:
        claim.session = session
        request.scope[_CLAIM] = claim
    return claim


IdempotencyDep = Annotated[IdempotencyClaim | None, Depends(_bind)]
"""Add as a parameter (after the caller) to a POST route of an `IdempotentRoute` router."""


def _uses_idempotency(dependant: Any) -> bool:
    return any(d.call is _claim or _uses_idempotency(d) for d in getattr(dependant, "dependencies", []))


class IdempotentRoute(APIRoute):
    """Route class for routers with idempotent routes: stores the response before the commit.

    FastAPI runs the route handler inside the function-scoped dependency stack, so when the
    wrapped handler returns, the request's session is still open and uncommitted.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if _uses_idempotency(self.dependant):
            for status, doc in problem_openapi(400, 409, 422).items():
                self.responses.setdefault(status, doc)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def idempotent_handler(request: Request) -> Response:
            request.scope[_ROUTE_FLAG] = True
            try:
                response = await handler(request)
            except _Replay as replay:
                log.info("idempotent_replay", status=replay.response.status_code)
                return replay.response
            claim: IdempotencyClaim | None = request.scope.get(_CLAIM)
            if claim is not None:
                await claim.store(response)
            return response

        return idempotent_handler
