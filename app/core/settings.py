"""Settings from the environment (prefix `IUB_`), validated once at start-up."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "iub-dev-secret-change-me-not-for-production"
DEV_IDEMPOTENCY_SECRET = "iub-dev-idempotency-secret-not-for-production"


class Env(StrEnum):
    dev = "dev"
    test = "test"
    prod = "prod"


class LogFormat(StrEnum):
    json = "json"
    console = "console"


class SettingsError(ValueError):
    """A configuration that must not start."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IUB_", env_file=".env", extra="ignore")

    env: Env = Env.dev
    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{Path('var') / 'iub.sqlite3'}",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///... or postgresql+asyncpg://...",
    )
    log_format: LogFormat = LogFormat.console
    log_level: str = "INFO"

    auth_dev_secret: str = DEV_SECRET
    auth_jwks_url: str | None = None
    auth_issuer: str = "iub-dev"
    auth_audience: str = "iub"
    auth_leeway_seconds: int = 30

    # Request bodies larger than this are answered 413 before they are read further.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    # The catalog is held in memory; other processes' writes are picked up this often.
    catalog_refresh_seconds: float = 30.0

    # Idempotency keys are kept this long (Stripe keeps 24 h).
    idempotency_ttl_hours: int = 24
    # Keys the HMAC that fingerprints idempotent requests (bodies can hold personnummer).
    idempotency_secret: SecretStr = SecretStr(DEV_IDEMPOTENCY_SECRET)

    # Journal system: "embedded" runs the simulator in-process (dev default).
    journal_base_url: str = "embedded"
    journal_timeout_seconds: float = 5.0
    # The HTTP client towards a real base URL: "http1" (the lean keep-alive client) or "aiohttp".
    journal_client: Literal["http1", "aiohttp"] = "http1"
    outbox_max_attempts: int = 12
    # Delivered events are kept this long for operations to look back, then purged (`iub purge`).
    outbox_retention_days: int = 30
    # Audit records (access logs, SoLPUL 10 §) are kept this long, then purged (`iub purge`). No
    # regulation sets the period; ten years covers the general limitation period of a damages
    # claim for an unlawful access (preskriptionslagen 2 §) and twice the file's own retention
    # (README, "Configuration"). The committee's records plan may choose otherwise.
    audit_retention_years: int = Field(default=10, ge=1, le=100)

    # The committee's session cap counts a person's sessions of an intervention in their cases
    # opened within this many months: a new case does not start the cap again.
    session_cap_window_months: int = Field(12, ge=1, le=120)
    outbox_in_process: bool | None = None  # default: on in dev

    # Unit-level statistics: disclosure control (README, "Statistics"), and how old the published
    # snapshot of a committee may be before a read recomputes it (`iub stats refresh` keeps it fresh).
    stats_disclosure_method: Literal["cell_key", "suppression"] = "cell_key"
    stats_threshold: int = Field(default=5, ge=2, le=100)
    stats_refresh_seconds: float = Field(default=600.0, ge=0)

    # Disposal (gallring, README "Disposal"): archive packages are written to `archive_dir` (a ZIP
    # each, or a folder), approved lists run in batches of `disposal_batch_size` files, and
    # `iub worker` runs them every `disposal_interval_hours` unless `disposal_in_worker` is off.
    archive_dir: Path = Path("var") / "archive"
    archive_as_zip: bool = True
    disposal_batch_size: int = Field(default=2000, ge=1, le=10000)
    disposal_concurrency: int = Field(default=2, ge=1, le=16)  # batches at once (PostgreSQL only)
    disposal_in_worker: bool = True
    disposal_interval_hours: float = Field(default=24.0, gt=0)
    # The submitting organisation named in every package (E-ARK SIP15-20); default: the committee.
    archive_submitting_organisation: str | None = None
    archive_submitting_organisation_code: str | None = None

    # OpenTelemetry tracing of requests, database calls and journal calls (off by default): spans
    # exported over OTLP/HTTP to this endpoint (default: OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4318).
    tracing_enabled: bool = False
    tracing_otlp_endpoint: str | None = None
    tracing_service_name: str = "iub"

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env is not Env.prod:
            return self
        problems = []
        if "auth_dev_secret" in self.model_fields_set:
            problems.append("IUB_AUTH_DEV_SECRET is a development setting: unset it (prod verifies via the JWKS)")
        if not self.auth_jwks_url:
            problems.append("IUB_AUTH_JWKS_URL is not set: there is no source of keys to verify tokens")
        if self.auth_issuer == "iub-dev":
            problems.append("IUB_AUTH_ISSUER is still the development issuer 'iub-dev'")
        idempotency_secret = self.idempotency_secret.get_secret_value()
        if idempotency_secret == DEV_IDEMPOTENCY_SECRET or len(idempotency_secret) < 32:
            problems.append("IUB_IDEMPOTENCY_SECRET is not set (a random value of at least 32 characters)")
        if problems:
            raise SettingsError("refusing to start with IUB_ENV=prod: " + "; ".join(problems) + ".")
        return self

    @property
    def uses_dev_tokens(self) -> bool:
        """Dev and test verify HS256 tokens signed with the dev secret; prod uses the JWKS."""
        return self.env is not Env.prod

    @property
    def run_outbox_in_process(self) -> bool:
        if self.outbox_in_process is not None:
            return self.outbox_in_process
        return self.env is Env.dev


class MigrationSettings(BaseSettings):
    """What `iub migrate` (and alembic) reads: the database and how to log, nothing else. A release
    step migrates with only IUB_DATABASE_URL, so prod's checks of auth settings do not apply."""

    model_config = SettingsConfigDict(env_prefix="IUB_", env_file=".env", extra="ignore")

    database_url: str = Settings.model_fields["database_url"].default
    log_format: LogFormat = LogFormat.console
    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    return Settings()
