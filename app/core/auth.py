"""Bearer JWT authentication and scope checks. Never touches the database.

Dev and test: HS256 tokens signed with `IUB_AUTH_DEV_SECRET` (`iub token` prints one).
Prod: RS256/ES256 tokens verified against the identity provider's JWKS (PyJWT's client
caches the keys). Its fetch is blocking I/O, so it runs in a worker thread, never on the
event loop: at start-up (a prefetch) and whenever a token names a key not yet cached or the
cached set has expired. An identity provider that cannot be reached is a 503, not a 401: the
token may well be good. Verified tokens are cached until they expire, so a hot endpoint pays
for signature checking once per token, not once per request.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import jwt
import structlog
from fastapi import Request
from fastapi.security import HTTPBearer

from app.core.errors import FORBIDDEN, UNAUTHENTICATED, ProblemError, problem_type
from app.core.inbound import unstorable_text
from app.core.settings import Settings

log = structlog.get_logger("iub.auth")

IDENTITY_PROVIDER_UNAVAILABLE = problem_type(
    "identity-provider-unavailable",
    503,
    "The identity provider is not reachable",
    "The service could not fetch the identity provider's signing keys (JWKS) to verify the token. "
    "Retry after the `Retry-After` seconds.",
)

SCOPES: dict[str, str] = {
    "catalog:read": "Read the catalog of IUB interventions",
    "catalog:write": "Record committee decisions (nämndbeslut)",
    "eligibility:check": "Summary check of facts against conditions (summarisk kontroll)",
    "cases:read": "Read the calling unit's cases",
    "cases:write": "Open and document cases (ärenden)",
    "registry:read": "Ask whether a person has identified IUB cases (förekomst)",
    "stats:read": "Unit-level follow-up statistics",
    "disposal:propose": "Propose disposal (gallring) lists",
    "disposal:approve": "Approve disposal lists proposed by someone else (four eyes)",
    "disposal:hold": "Set and release legal holds on files",
    "disposal:read": "Read disposal lists, the due forecast and disposal certificates",
    "outbox:admin": "Inspect and retry journal-system deliveries",
    "audit:read": "Read the audit trail",
    "persons:protect": "Clear a person's protected identity (skyddade personuppgifter)",
    "catalog:admin": "Register new committees (catalog:write renames only the own committee)",
    "audit:committee": "With audit:read: the audit trail of every unit of the committee, not only the own",
    "outbox:admin:all": "With outbox:admin: every committee's deliveries, not only the own committee's",
}

DEV_ISSUER = "iub-dev"
DEV_AUDIENCE = "iub"
_REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]
# Claims the service records (as actor, unit, committee): at most what their columns hold.
_CLAIM_MAX_LENGTH = {"sub": 200, "unit": 100, "committee": 64}


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls: a system or a person, in a provider unit, on behalf of a committee."""

    sub: str
    unit: str
    committee: str
    scopes: frozenset[str]
    expires_at: float

    def has(self, scope: str) -> bool:
        return scope in self.scopes


class TokenVerifier:
    """Turns a bearer token into a Caller, or raises ProblemError(401)."""

    def __init__(self, settings: Settings, *, cache_size: int = 4096) -> None:
        self._issuer = settings.auth_issuer
        self._audience = settings.auth_audience
        self._leeway = settings.auth_leeway_seconds
        self._cache: OrderedDict[str, Caller] = OrderedDict()
        self._cache_size = cache_size
        self._jwks: jwt.PyJWKClient | None = None
        self._secret: str | None = None
        if settings.uses_dev_tokens:
            self._secret = settings.auth_dev_secret
            self._algorithms = ["HS256"]
        else:
            assert settings.auth_jwks_url, "settings refuse prod without a JWKS URL"
            self._jwks = jwt.PyJWKClient(settings.auth_jwks_url, cache_keys=True, lifespan=600)
            self._algorithms = ["RS256", "ES256"]

    async def verify(self, token: str) -> Caller:
        cached = self._cache.get(token)
        if cached is not None and cached.expires_at + self._leeway > time.time():
            self._cache.move_to_end(token)
            return cached
        key: Any = self._secret if self._jwks is None else await self._signing_key(token)
        caller = self._decode(token, key)
        self._cache[token] = caller
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return caller

    async def prefetch(self) -> None:
        """Fetch the JWKS (in a worker thread) so that the first requests find the keys cached."""
        if self._jwks is None:
            return
        try:
            await anyio.to_thread.run_sync(self._jwks.get_jwk_set)
        except jwt.PyJWKClientError as exc:  # not fatal: requests fetch again, and answer 503 meanwhile
            log.warning("jwks_prefetch_failed", error=type(exc).__name__)

    async def _signing_key(self, token: str) -> Any:
        assert self._jwks is not None
        try:
            # Blocking HTTP when the key is not cached: in a worker thread, off the event loop.
            signing_key = await anyio.to_thread.run_sync(self._jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as exc:
            log.warning("jwks_unreachable", error=type(exc).__name__)
            raise ProblemError(
                IDENTITY_PROVIDER_UNAVAILABLE,
                "The identity provider's keys could not be fetched. Retry shortly.",
                headers={"Retry-After": "5"},
            ) from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise _unauthenticated("The token is not valid.", "invalid_token") from exc
        return signing_key.key

    def _decode(self, token: str, key: Any) -> Caller:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,  # a fixed list: `alg: none` and alg confusion are refused
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _unauthenticated("The token has expired.", "invalid_token") from exc
        except jwt.InvalidAudienceError as exc:
            raise _unauthenticated("The token is meant for another audience.", "invalid_token") from exc
        except jwt.InvalidIssuerError as exc:
            raise _unauthenticated("The token comes from an unknown issuer.", "invalid_token") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise _unauthenticated("The token is not valid.", "invalid_token") from exc
        unit, committee = claims.get("unit"), claims.get("committee")
        scope = claims.get("scope", "")
        if not isinstance(unit, str) or not isinstance(committee, str) or not isinstance(scope, str):
            raise _unauthenticated("The token lacks the `unit`, `committee` or `scope` claim.", "invalid_token")
        recorded = {"sub": str(claims["sub"]), "unit": unit, "committee": committee}
        if any(not 1 <= len(v) <= _CLAIM_MAX_LENGTH[k] or unstorable_text(v) for k, v in recorded.items()):
            raise _unauthenticated(
                "The token's `sub`, `unit` or `committee` is empty, too long or holds unusable characters.",
                "invalid_token",
            )
        return Caller(
            sub=recorded["sub"],
            unit=unit,
            committee=committee,
            scopes=frozenset(scope.split()),
            expires_at=float(claims["exp"]),
        )


def _unauthenticated(detail: str, error: str | None = None) -> ProblemError:
    challenge = 'Bearer realm="iub"' + (f', error="{error}"' if error else "")
    return ProblemError(UNAUTHENTICATED, detail, headers={"WWW-Authenticate": challenge})


def issue_dev_token(
    settings: Settings, *, sub: str, unit: str, committee: str, scope: str, ttl_seconds: int = 3600
) -> str:
    """A dev/test token (HS256, iss `iub-dev`, aud `iub`). Refused in prod."""
    if not settings.uses_dev_tokens:
        raise RuntimeError("dev tokens are not available with IUB_ENV=prod")
    now = int(time.time())
    claims = {
        "sub": sub,
        "unit": unit,
        "committee": committee,
        "scope": scope,
        "iat": now,
        "exp": now + ttl_seconds,
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
    }
    return jwt.encode(claims, settings.auth_dev_secret, algorithm="HS256")


BEARER_DESCRIPTION = (
    "A JWT with the claims sub, unit, committee, scope, exp, iss, aud. "
    "In dev: `iub token --all-scopes` prints one with every scope (sub `dev`, unit `unit-a`, "
    "committee `sn-sydvast`)."
)


def get_verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


class ScopedBearer(HTTPBearer):
    """One dependency that reads the bearer token, verifies it and demands a scope.

    A subclass of FastAPI's HTTPBearer so OpenAPI and Swagger UI's Authorize button know the
    scheme; a single dependency level, because each level costs tens of µs per request.
    """

    def __init__(self, scope: str | None) -> None:
        super().__init__(auto_error=False, scheme_name="bearer", description=BEARER_DESCRIPTION)
        self.scope = scope

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        # Read from the ASGI scope, as `request.headers` reads it (the first such header, as
        # Latin-1), without building the request's header and state objects on every request.
        scope = request.scope
        authorization = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if not token or scheme.lower() != "bearer":
            raise _unauthenticated("A bearer token is required.")
        verifier: TokenVerifier = scope["app"].state.verifier
        caller = await verifier.verify(token)
        scope.setdefault("state", {})["caller"] = caller  # `request.state.caller`
        if self.scope is not None and not caller.has(self.scope):
            raise ProblemError(
                FORBIDDEN,
                f"This operation requires the scope `{self.scope}`.",
                required_scope=self.scope,
                headers={"WWW-Authenticate": f'Bearer realm="iub", error="insufficient_scope", scope="{self.scope}"'},
            )
        return caller


authenticated = ScopedBearer(None)


def require(scope: str) -> ScopedBearer:
    """A dependency that authenticates and demands `scope` (401 without a valid token, 403 without it)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return ScopedBearer(scope)
