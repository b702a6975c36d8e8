"""Authentication and scopes: 401 without a valid token, 403 without the scope."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.conftest import TEST_SECRET

pytestmark = pytest.mark.usefixtures("db")


def claims(**overrides):
    now = int(time.time())
    base = {
        "sub": "s",
        "unit": "u",
        "committee": "sn-sydvast",
        "scope": "catalog:read",
        "iat": now,
        "exp": now + 600,
        "iss": "iub-dev",
        "aud": "iub",
    }
    base.update(overrides)
    return base


async def test_unauthenticated_call_is_401_with_a_challenge(client):
    response = await client.get("/v1/catalog/committees")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["type"] == "/problems/unauthenticated"


async def test_missing_scope_is_403(client, auth):
    response = await client.get("/v1/catalog/committees", headers=auth("cases:read"))
    assert response.status_code == 403
    assert response.json()["required_scope"] == "catalog:read"


async def test_expired_token_is_401(client):
    token = jwt.encode(claims(exp=int(time.time()) - 3600), TEST_SECRET, algorithm="HS256")
    response = await client.get("/v1/catalog/committees", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_wrong_audience_is_401(client):
    token = jwt.encode(claims(aud="someone-else"), TEST_SECRET, algorithm="HS256")
    response = await client.get("/v1/catalog/committees", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_alg_none_is_401(client):
    token = jwt.encode(claims(), key=None, algorithm="none")
    response = await client.get("/v1/catalog/committees", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_wrong_signature_is_401(client):
    token = jwt.encode(claims(), "not-the-secret-not-the-secret-not-the", algorithm="HS256")
    response = await client.get("/v1/catalog/committees", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_token_without_unit_claim_is_401(client):
    token = jwt.encode({k: v for k, v in claims().items() if k != "unit"}, TEST_SECRET, algorithm="HS256")
    response = await client.get("/v1/catalog/committees", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_health_and_docs_need_no_token(client):
    assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/health/ready")).json() == {"status": "ok", "database": "ok"}
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/openapi.json")).status_code == 200
