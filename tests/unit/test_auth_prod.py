"""Production verifies RS256/ES256 tokens against the identity provider's JWKS."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.core.auth import TokenVerifier
from app.core.errors import ProblemError
from app.core.settings import Env, Settings

ISSUER = "https://idp.example"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    data: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "alg": alg, "use": "sig"}


JWKS = {"keys": [_jwk(RSA_KEY, "rsa-1", "RS256"), _jwk(EC_KEY, "ec-1", "ES256")]}


@pytest.fixture
def verifier(monkeypatch: pytest.MonkeyPatch) -> TokenVerifier:
    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", lambda self: JWKS)
    settings = Settings(env=Env.prod, auth_jwks_url=f"{ISSUER}/jwks", auth_issuer=ISSUER, idempotency_secret="s" * 32)
    return TokenVerifier(settings)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "portal", "unit": "u1", "committee": "sn-sydvast", "scope": "eligibility:check",
            "iat": now, "exp": now + 300, "iss": ISSUER, "aud": "iub"}  # fmt: skip
    return {**base, **overrides}


@pytest.mark.parametrize(("key", "kid", "alg"), [(RSA_KEY, "rsa-1", "RS256"), (EC_KEY, "ec-1", "ES256")])
async def test_tokens_signed_by_the_identity_provider_are_accepted(
    verifier: TokenVerifier, key: Any, kid: str, alg: str
):
    token = jwt.encode(claims(), key, algorithm=alg, headers={"kid": kid})
    caller = await verifier.verify(token)
    assert (caller.sub, caller.unit, caller.committee) == ("portal", "u1", "sn-sydvast")
    assert caller.has("eligibility:check")


async def test_an_hs256_token_is_refused_in_prod_even_keyed_with_the_public_key(verifier: TokenVerifier):
    public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"kid": "rsa-1", "alg": "HS256", "typ": "JWT"}
    forged = jwt.api_jws.PyJWS().encode(
        json.dumps(claims()).encode(), key=public_pem.decode()[:64] * 2, algorithm="HS256", headers=header
    )
    with pytest.raises(ProblemError) as refused:
        await verifier.verify(forged)
    assert refused.value.status == 401


async def test_expired_and_foreign_issuer_tokens_are_refused_in_prod(verifier: TokenVerifier):
    for bad in (claims(exp=int(time.time()) - 600), claims(iss="https://other.example")):
        token = jwt.encode(bad, RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"})
        with pytest.raises(ProblemError) as refused:
            await verifier.verify(token)
        assert refused.value.status == 401


class _JwksServer:
    """A JWKS endpoint on loopback that answers each fetch only once `release` is set (or after 10 s)."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.release = threading.Event()
        self.answered_after_release: list[bool] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requested.set()
                outer.answered_after_release.append(outer.release.wait(timeout=10))
                body = json.dumps(JWKS).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_server() -> Iterator[_JwksServer]:
    server = _JwksServer()
    yield server
    server.close()


def _prod_verifier(jwks_url: str) -> TokenVerifier:
    return TokenVerifier(
        Settings(env=Env.prod, auth_jwks_url=jwks_url, auth_issuer=ISSUER, idempotency_secret="s" * 32)
    )


async def test_fetching_the_jwks_leaves_the_event_loop_free(jwks_server: _JwksServer):
    verifier = _prod_verifier(jwks_server.url)
    token = jwt.encode(claims(), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"})

    async def meanwhile_on_the_loop() -> None:
        # Runs only if the fetch does not hold the event loop; the endpoint waits for it.
        await asyncio.to_thread(jwks_server.requested.wait, 10)
        jwks_server.release.set()

    caller, _ = await asyncio.gather(verifier.verify(token), meanwhile_on_the_loop())
    assert caller.sub == "portal"
    assert jwks_server.answered_after_release == [True], "the loop ran while the keys were fetched"


async def test_the_jwks_is_prefetched_so_the_first_request_fetches_nothing(jwks_server: _JwksServer):
    jwks_server.release.set()
    verifier = _prod_verifier(jwks_server.url)
    await verifier.prefetch()
    assert len(jwks_server.answered_after_release) == 1
    token = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "ec-1"})
    assert (await verifier.verify(token)).unit == "u1"
    assert len(jwks_server.answered_after_release) == 1


async def test_an_unreachable_identity_provider_is_a_503_not_a_401():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    verifier = _prod_verifier(f"http://127.0.0.1:{port}/jwks")
    await verifier.prefetch()  # logs, does not fail the start
    token = jwt.encode(claims(), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"})
    with pytest.raises(ProblemError) as unavailable:
        await verifier.verify(token)
    assert unavailable.value.status == 503
    assert unavailable.value.kind.slug == "identity-provider-unavailable"
    assert "Retry-After" in (unavailable.value.headers or {})


@pytest.mark.parametrize(
    "claim", [{"sub": "s" * 201}, {"unit": "u" * 101}, {"committee": "c" * 65}, {"sub": "a\x00b"}, {"unit": ""}]
)
async def test_claims_that_no_column_could_record_are_refused(verifier: TokenVerifier, claim: dict[str, str]):
    token = jwt.encode(claims(**claim), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"})
    with pytest.raises(ProblemError) as refused:
        await verifier.verify(token)
    assert refused.value.status == 401
