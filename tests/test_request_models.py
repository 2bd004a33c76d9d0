"""The request model family: one field list, one set of rules, and the workflow's shapes kept."""

from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from crc.requests import AMENDABLE_FIELDS, DeploymentAmend, DeploymentBase, DeploymentCreate
from crc.types import Amendment, ApprovalPolicy, DeploymentRequest
from tests.request_cases import STATIC, BadField

VALID: dict[str, Any] = {
    "member_id": 7,
    "post_code": "JUB",
    "sector": "rule_of_law",
    "role_title": "Rule of law adviser",
    "start_date": "2031-01-05",
    "duration_days": 90,
    "justification": "The court reform programme needs an adviser.",
}


def refusals(model: type[BaseModel], data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, type, message) of each error the model finds in `data`."""
    try:
        model.model_validate(data)
    except ValidationError as err:
        return [(str(e["loc"][0]), e["type"], e["msg"]) for e in err.errors()]
    return []


def test_amendable_fields_are_the_base_fields() -> None:
    assert AMENDABLE_FIELDS == (
        "sector",
        "role_title",
        "start_date",
        "duration_days",
        "justification",
        "urgent_justification",
    )
    assert tuple(DeploymentAmend.model_fields) == (*AMENDABLE_FIELDS, "comment")
    assert DeploymentAmend().changes() == {}


@pytest.mark.parametrize("bad", [case for case in STATIC if case.values[0].field in AMENDABLE_FIELDS])
def test_an_amendment_keeps_the_rules_of_a_request(bad: BadField) -> None:
    expected = [(bad.field, bad.type, bad.msg)]
    assert refusals(DeploymentCreate, VALID | {bad.field: bad.json_value()}) == expected
    assert refusals(DeploymentAmend, {bad.field: bad.json_value()}) == expected
    assert refusals(Amendment, {"user": "req.user", bad.field: bad.json_value()}) == expected


def test_a_blank_optional_text_is_none() -> None:
    request = DeploymentCreate.model_validate(VALID | {"urgent_justification": "  "})
    amendment = DeploymentAmend.model_validate({"urgent_justification": "", "comment": " "})
    assert (request.urgent_justification, amendment.urgent_justification, amendment.comment) == (
        None,
        None,
        None,
    )


def test_workflow_messages_keep_their_field_names() -> None:
    # Running workflows hold these shapes in their histories (fields are only ever added, with
    # defaults: call_up came with the 48-hour call-up).
    assert set(DeploymentRequest.model_fields) == {
        "deployment_id",
        "member_id",
        "member_name",
        "member_component",
        "member_agency",
        "post_code",
        "sector",
        "role_title",
        "start_date",
        "duration_days",
        "justification",
        "urgent_justification",
        "requested_by",
        "call_up",
        "approval",
        "lifecycle",
        "carried",
    }
    assert DeploymentRequest.model_fields["call_up"].default is False
    assert set(Amendment.model_fields) == {
        "user",
        "start_date",
        "duration_days",
        "sector",
        "role_title",
        "justification",
        "urgent_justification",
        "comment",
    }
    assert issubclass(DeploymentRequest, DeploymentBase)
    assert issubclass(Amendment, DeploymentAmend)


def test_a_workflow_input_round_trips_through_json() -> None:
    request = DeploymentRequest.model_validate(
        {
            **VALID,
            "deployment_id": "d-1",
            "member_name": "Maria Delgado",
            "member_component": "active",
            "member_agency": "State",
            "requested_by": "requester",
            "approval": ApprovalPolicy(due_seconds=86400, reminder_before_seconds=21600),
        }
    )
    again = DeploymentRequest.model_validate_json(request.model_dump_json())
    assert again == request
    assert (again.start_date, again.urgent_justification, again.carried) == (date(2031, 1, 5), None, None)
