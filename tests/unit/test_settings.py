"""Production refuses to start with development auth."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.settings import Env, Settings


def test_prod_without_a_key_source_refuses_to_start() -> None:
    with pytest.raises(ValidationError, match="IUB_AUTH_JWKS_URL"):
        Settings(env=Env.prod, auth_issuer="https://idp.example")


def test_prod_with_the_dev_secret_refuses_to_start() -> None:
    with pytest.raises(ValidationError, match="IUB_AUTH_DEV_SECRET"):
        Settings(
            env=Env.prod,
            auth_dev_secret="anything",
            auth_jwks_url="https://idp.example/jwks",
            auth_issuer="https://idp.example",
        )


def test_prod_with_jwks_and_issuer_starts() -> None:
    settings = Settings(
        env=Env.prod,
        auth_jwks_url="https://idp.example/jwks",
        auth_issuer="https://idp.example",
        idempotency_secret="s" * 32,
    )
    assert not settings.uses_dev_tokens


def test_dev_defaults_to_sqlite_under_var() -> None:
    settings = Settings(env=Env.dev)
    assert settings.database_url.startswith("sqlite+aiosqlite:///var/")
