"""`GET /problems/{slug}`: each problem `type` URI resolves to its documentation."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app.core.errors import NOT_FOUND, PROBLEM_TYPES, ProblemError, problem_openapi

router = APIRouter(prefix="/problems", tags=["problems"])


class ProblemTypeDoc(BaseModel):
    type: str
    status: int
    title: str
    description: str


@router.get("", response_model=list[ProblemTypeDoc])
async def list_problem_types() -> list[ProblemTypeDoc]:
    """Every problem type the API answers."""
    return [
        ProblemTypeDoc(type=k.uri, status=k.status, title=k.title, description=k.description)
        for k in sorted(PROBLEM_TYPES.values(), key=lambda k: k.slug)
    ]


@router.get("/{slug}", response_model=ProblemTypeDoc, responses=problem_openapi(404))
async def get_problem_type(slug: str) -> ProblemTypeDoc:
    kind = PROBLEM_TYPES.get(slug)
    if kind is None:
        raise ProblemError(NOT_FOUND, "No such problem type.")
    return ProblemTypeDoc(type=kind.uri, status=kind.status, title=kind.title, description=kind.description)
