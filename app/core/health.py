"""Liveness and readiness; unauthenticated, as orchestrators expect."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.core.db import DatabaseDep
from app.core.errors import UNAVAILABLE, problem_response

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
async def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "The database is not reachable."}})
async def ready(db: DatabaseDep) -> JSONResponse:
    """The service can serve: the database answers."""
    try:
        async with db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return problem_response(UNAVAILABLE, "The database is not reachable.")
    return JSONResponse({"status": "ok", "database": "ok"})
