"""Operations pages: the list, and one operation's staffing board with its approvals, fills and cancel."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response
from temporalio.client import Client

from crc.operations import (
    UPDATE_APPROVE,
    UPDATE_CANCEL_OPERATION,
    UPDATE_FILL,
    UPDATE_SURGE,
    ApproveOperation,
    Caller,
    CancelOperation,
    FillPosition,
    Reason,
    Surge,
)
from crc.roles import SEE_ALL_ROLES, Role
from crc.tables import User
from web.deps import SessionDep, TemporalClientDep, require_page_roles
from web.flash import flash
from web.pages.common import nav, see_other
from web.services import candidates as candidates_service
from web.services import operations as service
from web.services import surge as surge_service
from web.services.errors import FieldError, InvalidFields, ServiceError
from web.services.funds import funds_of_operation
from web.services.operation_progress import progress
from web.services.operations import OperationPublic
from web.services.requests import today_utc
from web.templating import page_or_fragment, render

router = APIRouter()
PageReader = Annotated[User, Depends(require_page_roles(*SEE_ALL_ROLES))]
PagePlanning = Annotated[User, Depends(require_page_roles(Role.PLANNING, Role.ADMIN))]
PageApprover = Annotated[User, Depends(require_page_roles(Role.DIRECTOR, Role.RESOURCE_MANAGEMENT))]
PageCanceller = Annotated[User, Depends(require_page_roles(Role.PLANNING, Role.DIRECTOR, Role.ADMIN))]


class _ReasonForm(BaseModel):
    reason: Reason


def _caller(user: User) -> dict[str, Any]:
    return Caller(user=user.username, roles=list(user.roles), scopes=dict(user.scopes)).model_dump()


def _member_ids(values: list[str]) -> list[int]:
    """Member ids ticked in the candidates, or typed as "12, 15 18"; 422 naming member_ids when
    none is given or one is not a number."""
    parts = " ".join(values).replace(",", " ").split()
    if not parts:
        raise InvalidFields([FieldError("member_ids", "pick at least one member")])
    if not all(p.isdecimal() and len(p) <= 9 for p in parts):
        raise InvalidFields([FieldError("member_ids", "list the members' ids, separated by commas")])
    return [int(p) for p in parts]


def _check_room(operation: OperationPublic, position_id: str, picked: int) -> None:
    """422 when more members are picked than the position has places left."""
    position = next((p for p in operation.positions if p.id == position_id), None)
    if position is None:  # the fill's own lookup answers 404
        return
    left = position.count - position.filled
    if picked > left:
        message = f"you picked {picked} members; the position has {left} place{'s' if left != 1 else ''} left"
        raise InvalidFields([FieldError("member_ids", message)])


async def _board(
    request: Request,
    session: AsyncSession,
    user: User,
    operation_id: str,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    operation = await service.get_operation(session, user, operation_id)
    context = {
        "operation": operation,
        "audit": await service.audit_of(session, user, operation_id),
        "funds": await funds_of_operation(session, operation_id),
        "progress": progress(operation, request.app.state.clock()),
        "error": error,
        **await nav(session, user),
    }
    return render(request, "operation.html", context, user=user, status_code=status)


@router.get("/operations")
async def operations_page(request: Request, session: SessionDep, user: PageReader) -> Response:
    """Every operation, newest first, with its status and places filled."""
    items, total = await service.list_operations(session, user, status=None, limit=200, offset=0)
    context = {"operations": items, "total": total, **await nav(session, user)}
    return render(request, "operations.html", context, user=user)


@router.get("/operations/{operation_id}")
async def operation_page(
    request: Request, operation_id: str, session: SessionDep, user: PageReader
) -> Response:
    """One operation's staffing board: positions, the deployments filling them and their stage."""
    return await _board(request, session, user, operation_id)


async def _act(
    request: Request,
    session: AsyncSession,
    client: Client,
    user: User,
    operation_id: str,
    update: str,
    message: BaseModel,
    done: str,
) -> Response:
    """Send the operation a decision; the board again with what went wrong, or a flash and back."""
    try:
        await service.send(session, client, user, operation_id, update, message, field="form")
    except ServiceError as err:
        return await _board(request, session, user, operation_id, error=err.detail, status=err.status_code)
    flash(request, done)
    return see_other(request, f"/operations/{operation_id}")


@router.post("/operations/{operation_id}/approve")
async def approve(
    request: Request, operation_id: str, session: SessionDep, client: TemporalClientDep, user: PageApprover
) -> Response:
    """The Planning director's or Resource Management's approval."""
    message = ApproveOperation(**_caller(user))
    return await _act(request, session, client, user, operation_id, UPDATE_APPROVE, message, "Approved.")


@router.post("/operations/{operation_id}/positions/{position_id}/fill")
async def fill(
    request: Request,
    operation_id: str,
    position_id: str,
    session: SessionDep,
    client: TemporalClientDep,
    user: PagePlanning,
) -> Response:
    """Request members for a position: their deployments start as the operation's children."""
    form = await request.form()
    try:
        member_ids = _member_ids([str(v) for v in form.getlist("member_ids")])
        position = await service.position_of(session, user, operation_id, position_id)
        _check_room(await service.get_operation(session, user, operation_id), position_id, len(member_ids))
        await service.check_members(session, position, member_ids)
    except ServiceError as err:
        return await _board(request, session, user, operation_id, error=err.detail, status=err.status_code)
    message = FillPosition(**_caller(user), position_id=position_id, member_ids=member_ids)
    done = f"Requested {len(member_ids)} member{'s' if len(member_ids) != 1 else ''}."
    return await _act(request, session, client, user, operation_id, UPDATE_FILL, message, done)


@router.get("/operations/{operation_id}/positions/{position_id}/candidates")
async def candidates(
    request: Request, operation_id: str, position_id: str, session: SessionDep, user: PagePlanning
) -> Response:
    """The roster ranked for a position, to pick from: the board's section (htmx) or a page."""
    found = await candidates_service.candidates_for(
        session, user, operation_id, position_id, limit=candidates_service.DEFAULT_LIMIT
    )
    operation = await service.get_operation(session, user, operation_id)
    position = next(p for p in operation.positions if p.id == position_id)
    context = {
        "operation": operation,
        "position": position,
        "candidates": found.items,
        "left": position.count - position.filled,
        **await nav(session, user),
    }
    return page_or_fragment(
        request, "operation_candidates.html", "partials/operation_candidates.html", context, user=user
    )


@router.post("/operations/{operation_id}/surge")
async def surge(
    request: Request, operation_id: str, session: SessionDep, client: TemporalClientDep, user: PagePlanning
) -> Response:
    """Surge: Active members ready to go called up for every open place, to start within 48 hours."""
    try:
        start = surge_service.surge_start(None, today_utc())
        plan = await surge_service.plan_surge(session, user, operation_id, start)
    except ServiceError as err:
        return await _board(request, session, user, operation_id, error=err.detail, status=err.status_code)
    message = Surge(**_caller(user), start_date=start, picks=plan.picks)
    called = sum(len(p.member_ids) for p in plan.picks)
    done = f"Surge: {called} Active member{'s' if called != 1 else ''} called up to start on {start}."
    if plan.shortfalls:
        done += " No ready member for: " + ", ".join(
            f"{s.role_title} ({s.missing} place{'s' if s.missing != 1 else ''})" for s in plan.shortfalls
        )
        done += "."
    return await _act(request, session, client, user, operation_id, UPDATE_SURGE, message, done)


@router.post("/operations/{operation_id}/cancel")
async def cancel(
    request: Request, operation_id: str, session: SessionDep, client: TemporalClientDep, user: PageCanceller
) -> Response:
    """Cancel the operation and, with it, its deployments."""
    form = await request.form()
    try:
        reason = _ReasonForm(reason=str(form.get("reason", ""))).reason
    except ValidationError:
        return await _board(
            request, session, user, operation_id, error="Say why it is cancelled.", status=422
        )
    message = CancelOperation(**_caller(user), reason=reason)
    return await _act(
        request, session, client, user, operation_id, UPDATE_CANCEL_OPERATION, message, "Cancelled."
    )
