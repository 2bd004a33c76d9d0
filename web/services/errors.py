"""Errors the services raise; the API turns them into JSON, the pages into messages."""

from dataclasses import dataclass
from typing import Any, Self

from pydantic import ValidationError


class ServiceError(Exception):
    """A refusal with the HTTP status that fits it."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ServiceError):
    """The thing asked for does not exist."""

    status_code = 404


class Forbidden(ServiceError):
    """The caller may not do this."""

    status_code = 403


class Conflict(ServiceError):
    """The thing is not in a state that allows this."""

    status_code = 409


class Unavailable(ServiceError):
    """A service we depend on (Temporal, the database) does not answer: try again shortly."""

    status_code = 503


# What a 503 tells the client: when to try again.
RETRY_LATER = {"Retry-After": "5"}


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one field of a request body."""

    field: str
    msg: str
    value: Any = None
    # Where the value came from, as FastAPI names it ("body", "header"); dots go deeper ("body.data").
    location: str = "body"

    def as_detail(self) -> dict[str, Any]:
        """The entry FastAPI writes for a validation error."""
        return {"loc": [*self.location.split("."), self.field], "msg": self.msg, "type": "value_error"}


class InvalidFields(ServiceError):
    """One or more fields are wrong; one entry per field."""

    status_code = 422

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.msg}" for e in errors))
        self.errors = errors

    @classmethod
    def from_validation_error(cls, err: ValidationError) -> Self:
        """The fields a model refused, each with its first message (as the API's 422 names them)."""
        first: dict[str, FieldError] = {}
        for error in err.errors():
            field = ".".join(str(part) for part in error["loc"])
            first.setdefault(field, FieldError(field, error["msg"], error.get("input")))
        return cls(list(first.values()))

    def as_detail(self) -> list[dict[str, Any]]:
        """The `detail` list FastAPI writes for validation errors."""
        return [e.as_detail() for e in self.errors]

    def by_field(self) -> dict[str, str]:
        """Messages keyed by field name, for forms."""
        return {e.field: e.msg for e in self.errors}
