"""The error answers of the API, documented once so that the OpenAPI lists every status code.

Routers and routes pick the codes they can give with `documented(...)`; the bodies are the
`{"detail": ...}` that web/errors.py writes.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from web.services.errors import RETRY_LATER


class FieldProblem(BaseModel):
    """What is wrong with one field, as FastAPI writes a validation error."""

    # FastAPI adds "input" (what was sent) and sometimes "ctx" (the rule's limits).
    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(description='where the field is: ["body", "start_date"], ["query", "limit"]')
    msg: str = Field(description="what to fix")
    type: str


class ErrorMessage(BaseModel):
    """A refusal in words."""

    detail: str = Field(description="what went wrong and what to do about it")


class InvalidRequest(BaseModel):
    """Some of what was sent is not valid: one entry per field (or, rarely, one message)."""

    detail: list[FieldProblem] | str


_RETRY_AFTER = {
    "Retry-After": {
        "description": f"seconds to wait before trying again ({RETRY_LATER['Retry-After']} when a "
        "dependency is down)",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": "how to authenticate: `Bearer`",
        "required": True,
        "schema": {"type": "string"},
    }
}


def _answer(
    description: str, model: type[BaseModel] = ErrorMessage, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    answer: dict[str, Any] = {"model": model, "description": description}
    if headers:
        answer["headers"] = headers
    return answer


ERRORS: dict[int, dict[str, Any]] = {
    400: _answer("The workflow engine refused the request; the operators find why in the log"),
    401: _answer(
        "No valid bearer token (none, expired or revoked), or at sign-in a wrong username or password",
        headers=_WWW_AUTHENTICATE,
    ),
    403: _answer("The caller's role or scope may not do this"),
    404: _answer("Nothing with this id (or nothing the caller may see)"),
    409: _answer(
        "The deployment or task is not at a point where this can be done, or a request with this "
        "Idempotency-Key is still in progress"
    ),
    413: _answer("The request body is too large"),
    422: _answer("Some of what was sent is not valid: one entry per field to fix", InvalidRequest),
    429: _answer("Too many failed sign-ins: wait for Retry-After seconds", headers=_RETRY_AFTER),
    503: _answer(
        "The database or Temporal is not answering, or did not confirm in time: try again after "
        "Retry-After seconds",
        headers=_RETRY_AFTER,
    ),
}


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of these error codes, for a router or a route."""
    return {code: ERRORS[code] for code in codes}


# Every /api/v1 route: a field to fix (text the database cannot store, anywhere), a dependency down.
EVERY_ROUTE = documented(422, 503)
# Routes that need a bearer token.
SIGNED_IN = documented(401)
# Routes that read one thing by its id.
BY_ID = documented(404)
# Decisions sent to a deployment's workflow.
DECISION = documented(400, 403, 404, 409, 413)
