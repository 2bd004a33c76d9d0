"""crc.permissions: who may take each action and when, as the workflow and the web both ask."""

from typing import Any

import pytest

from crc import names
from crc.permissions import (
    Actor,
    Parties,
    Situation,
    acting_role,
    allowed_actions,
    can_read_travel_orders,
    can_see,
    check_action,
    check_decision,
    closed_actions,
    may_take_over,
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


# --- Scoped roles: a Chief of Mission's posts, a home agency's members, a director's office ----

COM_JUB = Actor.of("com_jub", ["chief_of_mission"], scopes={"chief_of_mission": ["JUB"]})
AGENCY_USAID = Actor.of("agency_usaid", ["home_agency"], scopes={"home_agency": ["USAID"]})
DIRECTOR_PLANNING = Actor.of("director_planning", ["director"], scopes={"director": ["planning"]})
USAID_AT_KBL = Parties(requested_by="req", member_id=7, post_code="KBL", member_agency="USAID")


@pytest.mark.parametrize(
    ("actor", "task", "parties", "refusal"),
    [
        (COM_JUB, _approval(role="chief_of_mission"), PARTIES, None),
        (
            COM_JUB,
            _approval(role="chief_of_mission"),
            USAID_AT_KBL,
            (names.ERR_OUT_OF_SCOPE, "this task is outside your scope as Chief of Mission (post KBL)"),
        ),
        (
            COM_JUB,
            _approval(role="chief_of_mission", kind="country_clearance", outcomes=["approve", "reject"]),
            USAID_AT_KBL,
            (names.ERR_OUT_OF_SCOPE, "this task is outside your scope as Chief of Mission (post KBL)"),
        ),
        (Actor.of("com", ["chief_of_mission"]), _approval(role="chief_of_mission"), USAID_AT_KBL, None),
        (AGENCY_USAID, _approval(role="home_agency"), USAID_AT_KBL, None),
        (
            AGENCY_USAID,
            _approval(role="home_agency"),
            PARTIES,
            (names.ERR_OUT_OF_SCOPE, "this task is outside your scope as Home agency (agency State)"),
        ),
        (
            COM_JUB,
            _approval(role="home_agency"),
            PARTIES,
            (names.ERR_WRONG_ROLE, "this task is for the home_agency role"),
        ),
        (DIRECTOR_PLANNING, _approval(escalated=True), PARTIES, None),
        (
            DIRECTOR_PLANNING,
            _approval(role="resource_management", escalated=True),
            PARTIES,
            (
                names.ERR_OUT_OF_SCOPE,
                "this task is outside your scope as Director (office resource_management)",
            ),
        ),
        (
            DIRECTOR_PLANNING,
            _approval(),
            PARTIES,
            (names.ERR_WRONG_ROLE, "this task is for the planning role"),
        ),
        (DIRECTOR, _approval(role="resource_management", escalated=True), PARTIES, None),
        # A Chief of Mission of JUB who is also director of their own office takes over KBL's
        # escalated clearance as director.
        (
            Actor.of(
                "both",
                ["chief_of_mission", "director"],
                scopes={"chief_of_mission": ["JUB"], "director": ["chief_of_mission"]},
            ),
            _approval(role="chief_of_mission", escalated=True),
            USAID_AT_KBL,
            None,
        ),
        # A scope on a role that takes none (crc.roles.SCOPED_ROLES) limits nothing.
        (Actor.of("plan", ["planning"], scopes={"planning": ["KBL"]}), _approval(), PARTIES, None),
        # The scope comes before one's own request, which is refused even within it.
        (
            Actor.of("req", ["chief_of_mission"], scopes={"chief_of_mission": ["JUB"]}),
            _approval(role="chief_of_mission"),
            PARTIES,
            (names.ERR_OWN_REQUEST, "nobody may decide on their own request"),
        ),
    ],
)
def test_scoped_decision_rule(
    actor: Actor, task: Task, parties: Parties, refusal: tuple[str, str] | None
) -> None:
    refused = check_decision(actor, task, parties, outcome=task.outcomes[0], comment=None, data=None)
    assert ((refused.code, refused.message) if refused else None) == refusal


@pytest.mark.parametrize(
    ("actor", "task", "role"),
    [
        (COM_JUB, _approval(role="chief_of_mission", escalated=True), "chief_of_mission"),
        (DIRECTOR_PLANNING, _approval(escalated=True), "director"),
        (Actor.of("pd", ["planning", "director"]), _approval(escalated=True), "planning"),
        (DIRECTOR_PLANNING, _approval(role="resource_management", escalated=True), None),
    ],
)
def test_acting_role_prefers_the_office_itself(actor: Actor, task: Task, role: str | None) -> None:
    assert acting_role(actor, task, PARTIES) == role


@pytest.mark.parametrize(
    ("actor", "task", "allowed"),
    [
        (DIRECTOR_PLANNING, _approval(escalated=True), True),
        (DIRECTOR, _approval(escalated=True), True),
        # Not escalated: no director may decide it, so none takes it over.
        (DIRECTOR_PLANNING, _approval(), False),
        (DIRECTOR_PLANNING, _approval(role="resource_management", escalated=True), False),
        # Deciding it is not enough: taking over is a director's.
        (PLANNER, _approval(escalated=True), False),
        (Actor.of("pd", ["planning", "director"], scopes={"director": ["planning"]}), _approval(), True),
        (Actor.of("req", ["director"]), _approval(escalated=True), False),  # their own request
    ],
)
def test_who_may_take_over_a_claim(actor: Actor, task: Task, allowed: bool) -> None:
    assert may_take_over(actor, task, PARTIES) is allowed


COM_JUB = Actor.of("com_jub", ["chief_of_mission"], scopes={"chief_of_mission": ["JUB"]})
COM_KBL = Actor.of("com_kbl", ["chief_of_mission"], scopes={"chief_of_mission": ["KBL"]})
AGENCY_USAID = Actor.of("agency_usaid", ["home_agency"], scopes={"home_agency": ["USAID"]})
AGENCY_STATE = Actor.of("agency_state", ["home_agency"], scopes={"home_agency": ["State"]})
SECURITY = Actor.of("sec", ["security"])
TRAVEL = Actor.of("trv", ["travel"])
SCOPED_DIRECTOR = Actor.of("dir_sec", ["director"], scopes={"director": ["security"]})


@pytest.mark.parametrize(
    ("actor", "working_roles", "sees"),
    [
        (REQUESTER, [], True),
        (MEMBER, [], True),
        (OTHER_MEMBER, ["member"], False),  # a member's task is that member's, not the role's
        (OPERATIONS, [], True),
        (PLANNER, [], True),
        (Actor.of("rm", ["resource_management"]), [], True),
        (SCOPED_DIRECTOR, [], True),  # every director, whatever offices they take over
        (Actor.of("adm", ["admin"]), [], True),
        (SECURITY, ["security"], True),
        (SECURITY, ["medical", "planning"], False),
        (COM_JUB, ["chief_of_mission"], True),
        (COM_KBL, ["chief_of_mission"], False),
        (AGENCY_STATE, ["home_agency"], True),
        (AGENCY_USAID, ["home_agency"], False),
        (TRAVEL, [], False),
    ],
)
def test_who_sees_a_deployment(actor: Actor, working_roles: list[str], sees: bool) -> None:
    assert can_see(actor, PARTIES, working_roles) is sees


@pytest.mark.parametrize(
    ("actor", "reads"),
    [
        (MEMBER, True),
        (TRAVEL, True),
        (OPERATIONS, True),
        (Actor.of("adm", ["admin"]), True),
        (OTHER_MEMBER, False),
        (REQUESTER, False),
        (PLANNER, False),
        (DIRECTOR, False),
        (SECURITY, False),
    ],
)
def test_who_reads_travel_orders(actor: Actor, reads: bool) -> None:
    assert can_read_travel_orders(actor, PARTIES) is reads
