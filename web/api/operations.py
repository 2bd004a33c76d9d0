"""/api/v1/operations: Planning drafts operations, the Planning director and Resource Management
approve them, Planning staffs their positions; each filled place is a deployment."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from crc.operations import (
    MAX_FILL,
    UPDATE_ADD_POSITION,
    UPDATE_APPROVE,
    UPDATE_CANCEL_OPERATION,
    UPDATE_CHANGE_POSITION,
    UPDATE_CUT_POSITION,
    UPDATE_FILL,
    UPDATE_SURGE,
    AddPosition,
    ApproveOperation,
    ApprovingOffice,
    Caller,
    CancelOperation,
    ChangePosition,
    CutPosition,
    FillPosition,
    MemberIdItem,
    OperationCreate,
    OperationStatus,
    PositionChange,
    PositionFields,
    Reason,
    Surge,
    SurgePick,
)
from crc.roles import Role
from crc.tables import User
from web.api.responses import documented
from web.deps import CurrentUser, SessionDep, SettingsDep, TemporalClientDep, require_roles
from web.schemas import Page
from web.services import candidates as candidates_service
from web.services import operations as service
from web.services import surge as surge_service
from web.services.candidates import DEFAULT_LIMIT, MAX_LIMIT, CandidateList
from web.services.operations import OperationEventPublic, OperationPublic
from web.services.requests import today_utc

router = APIRouter(prefix="/operations", tags=["operations"], responses=documented(403))
PlanningUser = Annotated[User, Depends(require_roles(Role.PLANNING, Role.ADMIN))]
Approver = Annotated[User, Depends(require_roles(Role.DIRECTOR, Role.RESOURCE_MANAGEMENT))]
Canceller = Annotated[User, Depends(require_roles(Role.PLANNING, Role.DIRECTOR, Role.ADMIN))]
CHANGE = documented(404, 409)


class FillBody(BaseModel):
    """The members to request for a position."""

    member_ids: list[MemberIdItem] = Field(min_length=1, max_length=MAX_FILL)


class SurgeBody(BaseModel):
    """When the surge's members start: within 48 hours (default: the last day that still is)."""

    start_date: date | None = None


class SurgeResult(BaseModel):
    """Whom the surge called up per position, the places left open, and the operation after it."""

    start_date: date
    called_up: list[SurgePick]
    shortfalls: list[surge_service.Shortfall]
    operation: OperationPublic


class ApproveBody(BaseModel):
    """Which office approves, when the caller speaks for both."""

    office: ApprovingOffice | None = None


class ReasonBody(BaseModel):
    """Why."""

    reason: Reason


def _caller(user: User) -> dict[str, Any]:
    return Caller(user=user.username, roles=list(user.roles), scopes=dict(user.scopes)).model_dump()


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_operation(
    body: OperationCreate,
    session: SessionDep,
    client: TemporalClientDep,
    settings: SettingsDep,
    user: PlanningUser,
) -> OperationPublic:
    """Draft an operation with its staffing plan; it waits for the Planning director and Resource
    Management. 422 names the field (an unknown post, a date in the past)."""
    return await service.create_operation(
        session=session, client=client, user=user, body=body, task_queue=settings.TEMPORAL_TASK_QUEUE
    )


@router.get("")
async def read_operations(
    session: SessionDep,
    user: CurrentUser,
    status: OperationStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Page[OperationPublic]:
    """Operations, newest first (Operations, Planning, Resource Management, directors, admins)."""
    items, total = await service.list_operations(session, user, status=status, limit=limit, offset=offset)
    return Page(items=items, total=total)


@router.get("/{operation_id}", responses=documented(404))
async def read_operation(operation_id: str, session: SessionDep, user: CurrentUser) -> OperationPublic:
    """One operation with its positions and the deployments filling them."""
    return await service.get_operation(session, user, operation_id)


@router.get("/{operation_id}/audit", responses=documented(404))
async def read_operation_audit(
    operation_id: str, session: SessionDep, user: CurrentUser
) -> Page[OperationEventPublic]:
    """The operation's audit log, oldest first: approvals, plan changes, fills, status changes."""
    items = await service.audit_of(session, user, operation_id)
    return Page(items=items, total=len(items))


@router.post("/{operation_id}/approve", responses=CHANGE)
async def approve_operation(
    operation_id: str, body: ApproveBody, session: SessionDep, client: TemporalClientDep, user: Approver
) -> OperationPublic:
    """The Planning director's or Resource Management's approval; with both it is APPROVED."""
    message = ApproveOperation(**_caller(user), office=body.office)
    return await service.send(session, client, user, operation_id, UPDATE_APPROVE, message, field="office")


@router.post("/{operation_id}/positions", status_code=status.HTTP_201_CREATED, responses=CHANGE)
async def add_position(
    operation_id: str,
    body: PositionFields,
    session: SessionDep,
    client: TemporalClientDep,
    user: PlanningUser,
) -> OperationPublic:
    """Add a position to the plan (audited)."""
    service.check_position_dates(body.start_date)
    message = AddPosition(**_caller(user), position=body)
    return await service.send(
        session, client, user, operation_id, UPDATE_ADD_POSITION, message, field="post_code"
    )


@router.patch("/{operation_id}/positions/{position_id}", responses=CHANGE)
async def change_position(
    operation_id: str,
    position_id: str,
    body: PositionChange,
    session: SessionDep,
    client: TemporalClientDep,
    user: PlanningUser,
) -> OperationPublic:
    """Change a position (audited, before and after); 409 for a count below the places filled."""
    await service.position_of(session, user, operation_id, position_id)
    service.check_position_dates(body.start_date)
    message = ChangePosition(**_caller(user), position_id=position_id, changes=body)
    return await service.send(
        session, client, user, operation_id, UPDATE_CHANGE_POSITION, message, field="count"
    )


@router.post("/{operation_id}/positions/{position_id}/cut", responses=CHANGE)
async def cut_position(
    operation_id: str,
    position_id: str,
    body: ReasonBody,
    session: SessionDep,
    client: TemporalClientDep,
    user: PlanningUser,
) -> OperationPublic:
    """Cut a position from the plan (audited); its running deployments are cancelled."""
    await service.position_of(session, user, operation_id, position_id)
    message = CutPosition(**_caller(user), position_id=position_id, reason=body.reason)
    return await service.send(
        session, client, user, operation_id, UPDATE_CUT_POSITION, message, field="reason"
    )


@router.get("/{operation_id}/positions/{position_id}/candidates", responses=documented(404))
async def read_candidates(
    operation_id: str,
    position_id: str,
    session: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> CandidateList:
    """Roster members ranked for the position, best first, each with its score, the reasons for it
    and the gaps to close (a missing certificate, a clearance too low). Members who cannot go at all
    (retired, away or deployed over the dates, already on this operation) are left out."""
    return await candidates_service.candidates_for(session, user, operation_id, position_id, limit=limit)


@router.post("/{operation_id}/positions/{position_id}/fill", responses=CHANGE)
async def fill_position(
    operation_id: str,
    position_id: str,
    body: FillBody,
    session: SessionDep,
    client: TemporalClientDep,
    user: PlanningUser,
) -> OperationPublic:
    """Request these members for the position: each deployment starts as a child workflow of the
    operation, all together or none. 422 names each member who may not be requested; 409 when the
    places run out or names a member already in another deployment over the position's dates."""
    position = await service.position_of(session, user, operation_id, position_id)
    await service.check_members(session, position, body.member_ids)
    message = FillPosition(**_caller(user), position_id=position_id, member_ids=body.member_ids)
    return await service.send(session, client, user, operation_id, UPDATE_FILL, message, field="member_ids")


@router.post("/{operation_id}/surge", responses=CHANGE)
async def surge_operation(
    operation_id: str, body: SurgeBody, session: SessionDep, client: TemporalClientDep, user: PlanningUser
) -> SurgeResult:
    """Surge: call up the best ranked Active members ready to go (no gaps, every call-up check
    passed) for every open place, all to start within 48 hours, each as a child deployment. The
    places no ready member can fill are listed in `shortfalls`; 409 when no place can be filled."""
    start = surge_service.surge_start(body.start_date, today_utc())
    plan = await surge_service.plan_surge(session, user, operation_id, start)
    message = Surge(**_caller(user), start_date=start, picks=plan.picks)
    operation = await service.send(
        session, client, user, operation_id, UPDATE_SURGE, message, field="start_date"
    )
    return SurgeResult(
        start_date=start, called_up=plan.picks, shortfalls=plan.shortfalls, operation=operation
    )


@router.post("/{operation_id}/cancel", responses=CHANGE)
async def cancel_operation(
    operation_id: str, body: ReasonBody, session: SessionDep, client: TemporalClientDep, user: Canceller
) -> OperationPublic:
    """Cancel the operation; answers once each running deployment has been told to cancel (before
    DEPLOYED it is undone, with its compensation; once deployed it comes home early)."""
    message = CancelOperation(**_caller(user), reason=body.reason)
    return await service.send(
        session, client, user, operation_id, UPDATE_CANCEL_OPERATION, message, field="reason"
    )
