"""Account actions for admins: POST /api/v1/users/{username}/sign-out."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel

from crc.accounts import UnknownUser, sign_out_everywhere
from crc.roles import Role
from crc.tables import User
from web.api.responses import documented
from web.deps import NowDep, SessionDep, client_address, require_roles

router = APIRouter(tags=["users"])
AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN.value))]


class SignedOut(BaseModel):
    """The result of signing a user out everywhere."""

    username: str
    sessions_ended: int


@router.post("/users/{username}/sign-out", responses=documented(403, 404))
async def sign_out_user(
    username: str, admin: AdminUser, request: Request, session: SessionDep, now: NowDep
) -> SignedOut:
    """End every page session and API token of the user at once (admin only)."""
    try:
        ended = await sign_out_everywhere(
            session, username=username, actor=admin.username, address=client_address(request), now=now
        )
    except UnknownUser:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user is named {username!r}") from None
    return SignedOut(username=username, sessions_ended=ended)
