"""The inbox: open tasks a user may act on, and deciding them through the workflow."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, CompoundSelect, Select
from sqlmodel import and_, col, func, or_
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from crc import names, permissions
from crc.permissions import Actor
from crc.roles import ESCALATION_ROLE, SCOPED_ROLES, Role, ScopeKind
from crc.tables import Deployment, Task, TaskClaim, User
from crc.tasks import on_behalf_kinds, spec_of
from crc.types import Decision, DecisionResult, TaskView, Withdrawal
from web.services import task_list
from web.services.access import actor_of, data_errors, parties_of, refusal_error, refuse_if
from web.services.claims import refuse_if_held
from web.services.errors import Conflict, Forbidden, NotFound, Unavailable
from web.services.funds import refuse_overdraft
from web.services.task_list import TaskCursor
from web.services.visibility import SCOPED_COLUMNS, user_can_see
from web.services.workflow_client import execute_update, start_update

MAX_TASKS = 500
DECIDED_UNCONFIRMED = (
    "the decision was recorded, but the database did not answer to confirm it: "
    "check the task before deciding again (a second decision is refused)"
)


def _in_scope(actor: Actor, role: Role) -> ColumnElement[bool]:
    """Tasks within the actor's scope as `role`: the SQL form of crc.permissions' rule."""
    kind, scope = SCOPED_ROLES.get(role), actor.scopes.get(role)
    if kind is None or scope is None:
        return sa.true()
    if kind == ScopeKind.OFFICE:
        return col(Task.role).in_(scope)
    return col(Task.deployment_id).in_(_deployments(col(SCOPED_COLUMNS[kind]).in_(scope)))


def _deployments(condition: ColumnElement[bool]) -> Any:
    # Never correlated: the same set whether or not the outer query joins deployments.
    return sa.select(col(Deployment.id)).where(condition).correlate(None)


def actionable_by(user: User) -> ColumnElement[bool]:
    """The tasks the user may decide (crc.permissions.may_act_on), as a SQL condition on Task."""
    # Tasks of the user's offices within their scopes, escalated ones for the director of their
    # office, never one on the user's own request; and the member's own tasks. The deployments
    # are read by indexed subqueries (the user's own requests: few), not joined to every task.
    actor = actor_of(user)
    offices = [Role(r) for r in actor.roles if r in Role._value2member_map_ and r != Role.MEMBER]
    ways = [and_(col(Task.role) == role, _in_scope(actor, role)) for role in offices]
    behalf = on_behalf_kinds(actor.roles)
    if behalf:
        # A member's own tasks that the user's office completes on the member's behalf.
        ways.append(and_(col(Task.role) == Role.MEMBER, col(Task.kind).in_(behalf)))
    if ESCALATION_ROLE in actor.roles:
        # A member's own task is the member's alone, escalated or not.
        escalated = and_(col(Task.escalated).is_(True), col(Task.role) != Role.MEMBER)
        ways.append(and_(escalated, _in_scope(actor, ESCALATION_ROLE)))
    own_requests = _deployments(col(Deployment.requested_by) == user.username)
    who: ColumnElement[bool] = and_(or_(sa.false(), *ways), col(Task.deployment_id).not_in(own_requests))
    if user.member_id is not None:
        # A member's own tasks (kit receipt, after-action report), never another member's.
        own = _deployments(col(Deployment.member_id) == user.member_id)
        who = or_(who, and_(col(Task.role) == Role.MEMBER, col(Task.deployment_id).in_(own)))
    if ESCALATION_ROLE not in actor.roles:
        # The roles the ways above can match, said once more as one IN: an OR of roles alone
        # leaves the (status, role, ...) index to the status, every open task of every office.
        roles = {*offices, *([Role.MEMBER] if behalf or user.member_id is not None else [])}
        who = and_(col(Task.role).in_(sorted(roles)), who)
    return who


def open_tasks_query(user: User, *columns: Any) -> Select[Any]:
    """SELECT `columns` over the user's open tasks; by default each task with its deployment."""
    query = sa.select(*(columns or (Task, Deployment))).select_from(Task)
    if not columns:
        query = query.join(Deployment, col(Deployment.id) == col(Task.deployment_id))
    return query.where(col(Task.status) == "open", actionable_by(user))


async def fetch(session: AsyncSession, query: Select[Any] | CompoundSelect[Any]) -> Sequence[Any]:
    """The rows of a core SELECT of several columns (sqlmodel's exec types only its own)."""
    result = await session.exec(query)  # type: ignore[call-overload]
    rows: Sequence[Any] = result.all()
    return rows


async def count_open_tasks(session: AsyncSession, *, user: User) -> int:
    """How many open tasks wait for the user (the count in the navigation), counted in SQL."""
    return int((await fetch(session, open_tasks_query(user, func.count())))[0][0])


@dataclass(frozen=True)
class TaskPage:
    """A page of open tasks, how many match in all, and where the next page starts."""

    tasks: list[Task]
    total: int
    next_cursor: str | None


def _narrowed(
    query: Select[Any], *, deployment_id: str | None, kind: str | None, overdue: bool, now: datetime
) -> Select[Any]:
    if deployment_id:
        query = query.where(col(Task.deployment_id) == deployment_id)
    if kind:
        query = query.where(col(Task.kind) == kind)
    if overdue:
        query = query.where(col(Task.due_at) < now)
    return query


async def list_open_tasks(
    session: AsyncSession,
    *,
    user: User,
    deployment_id: str | None = None,
    kind: str | None = None,
    overdue: bool = False,
    now: datetime | None = None,
) -> list[Task]:
    """Open tasks the user may act on, the soonest due first (at most MAX_TASKS)."""
    query = open_tasks_query(user, Task)
    query = _narrowed(
        query, deployment_id=deployment_id, kind=kind, overdue=overdue, now=now or datetime.now(UTC)
    )
    found = await fetch(session, query.order_by(*task_list.order_by("due")).limit(MAX_TASKS))
    return [row[0] for row in found]


async def page_of_open_tasks(
    session: AsyncSession,
    *,
    user: User,
    deployment_id: str | None = None,
    kind: str | None = None,
    overdue: bool = False,
    limit: int = 50,
    after: TaskCursor | None = None,
    now: datetime | None = None,
) -> TaskPage:
    """A page of the open tasks the user may act on, soonest due first, after `after`; with the
    true count of all that match (one COUNT query)."""
    now = now or datetime.now(UTC)
    query = _narrowed(
        open_tasks_query(user, Task), deployment_id=deployment_id, kind=kind, overdue=overdue, now=now
    )
    if after is not None:
        query = query.where(task_list.after("due", after))
    found = [
        row[0] for row in await fetch(session, query.order_by(*task_list.order_by("due")).limit(limit + 1))
    ]
    counted = _narrowed(
        open_tasks_query(user, func.count()), deployment_id=deployment_id, kind=kind, overdue=overdue, now=now
    )
    total = int((await fetch(session, counted))[0][0])
    rows = found[:limit]
    more = len(found) > limit
    return TaskPage(rows, total, TaskCursor.of(rows[-1]).encode() if rows and more else None)


async def open_task_for(session: AsyncSession, *, user: User, task_id: str) -> tuple[Task, Deployment]:
    """An open task the user may act on, with its deployment; 404, 409 or 403 otherwise."""
    task = await session.get(Task, task_id, populate_existing=True)
    if task is None:
        raise NotFound("no task has this id")
    deployment = await session.get(Deployment, task.deployment_id)
    assert deployment is not None  # a foreign key
    if task.status != "open":
        raise Conflict(f"the task is already {task.status}")
    # Nobody may claim, let go of or decide a task they may not decide: their own request
    # included, so no requester can hold their approval away from the office.
    refuse_if(permissions.may_act_on(actor_of(user), task, parties_of(deployment)))
    return task, deployment


def refuse_if_decided(task: Task, now: datetime) -> None:
    """409 naming who decided the task, while the workflow holds their decision (it may be undone)."""
    if task.held_by is not None and task.held_until is not None and task.held_until > now:
        raise refusal_error(permissions.decided_moments_ago(task.held_by))


def _held(task: Task, decision: Decision, until: datetime) -> Task:
    """The open task as the workflow now holds the decision (its row may not say so yet)."""
    fields = task.model_dump() | {
        "held_by": decision.user,
        "held_outcome": decision.outcome,
        "held_until": until,
    }
    return Task.model_validate(fields)


async def complete_task(
    *,
    session: AsyncSession,
    client: Client,
    user: User,
    task_id: str,
    outcome: str,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
    update_id: str | None = None,
    undo_seconds: int = 0,
) -> Task:
    """Decide a task; the workflow's update validator has the last word.

    The same rules (crc.permissions) are checked here first from the read-model, for quick, clear
    answers; and a task claimed in the inbox stays its holder's until the claim lapses (through
    the API as well), unless a director of its office takes it over.

    With `undo_seconds`, the workflow holds the decision that long before acting on it; this
    returns as soon as the workflow has accepted it: the task, still open, with the hold on it.
    """
    now = now or datetime.now(UTC)
    task, deployment = await open_task_for(session, user=user, task_id=task_id)
    refuse_if_decided(task, now)
    await refuse_if_held(session, user=user, task=task, deployment=deployment, now=now)
    refusal = permissions.check_decision(
        actor_of(user), task, parties_of(deployment), outcome=outcome, comment=comment, data=data
    )
    if refusal is not None and refusal.code == names.ERR_INVALID_DATA:
        raise data_errors(task.kind, data) or refusal_error(refusal)
    refuse_if(refusal)
    await refuse_overdraft(session, task, deployment, outcome)
    parsed = spec_of(task.kind).parse_data(data).model_dump(mode="json", exclude_none=True)
    decision = Decision(
        task_id=task.id,
        outcome=outcome,
        user=user.username,
        user_name=user.full_name,
        roles=list(user.roles),
        member_id=user.member_id,
        scopes=user.scopes,
        comment=comment or None,
        data=parsed or None,
        undo_seconds=undo_seconds,
    )
    workflow_id = deployment.workflow_id
    await session.commit()  # end the read; hold no connection while the workflow works
    if undo_seconds > 0:
        await start_update(
            client, workflow_id=workflow_id, update=names.UPDATE_DECIDE, arg=decision, update_id=update_id
        )
        return _held(task, decision, now + timedelta(seconds=undo_seconds))
    await execute_update(
        client,
        workflow_id=workflow_id,
        update=names.UPDATE_DECIDE,
        arg=decision,
        result_type=DecisionResult,
        update_id=update_id,
    )
    try:
        # A decided task needs no claim any more.
        await session.exec(sa.delete(TaskClaim).where(col(TaskClaim.task_id) == task_id))
        await session.commit()
        done = await session.get(Task, task_id, populate_existing=True)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as err:
        # The workflow took the decision: say so, so nobody decides it twice in doubt.
        raise Unavailable(DECIDED_UNCONFIRMED) from err
    assert done is not None
    return done


async def withdraw_decision(
    *, session: AsyncSession, client: Client, user: User, task_id: str, update_id: str | None = None
) -> Task:
    """Undo the user's decision on a task while the workflow still holds it: the task, open again.

    404 for a task the user may not see, 403 for someone else's decision, 409 when there is none
    to undo (the workflow's validator has the last word: the read-model may not show a hold yet).
    """
    task = await session.get(Task, task_id, populate_existing=True)
    deployment = None if task is None else await session.get(Deployment, task.deployment_id)
    if task is None or deployment is None or not await user_can_see(session, user, deployment):
        raise NotFound("no task has this id")
    if task.status == "completed":
        raise Conflict("the decision has already taken effect")
    if task.status != "open":
        raise Conflict(f"the task is already {task.status}")
    if task.held_by is not None and task.held_by != user.username:
        raise Forbidden(f"only {task.held_by} may undo their decision")
    withdrawal = Withdrawal(task_id=task.id, user=user.username, roles=list(user.roles))
    workflow_id = deployment.workflow_id
    await session.commit()  # end the read; hold no connection while the workflow works
    await execute_update(
        client,
        workflow_id=workflow_id,
        update=names.UPDATE_WITHDRAW,
        arg=withdrawal,
        result_type=TaskView,
        update_id=update_id,
    )
    try:
        reopened = await session.get(Task, task_id, populate_existing=True)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as err:
        raise Unavailable(
            "the decision was withdrawn, but the database did not answer to confirm it"
        ) from err
    assert reopened is not None
    return reopened
