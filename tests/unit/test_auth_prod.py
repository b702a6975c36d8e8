"""Production verifies RS256/ES256 tokens against the identity provider's JWKS."""

from __future__ import annotations

import json
import time
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
