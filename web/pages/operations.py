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
    ApproveOperation,
    Caller,
    CancelOperation,
    FillPosition,
    Reason,
)
from crc.roles import SEE_ALL_ROLES, Role
from crc.tables import User
from web.deps import SessionDep, TemporalClientDep, require_page_roles
from web.flash import flash
from web.pages.common import nav, see_other
from web.services import operations as service
from web.services.errors import FieldError, InvalidFields, ServiceError
from web.services.funds import funds_of_operation
from web.templating import render

router = APIRouter()
PageReader = Annotated[User, Depends(require_page_roles(*SEE_ALL_ROLES))]
PagePlanning = Annotated[User, Depends(require_page_roles(Role.PLANNING, Role.ADMIN))]
PageApprover = Annotated[User, Depends(require_page_roles(Role.DIRECTOR, Role.RESOURCE_MANAGEMENT))]
PageCanceller = Annotated[User, Depends(require_page_roles(Role.PLANNING, Role.DIRECTOR, Role.ADMIN))]


class _ReasonForm(BaseModel):
    reason: Reason


def _caller(user: User) -> dict[str, Any]:
    return Caller(user=user.username, roles=list(user.roles), scopes=dict(user.scopes)).model_dump()


def _member_ids(text: str) -> list[int]:
    """Member ids typed as "12, 15 18"; 422 naming member_ids when one is not a number."""
    parts = text.replace(",", " ").split()
    if not parts or not all(p.isdecimal() and len(p) <= 9 for p in parts):
        raise InvalidFields([FieldError("member_ids", "list the members' ids, separated by commas")])
    return [int(p) for p in parts]


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
        member_ids = _member_ids(str(form.get("member_ids", "")))
        position = await service.position_of(session, user, operation_id, position_id)
        await service.check_members(session, position, member_ids)
    except ServiceError as err:
        return await _board(request, session, user, operation_id, error=err.detail, status=err.status_code)
    message = FillPosition(**_caller(user), position_id=position_id, member_ids=member_ids)
    done = f"Requested {len(member_ids)} member{'s' if len(member_ids) != 1 else ''}."
    return await _act(request, session, client, user, operation_id, UPDATE_FILL, message, done)


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
