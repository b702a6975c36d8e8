"""The bare baseline: the least a FastAPI endpoint can do, served like the real one.

`python -m bench.bare --port PORT --database-url URL` serves, under uvicorn (one worker,
uvloop, httptools, no access log: as `iub serve` runs):

- `POST /bare/insert`: one ORM insert of a small row and a commit, through SQLAlchemy's async
  session on asyncpg (the same engine options as the application's): the floor under every write;
- `POST /bare/echo`: the eligibility check's request body parsed and validated by the same
  pydantic model, answered with a small dict: the floor under a validated POST;
- `GET /bare/get`: a small JSON answer: the floor under a read.

No authentication, no middleware, no problem handlers, no audit: what the real endpoints do
beyond these is what the ratios measure. The table `bench_bare` is created at start-up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import DateTime, String, Text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.core.db import POOL_OVERFLOW, POOL_SIZE
from app.eligibility.schemas import CheckRequest


class _Base(DeclarativeBase):
    pass


class BareRow(_Base):
    __tablename__ = "bench_bare"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def create_bare_app(database_url: str) -> FastAPI:
    # The service's pool (a fixed one of 20), so that the ratios do not measure a pool difference.
    engine = create_async_engine(database_url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
    sessions = async_sessionmaker(engine, expire_on_commit=False, class_=AsyncSession)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(_Base.metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)

    @app.post("/bare/insert", status_code=201)
    async def insert(body: dict[str, Any]) -> dict[str, str]:
        row = BareRow(
            id=str(uuid.uuid4()),
            kind=str(body.get("kind", "note")),
            text=str(body.get("text", "")),
            created_at=dt.datetime.now(dt.UTC),
        )
        async with sessions() as session:
            session.add(row)
            await session.commit()
        return {"id": row.id}

    @app.post("/bare/echo")
    async def echo(body: CheckRequest) -> dict[str, Any]:
        return {"ok": True, "fields": len(body.model_fields_set)}

    @app.get("/bare/get")
    async def get() -> dict[str, bool]:
        return {"ok": True}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.bare")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_bare_app(args.database_url), host=args.host, port=args.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
