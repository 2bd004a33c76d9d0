"""A post's departure page: the roll-call board for the offices that see every deployment, and the
Operations director's order form."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from crc.departures import DepartureCreate, DepartureStatus
from crc.roles import SEE_ALL_ROLES, Role
from crc.tables import User
from web.deps import SessionDep, SettingsDep, TemporalClientDep, require_page_roles
from web.flash import flash
from web.pages.common import nav, see_other
from web.services import departures as service
from web.services.errors import NotFound, ServiceError
from web.templating import render

router = APIRouter()
PageReader = Annotated[User, Depends(require_page_roles(*SEE_ALL_ROLES))]
PageDirector = Annotated[User, Depends(require_page_roles(Role.DIRECTOR))]
KIND_CHOICES = [("ordered", "Ordered departure"), ("authorized", "Authorized departure")]


async def _board(
    request: Request,
    session: AsyncSession,
    user: User,
    code: str,
    *,
    error: str = "",
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    post = await service.post_of(session, code)
    try:
        departure = await service.get_departure(session, user, code)
    except NotFound:
        departure = None
    under_way = departure is not None and departure.status == DepartureStatus.UNDER_WAY
    context = {
        "post": post,
        "departure": departure,
        "may_order": service.may_order(user) and not under_way,
        "kinds": KIND_CHOICES,
        "typed": typed or {},
        "error": error,
        **await nav(session, user),
    }
    return render(request, "departure.html", context, user=user, status_code=status)


@router.get("/posts/{code}/departure")
async def departure_page(request: Request, code: str, session: SessionDep, user: PageReader) -> Response:
    """The post's current or last departure: every member's standing, accounted for, out."""
    return await _board(request, session, user, code)


@router.post("/posts/{code}/departure")
async def order_departure(
    request: Request,
    code: str,
    session: SessionDep,
    client: TemporalClientDep,
    settings: SettingsDep,
    user: PageDirector,
) -> Response:
    """The Operations director's order; the board again with what to fix, or a flash and back."""
    form = await request.form()
    typed = {"kind": str(form.get("kind", "")), "reason": str(form.get("reason", ""))}
    try:
        body = DepartureCreate.model_validate(typed)
    except ValidationError as err:
        fields = ", ".join(str(e["loc"][0]) for e in err.errors())
        message = f"Check {fields}: choose ordered or authorized, and say why."
        return await _board(request, session, user, code, error=message, typed=typed, status=422)
    try:
        await service.order_departure(
            session=session,
            client=client,
            user=user,
            code=code,
            body=body,
            task_queue=settings.TEMPORAL_TASK_QUEUE,
        )
    except ServiceError as err:
        return await _board(
            request, session, user, code, error=err.detail, typed=typed, status=err.status_code
        )
    flash(request, f"The {body.kind} departure of {code} is under way.")
    return see_other(request, f"/posts/{code}/departure")
