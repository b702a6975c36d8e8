"""The real application plus one route that fails the way a careless query would, served by uvicorn.

`POST /v1/_failing` binds the submitted `personnummer` into a statement the database rejects
with the value in its message (PostgreSQL: asyncpg's "invalid input for query argument $1:
'...'"), and otherwise raises an exception whose message carries it. The exception is not
handled: the request gets a 500 and the process logs a traceback (ours and uvicorn's).

Run as `python -m tests.integration.failing_app PORT` with the IUB_* settings in the environment.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from app.cli import serve_app
from app.core.db import SessionDep
from app.core.settings import Settings, get_settings
from app.main import create_app


def add_failing_route(app: FastAPI) -> None:
    async def failing(body: dict[str, Any], session: SessionDep) -> None:
        value = str(body.get("personnummer"))
        # A library logging the value through the standard library, as any dependency might.
        logging.getLogger("iub.journal.dispatcher").warning("looking up %s", value, extra={"value": value})
        if session.bind.dialect.name == "postgresql":
            await session.execute(text("SELECT CAST(:v AS integer)"), {"v": value})
        raise LookupError(f"no person {value!r}")

    app.add_api_route("/v1/_failing", failing, methods=["POST"])


def build(settings: Settings) -> FastAPI:
    app = create_app(settings)
    add_failing_route(app)
    return app


if __name__ == "__main__":
    settings = get_settings()
    serve_app(build(settings), settings, host="127.0.0.1", port=int(sys.argv[1]))
