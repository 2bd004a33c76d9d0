"""User accounts for admins: list, create (with a one-time set-password link), change, disable,
reset the password link, read the audit, and sign a user out everywhere."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel

from crc.accounts import UnknownUser, sign_out_everywhere
from crc.fields import OneOf
from crc.roles import Role
from crc.tables import User
from crc.user_audit import audit_of
from crc.users import (
    ROLE_NAMES,
    AuditEntry,
    PasswordLinkIssued,
    UserCreate,
    UserCreated,
    UserPublic,
    UserUpdate,
)
from web.api.responses import ERRORS, documented
from web.deps import NowDep, SessionDep, SettingsDep, client_address, require_roles
from web.schemas import Page
from web.services.user_admin import get_user, list_users, member_name, public, update_user
from web.services.user_passwords import create_with_link, email_link, link_path, reissue_link

# Every route here is the admin's: any other role gets 403.
router = APIRouter(tags=["users"], responses=documented(403))
AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN.value))]


def _url(request: Request, token: str) -> str:
    return str(request.base_url).rstrip("/") + link_path(token)


class SignedOut(BaseModel):
    """The result of signing a user out everywhere."""

    username: str
    sessions_ended: int


@router.get("/users")
async def read_users(
    admin: AdminUser,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200, description="part of a username or name")] = "",
    role: Annotated[
        str, OneOf(ROLE_NAMES, blank=True), Query(description="only users holding this role")
    ] = "",
) -> Page[UserPublic]:
    """Every user (admin only), by username; `q` and `role` narrow the list."""
    found = await list_users(session, q=q, role=role)
    return Page(items=[public(user, name) for user, name in found], total=len(found))


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    responses={
        **documented(422),
        409: {**ERRORS[409], "description": "The username is taken (a duplicate username is 409, not 422)"},
    },
)
async def create_user(
    body: UserCreate,
    admin: AdminUser,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> UserCreated:
    """Create a user with no password yet; the set-password link is emailed to them and the
    answer's `set_password_url` is shown only here (`set_password_emailed`: whether the email went)."""
    user, token, expires_at = await create_with_link(
        session, body, actor=admin.username, secret=settings.CRC_SECRET_KEY, now=now
    )
    shown = public(user, await member_name(session, user.member_id))
    emailed = await email_link(settings, user, token, expires_at, created=True)
    return UserCreated(
        **shown.model_dump(),
        set_password_url=_url(request, token),
        set_password_expires_at=expires_at,
        set_password_emailed=emailed,
    )


@router.get("/users/{username}", responses=documented(404))
async def read_user(username: str, admin: AdminUser, session: SessionDep) -> UserPublic:
    """One user (admin only)."""
    user = await get_user(session, username)
    return public(user, await member_name(session, user.member_id))


@router.patch("/users/{username}", responses=documented(403, 404, 422))
async def change_user(
    username: str, body: UserUpdate, admin: AdminUser, request: Request, session: SessionDep, now: NowDep
) -> UserPublic:
    """Change the fields sent; `is_active: false` ends the user's sessions and tokens at once.
    Nobody may remove their own admin role or disable themselves (403)."""
    user = await update_user(
        session, username, body, actor=admin.username, address=client_address(request), now=now
    )
    return public(user, await member_name(session, user.member_id))


@router.post(
    "/users/{username}/password-link", status_code=status.HTTP_201_CREATED, responses=documented(404)
)
async def new_password_link(
    username: str, admin: AdminUser, request: Request, session: SessionDep, settings: SettingsDep, now: NowDep
) -> PasswordLinkIssued:
    """A fresh one-time set-password link (72 hours), emailed to the user too; older links stop working."""
    token, expires_at = await reissue_link(
        session, username, actor=admin.username, secret=settings.CRC_SECRET_KEY, now=now
    )
    emailed = await email_link(settings, await get_user(session, username), token, expires_at, created=False)
    return PasswordLinkIssued(
        username=username,
        set_password_url=_url(request, token),
        set_password_expires_at=expires_at,
        set_password_emailed=emailed,
    )


@router.get("/users/{username}/audit", responses=documented(404))
async def read_user_audit(username: str, admin: AdminUser, session: SessionDep) -> Page[AuditEntry]:
    """Every change to the user and their roles, oldest first: who, what, when, before and after."""
    await get_user(session, username)
    rows = await audit_of(session, username)
    return Page(items=[AuditEntry.model_validate(row, from_attributes=True) for row in rows], total=len(rows))


@router.post("/users/{username}/sign-out", responses=documented(404))
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
