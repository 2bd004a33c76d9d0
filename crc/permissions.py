"""Who may do what to a deployment, and when: each rule written once, for the workflow's update
validators and for the web, which shows an action only when the rule allows it."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from crc import names
from crc.progress import Action, WaitingFor
from crc.roles import (
    CANCEL_ANY_ROLES,
    ESCALATION_ROLE,
    ROLE_LABELS,
    SCOPED_ROLES,
    SEE_ALL_ROLES,
    TRAVEL_ORDER_ROLES,
    Role,
    ScopeKind,
)
from crc.stages import TERMINAL, Stage
from crc.tasks import CHECK_IN_ON_BEHALF, spec_of


@dataclass(frozen=True)
class Refusal:
    """Why something may not be done; `code` is the ApplicationError type (crc.names.ERR_*)."""

    code: str
    message: str


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user, their roles and scopes, and the roster member they are (if any)."""

    user: str
    roles: frozenset[str]
    member_id: int | None = None
    # A scoped role (crc.roles.SCOPED_ROLES) → the posts, agencies or offices it covers; a role
    # not named here covers all.
    scopes: Mapping[str, frozenset[str]] = field(default_factory=dict, hash=False)

    @classmethod
    def of(
        cls,
        user: str,
        roles: Iterable[str],
        member_id: int | None = None,
        scopes: Mapping[str, Iterable[str]] | None = None,
    ) -> "Actor":
        """An actor from the parts every message and user carries."""
        return cls(
            user=user,
            roles=frozenset(roles),
            member_id=member_id,
            scopes={role: frozenset(values) for role, values in (scopes or {}).items()},
        )

    def covers(self, role: str, value: str) -> bool:
        """True when the actor's scope as `role` includes `value` (a role with no scope: all)."""
        scope = self.scopes.get(role) if role in SCOPED_ROLES else None
        return scope is None or value in scope


@dataclass(frozen=True)
class Parties:
    """Who asked for a deployment and who is deployed, with the facts scopes are checked against."""

    requested_by: str
    member_id: int
    post_code: str  # its Chief of Mission speaks for it
    member_agency: str  # as requested: its home-agency officers release the member


@dataclass(frozen=True)
class Grant:
    """Who an action is open to: roles, and the deployment's requester or member in person."""

    roles: frozenset[Role]
    requester: bool
    member: bool
    refusal: Refusal

    def allows(self, actor: Actor, parties: Parties) -> bool:
        """True when the actor holds one of the roles or is the named party."""
        return (
            bool(self.roles & actor.roles)
            or (self.requester and actor.user == parties.requested_by)
            or (self.member and actor.member_id is not None and actor.member_id == parties.member_id)
        )


GRANTS: Mapping[Action, Grant] = {
    Action.CANCEL: Grant(
        roles=CANCEL_ANY_ROLES,
        requester=True,
        member=False,
        refusal=Refusal(names.ERR_NOT_ALLOWED, "only the requester, a director or an admin may cancel"),
    ),
    Action.AMEND: Grant(
        roles=frozenset(),
        requester=True,
        member=False,
        refusal=Refusal(names.ERR_NOT_REQUESTER, "only the requester may amend the request"),
    ),
    Action.CHECK_IN: Grant(
        roles=frozenset({CHECK_IN_ON_BEHALF}),
        requester=False,
        member=True,
        refusal=Refusal(names.ERR_NOT_ALLOWED, "only the deployed member or Operations may check in"),
    ),
    Action.REQUEST_EXTENSION: Grant(
        roles=CANCEL_ANY_ROLES,
        requester=True,
        member=True,
        refusal=Refusal(
            names.ERR_NOT_ALLOWED, "only the requester, the member, a director or an admin may ask"
        ),
    ),
}


@dataclass(frozen=True)
class Situation:
    """The facts that decide which actions are open now.

    `today` is given only by a caller whose clock is the deployment's (the workflow): rules of
    dates are judged there, while the read-model keeps the dates for pages to show."""

    stage: Stage
    waiting_for: WaitingFor
    cancel_pending: bool = False
    extension_pending: bool = False
    arrival_opens_on: date | None = None
    today: date | None = None


def closed_actions(s: Situation) -> dict[str, str]:
    """Each action that cannot be taken now, with the reason; an action not listed is open."""
    closed: dict[str, str] = {}
    if s.stage in TERMINAL or s.stage == Stage.REDEPLOYMENT:
        closed[Action.CANCEL] = f"the deployment is already at {s.stage.value}"
    elif s.cancel_pending:
        closed[Action.CANCEL] = "a cancellation is already under way"
    if s.waiting_for != WaitingFor.AMENDMENT:
        closed[Action.AMEND] = "the request is not waiting for changes"
    arriving = s.stage == Stage.TRAVEL and s.waiting_for == WaitingFor.ARRIVAL and not s.cancel_pending
    if not arriving and s.stage != Stage.DEPLOYED:
        closed[Action.CHECK_IN] = (
            f"no check-in is expected at {s.stage.value}: check-ins start once travel is booked "
            "and end with the stay"
        )
    elif arriving and s.arrival_opens_on and s.today and s.today < s.arrival_opens_on:
        closed[Action.CHECK_IN] = arrival_not_yet(s.arrival_opens_on)
    if s.stage != Stage.DEPLOYED or s.cancel_pending:
        closed[Action.REQUEST_EXTENSION] = "extensions are for deployments in country"
    elif s.extension_pending:
        closed[Action.REQUEST_EXTENSION] = "an extension is already awaiting approval"
    return closed


def arrival_not_yet(opens_on: date) -> str:
    """Why an arrival check-in is refused before its day."""
    return (
        f"the arrival check-in opens on {opens_on.isoformat()} "
        "(the start date, or the outbound travel date if that is earlier)"
    )


def not_open_yet(opens_on: date) -> str:
    """Why a task takes no outcome before its day."""
    return f"this task opens on {opens_on.isoformat()}"


def holds_task_role(actor: Actor, role: str, parties: Parties) -> bool:
    """True when the actor holds `role` within its scope for this deployment (a task of that role
    on it is theirs to see)."""
    if role not in actor.roles or role == Role.MEMBER:
        return False  # a member's tasks are seen as the member (can_see), never through the role
    kind = SCOPED_ROLES.get(Role(role)) if role in Role._value2member_map_ else None
    match kind:
        case ScopeKind.POST:
            return actor.covers(role, parties.post_code)
        case ScopeKind.AGENCY:
            return actor.covers(role, parties.member_agency)
        case ScopeKind.OFFICE:
            return actor.covers(role, role)
        case _:
            return True


def can_see(actor: Actor, parties: Parties, working_roles: Iterable[str]) -> bool:
    """Need-to-know: the deployment, its timeline and documents are visible to its requester and
    member, to the roles with work on it (`working_roles`: its open or completed tasks', and
    Travel once it issued the travel orders) within their scope, and to the roles that oversee
    every deployment; to anyone else it does not exist."""
    if actor.roles & SEE_ALL_ROLES:
        return True
    if actor.user == parties.requested_by:
        return True
    if actor.member_id is not None and actor.member_id == parties.member_id:
        return True
    return any(holds_task_role(actor, role, parties) for role in working_roles)


def can_read_travel_orders(actor: Actor, parties: Parties) -> bool:
    """Travel orders (names, posts, dates of travel) go to the member, Travel, Operations and admin
    only, of those who can see the deployment."""
    return bool(actor.roles & TRAVEL_ORDER_ROLES) or (
        actor.member_id is not None and actor.member_id == parties.member_id
    )


NOT_ON_OWN_REQUEST = "nobody acts on a member's behalf on their own request"


def is_the_member(actor: Actor, parties: Parties) -> bool:
    """True when the actor is the deployed member in person."""
    return actor.member_id is not None and actor.member_id == parties.member_id


def who_may(action: Action, actor: Actor, parties: Parties) -> Refusal | None:
    """Why the actor may never take the action on this deployment, or None if they may."""
    grant = GRANTS[action]
    if not grant.allows(actor, parties):
        return grant.refusal
    if action == Action.CHECK_IN and not is_the_member(actor, parties) and actor.user == parties.requested_by:
        return Refusal(names.ERR_OWN_REQUEST, NOT_ON_OWN_REQUEST)
    return None


def when_open(action: Action, closed: Mapping[str, str]) -> Refusal | None:
    """Why the action cannot be taken now (`closed` from closed_actions), or None if it can."""
    reason = closed.get(action)
    if reason is None:
        return None
    return Refusal(names.ERR_NOT_AMENDABLE if action == Action.AMEND else names.ERR_NOT_NOW, reason)


def check_action(action: Action, actor: Actor, parties: Parties, closed: Mapping[str, str]) -> Refusal | None:
    """Why the actor may not take the action now (who first, then when), or None if they may."""
    return who_may(action, actor, parties) or when_open(action, closed)


def allowed_actions(actor: Actor, parties: Parties, closed: Mapping[str, str]) -> set[Action]:
    """The actions the actor may take now (what a page offers)."""
    return {a for a in Action if check_action(a, actor, parties, closed) is None}


class TaskFacts(Protocol):
    """What a decision rule needs of a task, as the workflow and the read-model both hold it."""

    @property
    def kind(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def outcomes(self) -> Sequence[str]: ...
    @property
    def escalated(self) -> bool: ...
    @property
    def opens_on(self) -> date | None: ...


def acts_on_behalf(actor: Actor, task: TaskFacts, parties: Parties) -> bool:
    """True when the actor completes the member's own task for them, not being the member."""
    return task.role == Role.MEMBER and not is_the_member(actor, parties)


def scope_value(role: str, task: TaskFacts, parties: Parties) -> str:
    """What a holder of a scoped role must have in scope to act on the task (post, agency, office)."""
    match SCOPED_ROLES[Role(role)]:
        case ScopeKind.POST:
            return parties.post_code
        case ScopeKind.AGENCY:
            return parties.member_agency
        case ScopeKind.OFFICE:
            return task.role


def _deciding_roles(task: TaskFacts) -> tuple[str, ...]:
    """The roles that may decide the task: its own, and once escalated the director's."""
    return (task.role, ESCALATION_ROLE) if task.escalated else (task.role,)


def _in_scope(actor: Actor, role: str, task: TaskFacts, parties: Parties) -> bool:
    return role not in SCOPED_ROLES or actor.covers(role, scope_value(role, task, parties))


def acting_role(actor: Actor, task: TaskFacts, parties: Parties) -> str | None:
    """The role through which the actor may decide the task, within its scope; None if none."""
    for role in _deciding_roles(task):
        if role in actor.roles and _in_scope(actor, role, task, parties):
            return role
    return None


def may_act_on(actor: Actor, task: TaskFacts, parties: Parties) -> Refusal | None:
    """Why the actor may not decide the task at all, or None; who decides is written here."""
    # Its role within the role's scope (a member's task: that member, or on their behalf the
    # office that holds the thing), or the director of its office once escalated; never on one's
    # own request.
    if task.role == Role.MEMBER:
        if is_the_member(actor, parties):
            return None
        behalf = spec_of(task.kind).on_behalf
        if behalf is None or behalf not in actor.roles:
            office = f" or {ROLE_LABELS[behalf]} on their behalf" if behalf else ""
            return Refusal(names.ERR_WRONG_ROLE, f"this task is for the deployed member{office}")
        if actor.user == parties.requested_by:
            return Refusal(names.ERR_OWN_REQUEST, NOT_ON_OWN_REQUEST)
        return None
    if acting_role(actor, task, parties) is None:
        held = [role for role in _deciding_roles(task) if role in actor.roles]
        if not held:
            return Refusal(names.ERR_WRONG_ROLE, f"this task is for the {task.role} role")
        role = held[0]
        return Refusal(
            names.ERR_OUT_OF_SCOPE,
            f"this task is outside your scope as {ROLE_LABELS[Role(role)]} "
            f"({SCOPED_ROLES[Role(role)].value} {scope_value(role, task, parties)})",
        )
    if actor.user == parties.requested_by:
        return Refusal(names.ERR_OWN_REQUEST, "nobody may decide on their own request")
    return None


def decided_moments_ago(held_by: str) -> Refusal:
    """Why a task whose decision is still held (and may be undone) takes no other decision."""
    return Refusal(names.ERR_TASK_HELD, f"{held_by} decided this task a moment ago")


def may_take_over(actor: Actor, task: TaskFacts, parties: Parties) -> bool:
    """True when the actor, a director of the task's office who may decide it, takes over claims."""
    return (
        ESCALATION_ROLE in actor.roles
        and actor.covers(ESCALATION_ROLE, task.role)
        and may_act_on(actor, task, parties) is None
    )


def check_decision(
    actor: Actor,
    task: TaskFacts | None,
    parties: Parties,
    *,
    outcome: str,
    comment: str | None,
    data: Mapping[str, object] | None,
    today: date | None = None,
    reasons: bool = True,
) -> Refusal | None:
    """Why the decision may not be taken, or None: the task, the actor, its day (judged only with
    `today`, the deployment's clock), the outcome, its reason (unless `reasons` is False), the
    data."""
    if task is None:
        return Refusal(names.ERR_UNKNOWN_TASK, "no task has this id")
    if task.status != "open":
        return Refusal(names.ERR_TASK_NOT_OPEN, f"the task is already {task.status}")
    refused = may_act_on(actor, task, parties)
    if refused is not None:
        return refused
    if task.opens_on is not None and today is not None and today < task.opens_on:
        return Refusal(names.ERR_NOT_NOW, not_open_yet(task.opens_on))
    if outcome not in task.outcomes:
        return Refusal(names.ERR_UNKNOWN_OUTCOME, f"must be one of: {', '.join(task.outcomes)}")
    spec = spec_of(task.kind)
    if reasons and outcome in spec.comment_required and not (comment or "").strip():
        return Refusal(names.ERR_COMMENT_REQUIRED, "say why in the comment")
    problems = spec.data_errors(data)
    if problems:
        return Refusal(names.ERR_INVALID_DATA, "; ".join(f"{field}: {msg}" for field, msg in problems))
    return None
