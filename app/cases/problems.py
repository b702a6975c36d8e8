"""The problem types of cases, persons, the registry and the audit trail. Never echo values."""

from __future__ import annotations

from app.core.errors import VALIDATION, ProblemError, problem_type

INTERVENTION_NOT_OFFERED = problem_type(
    "intervention-not-offered",
    422,
    "The committee does not offer this intervention",
    "The caller's committee offers no IUB intervention with this id on the opening date "
    "(see `GET /v1/catalog/interventions?on=`).",
)
CASE_CLOSED = problem_type(
    "case-closed",
    409,
    "The case is closed",
    "A closed case (avslutat ärende) takes no notes, plan, sessions or second closing.",
)
ILLEGAL_TRANSITION = problem_type(
    "illegal-transition",
    409,
    "The entry does not fit the case's process step",
    "The unit's process (three or five steps) does not allow this entry at the case's current status, "
    "e.g. a follow-up (uppföljning) before the carrying-out started.",
)
SESSION_CAP_REACHED = problem_type(
    "session-cap-reached",
    409,
    "The committee's session cap is reached",
    "The committee's decision caps the sessions (samtal/träffar) of this intervention. Further support "
    "needs a needs-assessed intervention (behovsprövad insats): the person can apply to the social services.",
)

CONDITIONS_NOT_MET = problem_type(
    "conditions-not-met",
    422,
    "The person does not meet the intervention's conditions",
    "The summary check (summarisk kontroll, SoL 11 kap. 5 §) that `POST /v1/eligibility/check` answers "
    "refused the opening: `verdict` is `ineligible` (a condition failed) or `not_yet` (the guardian's consent "
    "is missing, SoL 21 kap. 2 §). `conditions` lists each failed condition with its `condition`, `code` (as "
    "the eligibility check answers it), `paragraph` where the law sets it, and the request `field` it was "
    "decided on; `required_actions` says what would cure it. Nothing was written, and no submitted value is "
    "echoed. Facts the request does not state never refuse an opening.",
)
CASE_ALREADY_OPEN = problem_type(
    "case-already-open",
    409,
    "The person already has a running case of this intervention",
    "An identified person (for a parent-targeted intervention: the child) has one running case per "
    "intervention in a unit, so that the committee's session cap is not started again. `case_id` names the "
    "running case: document in it, or close it first.",
)


_LOCATIONS = ("body.", "query.", "path.", "header.")


def body_path(field: str) -> str:
    """A field's path as the validation problems name it: `body.participant.age` (a path already located
    in the query, path or a header is kept)."""
    return field if field.startswith(_LOCATIONS) else "body." + field


def invalid_fields(*errors: tuple[str, str, str]) -> ProblemError:
    """A 422 validation problem for (field, code, message) triples; messages never hold values.

    A field is a path in the request body (`participant.age`, answered `body.participant.age`) unless
    it names its location (`query.cursor`), as pydantic's validation problems do."""
    listed = [{"field": body_path(f), "code": c, "message": m} for f, c, m in errors]
    fields = ", ".join(sorted({e["field"] for e in listed}))
    return ProblemError(VALIDATION, f"{len(listed)} field(s) failed validation: {fields}.", errors=listed)
