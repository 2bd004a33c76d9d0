"""Post departures: the Operations director orders one (its row, then its workflow), and the
offices read the current or last one with its roll-call."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from crc.departure_tables import DepartureEvent, DepartureRollCall, PostDeparture
from crc.departures import (
    DEPARTURE_WORKFLOW_NAME,
    DepartureCreate,
    DepartureInput,
    DepartureStatus,
    departure_workflow_id,
)
from crc.permissions import Actor
from crc.roles import SEE_ALL_ROLES, Role
from crc.tables import Post, User
from web.services.errors import Conflict, Forbidden, NotFound
from web.services.workflow_client import rpc_refusal


class RollCallPublic(BaseModel):
    """One member of the roll-call: where they stand, accounted for, out."""

    model_config = ConfigDict(from_attributes=True)

    deployment_id: str
    member_id: int
    member_name: str
    stage: str
    standing: str
    accounted_at: datetime | None
    accounted_by: str | None
    departed_at: datetime | None
    return_booked_at: datetime | None
    ended_at: datetime | None
    settled: bool


class DepartureEventPublic(BaseModel):
    """One entry of a departure's audit log."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    actor: str
    message: str
    occurred_at: datetime


class DeparturePublic(BaseModel):
    """A post's departure with its roll-call, as the read-model holds it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    workflow_id: str
    post_code: str
    kind: str
    reason: str
    ordered_by: str
    status: str
    ordered_at: datetime
    ended_at: datetime | None
    roll_call: list[RollCallPublic] = []
    audit: list[DepartureEventPublic] = []


def may_order(user: User) -> bool:
    """True for the Operations director: a director whose offices include Operations."""
    actor = Actor.of(user.username, user.roles, None, user.scopes)
    return Role.DIRECTOR in actor.roles and actor.covers(Role.DIRECTOR, Role.OPERATIONS)


def check_reader(user: User) -> None:
    """403 unless the user's office sees departures (those that see every deployment)."""
    if not SEE_ALL_ROLES & set(user.roles):
        raise Forbidden("only Operations, Planning, Resource Management, directors and admins see departures")


async def post_of(session: AsyncSession, code: str) -> Post:
    """The post; 404 if there is none."""
    post = await session.get(Post, code)
    if post is None:
        raise NotFound("no post has this code")
    return post


async def order_departure(
    *, session: AsyncSession, client: Client, user: User, code: str, body: DepartureCreate, task_queue: str
) -> DeparturePublic:
    """Record the departure, then start its workflow (no half-written ones); 409 if one of the
    post is under way."""
    if not may_order(user):
        raise Forbidden("only the Operations director may order a post's departure")
    await post_of(session, code)
    under_way = f"a departure of {code} is already under way"
    if await _current(session, code, under_way=True) is not None:
        raise Conflict(under_way)
    earlier = (
        await session.exec(
            select(func.count()).select_from(PostDeparture).where(PostDeparture.post_code == code)
        )
    ).one()
    row = PostDeparture(
        id=str(uuid.uuid4()),
        workflow_id=departure_workflow_id(code, earlier + 1),
        post_code=code,
        kind=body.kind,
        reason=body.reason,
        ordered_by=user.username,
        status=DepartureStatus.UNDER_WAY,
    )
    session.add(row)
    try:
        await session.commit()
    except IntegrityError as err:  # another order of this post took the same number a moment ago
        await session.rollback()
        raise Conflict(under_way) from err
    start = DepartureInput(
        departure_id=row.id,
        post_code=code,
        kind=body.kind,
        reason=body.reason,
        ordered_by=user.username,
        ordered_by_name=user.full_name,
    )
    try:
        await client.start_workflow(
            DEPARTURE_WORKFLOW_NAME,
            start,
            id=row.workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except BaseException as err:
        # Without its workflow the departure would stay under way forever: take its row back out.
        await session.delete(row)
        await session.commit()
        if isinstance(err, WorkflowAlreadyStartedError):
            raise Conflict(under_way) from err
        if isinstance(err, RPCError):
            raise rpc_refusal(err) from err
        raise
    return await get_departure(session, user, code)


async def _current(session: AsyncSession, code: str, *, under_way: bool = False) -> PostDeparture | None:
    """The post's departure under way, else (unless `under_way`) its last one."""
    query = select(PostDeparture).where(PostDeparture.post_code == code)
    if under_way:
        query = query.where(PostDeparture.status == DepartureStatus.UNDER_WAY)
    query = query.order_by(col(PostDeparture.ordered_at).desc(), col(PostDeparture.id).desc()).limit(1)
    return (await session.exec(query)).first()


async def get_departure(session: AsyncSession, user: User, code: str) -> DeparturePublic:
    """The post's current or last departure with its roll-call and audit; 404 if it never had one."""
    check_reader(user)
    await post_of(session, code)
    row = await _current(session, code, under_way=True) or await _current(session, code)
    if row is None:
        raise NotFound(f"{code} has had no departure")
    await session.refresh(row)
    roll_call = (
        await session.exec(
            select(DepartureRollCall)
            .where(DepartureRollCall.departure_id == row.id)
            .order_by(col(DepartureRollCall.id))
            .execution_options(populate_existing=True)
        )
    ).all()
    audit = (
        await session.exec(
            select(DepartureEvent)
            .where(DepartureEvent.departure_id == row.id)
            .order_by(col(DepartureEvent.id))
        )
    ).all()
    return DeparturePublic.model_validate(row).model_copy(
        update={
            "roll_call": [RollCallPublic.model_validate(r) for r in roll_call],
            "audit": [DepartureEventPublic.model_validate(e) for e in audit],
        }
    )
