"""GET /api/v1/me: who the caller is."""

from fastapi import APIRouter

from web.deps import CurrentUser
from web.schemas import Me

router = APIRouter(tags=["me"])


@router.get("/me")
async def read_me(user: CurrentUser) -> Me:
    """The caller's username, roles and roster member id."""
    return Me(username=user.username, full_name=user.full_name, roles=user.roles, member_id=user.member_id)
