"""Stored first responses of POST requests carrying an `Idempotency-Key`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, JsonDoc
from app.core.utc import UtcDateTime


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    # Keys are scoped to the caller (token `committee`, `unit` and `sub`).
    caller: Mapped[str] = mapped_column(String(300), primary_key=True)
    # HMAC of the caller and the key (`key_digest`): the key itself is never stored.
    key_hmac: Mapped[str] = mapped_column(String(64), primary_key=True)
    # HMAC of method, route and body: tells a retry from a different request, reveals nothing.
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))  # in_progress | done
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[Any | None] = mapped_column(JsonDoc, nullable=True)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JsonDoc, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
