"""Operations: create one (its rows, then its workflow), read them, and send it decisions."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from crc import names
from crc.operation_tables import Operation, OperationDeployment, OperationEvent, OperationPosition
from crc.operations import (
    ENDED_STATUSES,
    MAX_OPERATION_DAYS,
    OPERATION_WORKFLOW_NAME,
    UNFILLED_STAGES,
    OperationCreate,
    OperationInput,
    OperationStatus,
    OperationView,
    Position,
    new_operation_id,
    operation_workflow_id,
)
from crc.requests import START_HORIZON_DAYS, DeploymentCreate
from crc.roles import SEE_ALL_ROLES
from crc.tables import Deployment, Member, Post, User
from web.services.errors import Conflict, FieldError, Forbidden, InvalidFields, NotFound, ServiceError
from web.services.requests import today_utc
from web.services.validation import check_request, latest_start
from web.services.workflow_client import rpc_refusal
from workflows.operation import ERR_NO_ROOM, ERR_UNKNOWN_POSITION

# Who sees operations: the offices that see every deployment.
OPERATION_READERS = SEE_ALL_ROLES
AWAITING_APPROVAL = "Waiting for the Planning director and Resource Management to approve"

_REFUSALS: dict[str, type[ServiceError]] = {
    names.ERR_NOT_ALLOWED: Forbidden,
    names.ERR_OWN_REQUEST: Forbidden,
    names.ERR_NOT_NOW: Conflict,
    names.ERR_MEMBER_BUSY: Conflict,
    ERR_NO_ROOM: Conflict,
    ERR_UNKNOWN_POSITION: NotFound,
}


class DeploymentInPosition(BaseModel):
    """A deployment that fills a position, with the stage it is at."""

    id: str
    member_id: int
    member_name: str
    stage: str
    status: str
    requested_at: datetime


class PositionPublic(Position):
    """A position of the plan, with the deployments that fill it."""

    filled: int
    deployment_ids: list[str]
    deployments: list[DeploymentInPosition]
    planned_at: datetime  # when the line was added to the plan

    @property
    def open_places(self) -> int:
        """The places no deployment fills yet (none for a cut position)."""
        return 0 if self.cut else max(self.count - self.filled, 0)


class OperationPublic(BaseModel):
    """An operation as the read-model holds it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    workflow_id: str
    name: str
    post_codes: list[str]
    objective: str
    lead: str
    start_date: date
    end_date: date
    status: str
    note: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    positions: list[PositionPublic] = []


class OperationEventPublic(BaseModel):
    """One entry of an operation's audit log."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    actor: str
    message: str
    data: dict[str, Any] | None
    occurred_at: datetime


def check_reader(user: User) -> None:
    """403 unless the user's office sees operations."""
    if not OPERATION_READERS & set(user.roles):
        raise Forbidden("only Operations, Planning, Resource Management, directors and admins see operations")


def date_errors(start: date | None, today: date, *, location: str = "body") -> list[FieldError]:
    """What is wrong with a start date: in the past, or beyond the horizon of requests."""
    if start is None:
        return []
    if start < today:
        return [FieldError("start_date", "must be today or later", start, location=location)]
    if start > latest_start(today):
        message = f"must be at most {START_HORIZON_DAYS} days ahead (on or before {latest_start(today)})"
        return [FieldError("start_date", message, start, location=location)]
    return []


async def check_create(session: AsyncSession, body: OperationCreate, today: date) -> None:
    """422 naming each field of a new operation that is wrong (posts, dates, positions)."""
    errors: list[FieldError] = []
    for i, code in enumerate(body.post_codes):
        if await session.get(Post, code) is None:
            errors.append(FieldError(str(i), "no post has this code", code, location="body.post_codes"))
    errors += date_errors(body.start_date, today)
    if (body.end_date - body.start_date).days > MAX_OPERATION_DAYS:
        errors.append(FieldError("end_date", f"must be at most {MAX_OPERATION_DAYS} days after start_date"))
    for i, position in enumerate(body.positions):
        where = f"body.positions.{i}"
        if position.post_code is not None and position.post_code not in body.post_codes:
            errors.append(
                FieldError("post_code", "must be one of the operation's post_codes", location=where)
            )
        errors += date_errors(position.start_date, today, location=where)
    if errors:
        raise InvalidFields(errors)


def check_position_dates(start: date | None) -> None:
    """422 naming start_date when a new or changed position's start is out of bounds."""
    errors = date_errors(start, today_utc())
    if errors:
        raise InvalidFields(errors)


async def create_operation(
    *, session: AsyncSession, client: Client, user: User, body: OperationCreate, task_queue: str
) -> OperationPublic:
    """Record a DRAFT operation with its plan, then start its workflow (no half-written ones)."""
    await check_create(session, body, today_utc())
    operation_id = new_operation_id()
    positions = [
        Position(
            **p.model_dump(exclude={"post_code"}),
            id=str(uuid.uuid4()),
            post_code=p.post_code or body.post_codes[0],
        )
        for p in body.positions
    ]
    row = Operation(
        id=operation_id,
        workflow_id=operation_workflow_id(operation_id),
        name=body.name,
        post_codes=body.post_codes,
        objective=body.objective,
        lead=user.username,
        start_date=body.start_date,
        end_date=body.end_date,
        status=OperationStatus.DRAFT,
        note=AWAITING_APPROVAL,
        created_by=user.username,
    )
    session.add(row)
    await session.flush()
    session.add_all(OperationPosition(operation_id=operation_id, **p.model_dump()) for p in positions)
    await session.commit()
    start = OperationInput(
        operation_id=operation_id,
        name=body.name,
        post_codes=body.post_codes,
        objective=body.objective,
        start_date=body.start_date,
        end_date=body.end_date,
        created_by=user.username,
        positions=positions,
    )
    try:
        await client.start_workflow(
            OPERATION_WORKFLOW_NAME,
            start,
            id=row.workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except BaseException as err:
        # Without its workflow the operation would wait forever: take its rows back out.
        for position in (
            await session.exec(
                select(OperationPosition).where(OperationPosition.operation_id == operation_id)
            )
        ).all():
            await session.delete(position)
        await session.delete(row)
        await session.commit()
        if isinstance(err, RPCError):
            raise rpc_refusal(err) from err
        raise
    return await get_operation(session, user, operation_id)


async def _positions(session: AsyncSession, operation_ids: Sequence[str]) -> dict[str, list[PositionPublic]]:
    """Each operation's positions (plan order) with the deployments that fill them."""
    rows = (
        await session.exec(
            select(OperationPosition)
            .where(col(OperationPosition.operation_id).in_(operation_ids))
            .order_by(col(OperationPosition.created_at), col(OperationPosition.id))
        )
    ).all()
    filling = (
        await session.exec(
            select(OperationDeployment, Deployment, Member.name)
            .join(Deployment, col(Deployment.id) == col(OperationDeployment.deployment_id))
            .join(Member, col(Member.id) == col(Deployment.member_id))
            .where(col(OperationDeployment.operation_id).in_(operation_ids))
            .order_by(col(Deployment.created_at), col(Deployment.id))
        )
    ).all()
    by_position: dict[str, list[DeploymentInPosition]] = {}
    for link, deployment, member_name in filling:
        by_position.setdefault(link.position_id, []).append(
            DeploymentInPosition(
                id=deployment.id,
                member_id=deployment.member_id,
                member_name=member_name,
                stage=deployment.stage,
                status=deployment.status,
                requested_at=deployment.created_at,
            )
        )
    result: dict[str, list[PositionPublic]] = {}
    for row in rows:
        deployments = by_position.get(row.id, [])
        result.setdefault(row.operation_id, []).append(
            PositionPublic(
                **row.model_dump(exclude={"operation_id", "created_at"}),
                filled=sum(1 for d in deployments if d.stage not in UNFILLED_STAGES),
                deployment_ids=[d.id for d in deployments],
                deployments=deployments,
                planned_at=row.created_at,
            )
        )
    return result


async def get_operation(session: AsyncSession, user: User, operation_id: str) -> OperationPublic:
    """One operation with its positions; 404 if there is none."""
    check_reader(user)
    row = await session.get(Operation, operation_id, populate_existing=True)
    if row is None:
        raise NotFound("no operation has this id")
    positions = await _positions(session, [row.id])
    return OperationPublic.model_validate(row).model_copy(update={"positions": positions.get(row.id, [])})


async def list_operations(
    session: AsyncSession, user: User, *, status: str | None, limit: int, offset: int
) -> tuple[list[OperationPublic], int]:
    """Operations newest first, with their positions, and how many match in all."""
    check_reader(user)
    query = select(Operation)
    if status:
        query = query.where(Operation.status == status)
    counted = select(func.count()).select_from(Operation)
    if status:
        counted = counted.where(Operation.status == status)
    total = (await session.exec(counted)).one()
    rows = (
        await session.exec(
            query.order_by(col(Operation.created_at).desc(), col(Operation.id).desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    positions = await _positions(session, [r.id for r in rows])
    return [
        OperationPublic.model_validate(r).model_copy(update={"positions": positions.get(r.id, [])})
        for r in rows
    ], total


async def audit_of(session: AsyncSession, user: User, operation_id: str) -> list[OperationEventPublic]:
    """The operation's audit log, oldest first."""
    await get_operation(session, user, operation_id)
    rows = (
        await session.exec(
            select(OperationEvent)
            .where(OperationEvent.operation_id == operation_id)
            .order_by(col(OperationEvent.id))
        )
    ).all()
    return [OperationEventPublic.model_validate(r) for r in rows]


async def check_members(
    session: AsyncSession, position: OperationPosition, member_ids: Sequence[int]
) -> None:
    """Each member may be requested for the position (the checks of a request), else 422 naming them.

    Not their other deployments: the fill's activity checks those under each member's lock (409)."""
    errors: list[FieldError] = []
    today = today_utc()
    for i, member_id in enumerate(member_ids):
        request = DeploymentCreate(
            member_id=member_id,
            post_code=position.post_code,
            sector=position.sector,
            role_title=position.role_title,
            start_date=position.start_date,
            duration_days=position.duration_days,
            justification="operation",
        )
        try:
            await check_request(session, request, today=today, overlaps=False)
        except InvalidFields as err:
            words = "; ".join(e.msg if e.field == "member_id" else f"{e.field} {e.msg}" for e in err.errors)
            errors.append(FieldError(str(i), words, member_id, location="body.member_ids"))
    if errors:
        raise InvalidFields(errors)


async def position_of(
    session: AsyncSession, user: User, operation_id: str, position_id: str
) -> OperationPosition:
    """The operation's position; 404 if either is missing."""
    await get_operation(session, user, operation_id)
    row = await session.get(OperationPosition, position_id)
    if row is None or row.operation_id != operation_id or row.cut:
        raise NotFound("the operation has no position with this id")
    return row


async def send(
    session: AsyncSession,
    client: Client,
    user: User,
    operation_id: str,
    update: str,
    arg: BaseModel,
    *,
    field: str,
) -> OperationPublic:
    """Send an update to the operation's workflow; its refusals answer as HTTP errors."""
    operation = await get_operation(session, user, operation_id)
    if operation.status in ENDED_STATUSES:  # its workflow has ended: nothing can change it now
        raise Conflict(f"the operation is {operation.status}")
    await session.commit()  # end the read; hold no connection while the workflow works
    handle = client.get_workflow_handle(operation_workflow_id(operation_id))
    try:
        await handle.execute_update(update, arg, result_type=OperationView)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if not isinstance(cause, ApplicationError):
            raise
        message = cause.message or str(cause)
        if cause.type == names.ERR_INVALID_DATA:
            raise InvalidFields([FieldError(field, message)]) from err
        raise _REFUSALS.get(cause.type or "", ServiceError)(message) from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise Conflict("the operation has ended") from err
        raise rpc_refusal(err) from err
    return await get_operation(session, user, operation_id)
