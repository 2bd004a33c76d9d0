"""crc.permissions: who may take each action and when, as the workflow and the web both ask."""

from typing import Any

import pytest

from crc import names
from crc.permissions import (
    Actor,
    Parties,
    Situation,
    allowed_actions,
    check_action,
    check_decision,
    closed_actions,
)
from crc.progress import Action, WaitingFor
from crc.stages import Stage
from crc.tables import Task

PARTIES = Parties(requested_by="req", member_id=7, post_code="JUB", member_agency="State")
REQUESTER = Actor.of("req", ["requester"])
MEMBER = Actor.of("maria", ["member"], member_id=7)
OTHER_MEMBER = Actor.of("omar", ["member"], member_id=8)
OPERATIONS = Actor.of("ops", ["operations"])
DIRECTOR = Actor.of("dir", ["director"])
PLANNER = Actor.of("plan", ["planning"])


@pytest.mark.parametrize(
    ("situation", "open_actions"),
    [
        (Situation(Stage.APPROVAL, WaitingFor.APPROVALS), {"cancel"}),
        (Situation(Stage.APPROVAL, WaitingFor.AMENDMENT), {"cancel", "amend"}),
        (Situation(Stage.TRAVEL, WaitingFor.COUNTRY_CLEARANCE), {"cancel"}),
        (Situation(Stage.TRAVEL, WaitingFor.ARRIVAL), {"cancel", "check_in"}),
        (Situation(Stage.TRAVEL, WaitingFor.ARRIVAL, cancel_pending=True), set()),
        (Situation(Stage.DEPLOYED, WaitingFor.CHECK_INS), {"cancel", "check_in", "request_extension"}),
        (Situation(Stage.DEPLOYED, WaitingFor.CHECK_INS, extension_pending=True), {"cancel", "check_in"}),
        (Situation(Stage.REDEPLOYMENT, WaitingFor.OUT_PROCESSING), set()),
        (Situation(Stage.COMPLETED, WaitingFor.NOTHING), set()),
    ],
)
def test_open_actions_by_situation(situation: Situation, open_actions: set[str]) -> None:
    assert {a.value for a in Action} - set(closed_actions(situation)) == open_actions


def test_closed_actions_say_why() -> None:
    assert closed_actions(Situation(Stage.COMPLETED, WaitingFor.NOTHING)) == {
        "cancel": "the deployment is already at COMPLETED",
        "amend": "the request is not waiting for changes",
        "check_in": "no check-in is expected at COMPLETED: check-ins start once travel is booked "
        "and end with the stay",
        "request_extension": "extensions are for deployments in country",
    }


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (REQUESTER, {Action.CANCEL, Action.REQUEST_EXTENSION}),
        (MEMBER, {Action.CHECK_IN, Action.REQUEST_EXTENSION}),
        (OTHER_MEMBER, set()),
        (OPERATIONS, {Action.CHECK_IN}),
        (DIRECTOR, {Action.CANCEL, Action.REQUEST_EXTENSION}),
        (PLANNER, set()),
    ],
)
def test_who_may_act_while_deployed(actor: Actor, allowed: set[Action]) -> None:
    closed = closed_actions(Situation(Stage.DEPLOYED, WaitingFor.CHECK_INS))
    assert allowed_actions(actor, PARTIES, closed) == allowed


def test_who_is_checked_before_when() -> None:
    closed = closed_actions(Situation(Stage.COMPLETED, WaitingFor.NOTHING))
    refused = check_action(Action.CANCEL, PLANNER, PARTIES, closed)
    assert refused is not None and refused.code == names.ERR_NOT_ALLOWED
    refused = check_action(Action.CANCEL, REQUESTER, PARTIES, closed)
    assert refused is not None and (refused.code, refused.message) == (
        names.ERR_NOT_NOW,
        "the deployment is already at COMPLETED",
    )
    refused = check_action(Action.AMEND, REQUESTER, PARTIES, closed)
    assert refused is not None and refused.code == names.ERR_NOT_AMENDABLE
    refused = check_action(Action.AMEND, DIRECTOR, PARTIES, closed)
    assert refused is not None and refused.code == names.ERR_NOT_REQUESTER


def _approval(**overrides: Any) -> Task:
    fields: dict[str, Any] = {
        "id": "t1",
        "deployment_id": "d",
        "kind": "approval",
        "stage": "APPROVAL",
        "role": "planning",
        "title": "Operational fit",
        "outcomes": ["approve", "reject", "request_changes"],
    }
    return Task(**(fields | overrides))


@pytest.mark.parametrize(
    ("actor", "task", "outcome", "code"),
    [
        (PLANNER, None, "approve", names.ERR_UNKNOWN_TASK),
        (PLANNER, _approval(status="completed"), "approve", names.ERR_TASK_NOT_OPEN),
        (OPERATIONS, _approval(), "approve", names.ERR_WRONG_ROLE),
        (DIRECTOR, _approval(), "approve", names.ERR_WRONG_ROLE),
        (DIRECTOR, _approval(escalated=True), "approve", None),
        (Actor.of("req", ["requester", "planning"]), _approval(), "approve", names.ERR_OWN_REQUEST),
        (PLANNER, _approval(), "maybe", names.ERR_UNKNOWN_OUTCOME),
        (PLANNER, _approval(), "approve", None),
        (MEMBER, _approval(role="member", kind="kit_receipt", outcomes=["acknowledge"]), "acknowledge", None),
        (
            OTHER_MEMBER,
            _approval(role="member", kind="kit_receipt", outcomes=["acknowledge"]),
            "acknowledge",
            names.ERR_WRONG_ROLE,
        ),
    ],
)
def test_decision_rule(actor: Actor, task: Task | None, outcome: str, code: str | None) -> None:
    refused = check_decision(actor, task, PARTIES, outcome=outcome, comment=None, data=None)
    assert (refused.code if refused else None) == code
