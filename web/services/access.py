"""The web's side of crc.permissions: who the user is to a deployment, and refusals as HTTP errors."""

from collections.abc import Mapping
from datetime import date
from typing import Any

from crc import names
from crc.permissions import (
    Actor,
    Parties,
    Refusal,
    Situation,
    allowed_actions,
    check_action,
    closed_actions,
)
from crc.progress import Action, WaitingFor
from crc.stages import Stage
from crc.tables import Deployment, User
from crc.tasks import spec_of
from web.services.errors import Conflict, FieldError, Forbidden, InvalidFields, NotFound, ServiceError

# How each refusal of crc.permissions (and of the workflow, which uses the same codes) answers.
_REFUSALS: dict[str, type[ServiceError]] = {
    names.ERR_UNKNOWN_TASK: NotFound,
    names.ERR_TASK_NOT_OPEN: Conflict,
    names.ERR_WRONG_ROLE: Forbidden,
    names.ERR_OWN_REQUEST: Forbidden,
    names.ERR_OUT_OF_SCOPE: Forbidden,
    names.ERR_NOT_AMENDABLE: Conflict,
    names.ERR_NOT_REQUESTER: Forbidden,
    names.ERR_NOT_ALLOWED: Forbidden,
    names.ERR_NOT_NOW: Conflict,
    names.ERR_NOT_ELIGIBLE: Conflict,
    names.ERR_TASK_HELD: Conflict,
    names.ERR_NOT_HELD: Conflict,
    names.ERR_NOT_HOLDER: Forbidden,
    names.ERR_OVERDRAWN: Conflict,
}
# Refusals about one field of the request body.
_FIELD_REFUSALS = {
    names.ERR_UNKNOWN_OUTCOME: "outcome",
    names.ERR_COMMENT_REQUIRED: "comment",
    names.ERR_INVALID_DATA: "data",
}
REFUSAL_CODES = frozenset(_REFUSALS) | frozenset(_FIELD_REFUSALS)


def actor_of(user: User) -> Actor:
    """The signed-in user as crc.permissions sees them."""
    return Actor.of(user.username, user.roles, user.member_id, user.scopes)


def parties_of(deployment: Deployment) -> Parties:
    """Who asked for the deployment, who is deployed, its post and the member's agency."""
    return Parties(
        requested_by=deployment.requested_by,
        member_id=deployment.member_id,
        post_code=deployment.post_code,
        member_agency=deployment.member_agency,
    )


def refusal_error(refusal: Refusal) -> ServiceError:
    """The HTTP error a refusal answers with."""
    if refusal.code in _FIELD_REFUSALS:
        return InvalidFields([FieldError(_FIELD_REFUSALS[refusal.code], refusal.message)])
    return _REFUSALS.get(refusal.code, ServiceError)(refusal.message)


def refuse_if(refusal: Refusal | None) -> None:
    """Raise the refusal's HTTP error, if there is one."""
    if refusal is not None:
        raise refusal_error(refusal)


def data_errors(kind: str, data: Mapping[str, Any] | None) -> InvalidFields | None:
    """A 422 naming each bad field of a task's data (`data.<field>` in the body), or None."""
    problems = spec_of(kind).data_errors(data)
    if not problems:
        return None
    return InvalidFields([FieldError(field, msg, location="body.data") for field, msg in problems])


def check_action_of(action: Action, user: User, deployment: Deployment) -> None:
    """Refuse the action as the workflow's validator would, judged from the read-model first
    (but for the rules of dates, which only the workflow judges, by its own clock)."""
    refuse_if(check_action(action, actor_of(user), parties_of(deployment), deployment.closed_actions))


def closed_on(deployment: Deployment, today: date) -> dict[str, str]:
    """The actions closed on `today`: as the workflow last wrote, and by the rules of dates, which
    the read-model cannot keep current (the deployment writes only when it moves)."""
    dated = Situation(
        Stage(deployment.stage),
        WaitingFor(deployment.waiting_for),
        arrival_opens_on=deployment.arrival_opens_on,
        today=today,
    )
    return closed_actions(dated) | deployment.closed_actions


def actions_for(user: User, deployment: Deployment, today: date) -> set[Action]:
    """The actions the user may take on the deployment on `today` (what its page offers)."""
    return allowed_actions(actor_of(user), parties_of(deployment), closed_on(deployment, today))
