"""GET/PUT/DELETE /api/v1/me/out-of-office: the caller's period away and their delegate."""

from datetime import date

from fastapi import APIRouter, HTTPException, Response, status

from crc.tables import OutOfOffice, User
from web.api.responses import documented
from web.deps import CurrentUser, NowDep, SessionDep
from web.schemas import OutOfOfficePublic, OutOfOfficeSet
from web.services.errors import NotFound
from web.services.out_of_office import (
    DECIDING_ROLES,
    cancel_out_of_office,
    out_of_office_of,
    set_out_of_office,
)

router = APIRouter(prefix="/me/out-of-office", tags=["me"])
NONE_SET = "you have set no out-of-office period"


def _public(row: OutOfOffice, today: date) -> OutOfOfficePublic:
    public = OutOfOfficePublic.model_validate(row)
    public.active = row.starts_on <= today <= row.ends_on
    return public


def _deciding(user: User) -> None:
    if not DECIDING_ROLES.intersection(user.roles):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "only a user whose role decides tasks may hand them over while away"
        )


@router.get("", responses=documented(404))
async def read_out_of_office(session: SessionDep, user: CurrentUser, now: NowDep) -> OutOfOfficePublic:
    """The caller's period away (set, running, or to come); 404 if none is set."""
    row = await out_of_office_of(session, user.username)
    if row is None:
        raise NotFound(NONE_SET)
    return _public(row, now.date())


@router.put("", responses=documented(403))
async def put_out_of_office(
    body: OutOfOfficeSet, session: SessionDep, user: CurrentUser, now: NowDep
) -> OutOfOfficePublic:
    """Set (or replace) the caller's period away; 422 names the field to fix (`delegate`: a user
    holding each of the caller's deciding roles, not the caller; `starts_on`: not in the past;
    `ends_on`: not before `starts_on`)."""
    _deciding(user)
    row = await set_out_of_office(
        session,
        user=user,
        delegate=body.delegate,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        today=now.date(),
    )
    return _public(row, now.date())


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, responses=documented(404))
async def delete_out_of_office(session: SessionDep, user: CurrentUser) -> Response:
    """End the caller's period away now (or cancel one to come); 404 if none is set."""
    if not await cancel_out_of_office(session, user=user):
        raise NotFound(NONE_SET)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
