"""Reading request forms into the API's models, with a message per bad field."""

from datetime import date
from typing import Any

from starlette.datastructures import FormData

from web.schemas import DeploymentAmend, DeploymentCreate
from web.services.errors import FieldError, InvalidFields

REQUEST_FIELDS = (
    "member_id",
    "post_code",
    "sector",
    "role_title",
    "start_date",
    "duration_days",
    "justification",
    "urgent_justification",
)
AMEND_FIELDS = (
    "sector",
    "role_title",
    "start_date",
    "duration_days",
    "justification",
    "urgent_justification",
    "comment",
)


def form_values(form: FormData, fields: tuple[str, ...]) -> dict[str, str]:
    """The typed text of each field, kept to show again."""
    values: dict[str, str] = {}
    for name in fields:
        value = form.get(name)
        values[name] = value if isinstance(value, str) else ""
    return values


def _parse(values: dict[str, str], errors: list[FieldError]) -> dict[str, Any]:
    parsed: dict[str, Any] = dict(values)
    for name in ("member_id", "duration_days"):
        if name in values:
            try:
                parsed[name] = int(values[name])
            except ValueError:
                errors.append(FieldError(name, "must be a whole number"))
    if "start_date" in values:
        try:
            parsed["start_date"] = date.fromisoformat(values["start_date"])
        except ValueError:
            errors.append(FieldError("start_date", "must be a date (YYYY-MM-DD)"))
    if "member_id" in values and not values["member_id"]:
        errors[:] = [e for e in errors if e.field != "member_id"]
        errors.append(FieldError("member_id", "choose a member"))
    if "post_code" in values and not values["post_code"]:
        errors.append(FieldError("post_code", "choose a post"))
    return parsed


def request_from_form(values: dict[str, str]) -> DeploymentCreate:
    """The request the form describes, or InvalidFields for what cannot be read."""
    errors: list[FieldError] = []
    parsed = _parse(values, errors)
    if errors:
        raise InvalidFields(errors)
    parsed["urgent_justification"] = parsed.get("urgent_justification") or None
    return DeploymentCreate.model_validate(parsed)


def amendment_from_form(values: dict[str, str]) -> DeploymentAmend:
    """The amendment the form describes, or InvalidFields for what cannot be read."""
    errors: list[FieldError] = []
    parsed = _parse(values, errors)
    if errors:
        raise InvalidFields(errors)
    parsed["urgent_justification"] = parsed.get("urgent_justification") or None
    parsed["comment"] = parsed.get("comment") or None
    return DeploymentAmend.model_validate(parsed)
