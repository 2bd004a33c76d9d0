"""Reading page forms into the API's models, so a form and the API refuse alike."""

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.datastructures import FormData

from crc.requests import DeploymentAmend, DeploymentCreate
from web.services.errors import InvalidFields

Model = TypeVar("Model", bound=BaseModel)
Value = TypeVar("Value")

REQUEST_FIELDS = tuple(DeploymentCreate.model_fields)
AMEND_FIELDS = tuple(DeploymentAmend.model_fields)


def form_values(form: FormData, fields: tuple[str, ...]) -> dict[str, str]:
    """The typed text of each field, kept to show again."""
    values: dict[str, str] = {}
    for name in fields:
        value = form.get(name)
        values[name] = value if isinstance(value, str) else ""
    return values


def parse_form(model: type[Model], form: FormData) -> Model:
    """The model the form describes, or InvalidFields with the model's message per bad field.

    Each value goes to the model as typed, as a JSON body would bring it; a field the form
    does not send (a radio group with nothing chosen) is missing, as in a body without it.
    """
    sent = {name: value for name in model.model_fields if isinstance(value := form.get(name), str)}
    return parse_values(model, sent)


def parse_values(model: type[Model], values: Mapping[str, Any]) -> Model:
    """The model of these values, or InvalidFields with the model's message per bad field."""
    try:
        return model.model_validate(values)
    except ValidationError as err:
        raise InvalidFields.from_validation_error(err) from None


# For what a form shows while it is filled in (the member search); submitting it decides.
def read_as(field_type: TypeAdapter[Value], text: str) -> Value | None:
    """The text as the API reads a field of this type, or None where the API would refuse it."""
    try:
        return field_type.validate_python(text)
    except ValidationError:
        return None
