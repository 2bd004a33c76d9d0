"""/api/v1/posts/{code}/departure: the Operations director orders a post's authorized or ordered
departure; the offices that see every deployment read it with its roll-call."""

from typing import Annotated

from fastapi import APIRouter, Depends, status

from crc.departures import DepartureCreate
from crc.roles import Role
from crc.tables import User
from web.api.responses import documented
from web.deps import CurrentUser, SessionDep, SettingsDep, TemporalClientDep, require_roles
from web.services import departures as service
from web.services.departures import DeparturePublic

router = APIRouter(prefix="/posts", tags=["departures"], responses=documented(403, 404))
Director = Annotated[User, Depends(require_roles(Role.DIRECTOR))]


@router.post("/{code}/departure", status_code=status.HTTP_201_CREATED, responses=documented(409))
async def order_departure(
    code: str,
    body: DepartureCreate,
    session: SessionDep,
    client: TemporalClientDep,
    settings: SettingsDep,
    user: Director,
) -> DeparturePublic:
    """Order (or authorize) the post's departure: every open deployment there is told at once.
    Members not yet travelling are held; those at the post get an urgent accountability task and
    their return booked. Operations director only (403); 409 while one is under way."""
    return await service.order_departure(
        session=session,
        client=client,
        user=user,
        code=code,
        body=body,
        task_queue=settings.TEMPORAL_TASK_QUEUE,
    )


@router.get("/{code}/departure")
async def read_departure(code: str, session: SessionDep, user: CurrentUser) -> DeparturePublic:
    """The post's departure under way, else its last one, with the roll-call and its audit."""
    return await service.get_departure(session, user, code)
