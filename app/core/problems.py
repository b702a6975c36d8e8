"""`GET /problems/{slug}`: each problem `type` URI resolves to its documentation."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.core.errors import NOT_FOUND, PROBLEM_TYPES, ProblemError, problem_openapi

router = APIRouter(prefix="/problems", tags=["problems"])


class ProblemTypeDoc(BaseModel):
    type: str
    status: int
    title: str
    description: str


class ProblemTypePageDoc(BaseModel):
    items: list[ProblemTypeDoc]
    next_cursor: str | None = Field(description="Always null: every problem type is on the one page.")


@router.get("", response_model=ProblemTypePageDoc)
async def list_problem_types() -> ProblemTypePageDoc:
    """Every problem type the API answers, by slug."""
    return ProblemTypePageDoc(
        items=[
            ProblemTypeDoc(type=k.uri, status=k.status, title=k.title, description=k.description)
            for k in sorted(PROBLEM_TYPES.values(), key=lambda k: k.slug)
        ],
        next_cursor=None,
    )


@router.get("/{slug}", response_model=ProblemTypeDoc, responses=problem_openapi(404))
async def get_problem_type(slug: str) -> ProblemTypeDoc:
    kind = PROBLEM_TYPES.get(slug)
    if kind is None:
        raise ProblemError(NOT_FOUND, "No such problem type.")
    return ProblemTypeDoc(type=kind.uri, status=kind.status, title=kind.title, description=kind.description)
