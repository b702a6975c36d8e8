"""Stored first responses of POST requests carrying an `Idempotency-Key`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdArray, JsonDoc
from app.core.utc import UtcDateTime


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    # fastupdate off: lookups never scan a pending list (which grows while autovacuum is off).
    __table_args__ = (
        Index("ix_idempotency_keys_names", "names", postgresql_using="gin", postgresql_with={"fastupdate": "off"}),
    )

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
    # Every id the stored response names (body and headers), so that disposal finds by id, off an
    # index, the responses naming a disposed case or person (`idempotency_erasure.py`).
    names: Mapped[list[str] | None] = mapped_column(IdArray, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
