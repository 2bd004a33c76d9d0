"""GET /api/v1/me: who the caller is."""

from fastapi import APIRouter

from crc.roles import SCOPE_ALL, SCOPED_ROLES
from web.deps import CurrentUser
from web.schemas import Me, RoleScope

router = APIRouter(tags=["me"])


@router.get("/me")
async def read_me(user: CurrentUser) -> Me:
    """The caller's username, roles (with what each covers) and roster member id."""
    scopes = [
        # A scope on a role that takes none (crc.roles.SCOPED_ROLES) limits nothing: "all".
        RoleScope(role=role, scope=user.scopes.get(role, SCOPE_ALL) if role in SCOPED_ROLES else SCOPE_ALL)
        for role in user.roles
    ]
    return Me(
        username=user.username,
        full_name=user.full_name,
        roles=user.roles,
        member_id=user.member_id,
        scopes=scopes,
    )
