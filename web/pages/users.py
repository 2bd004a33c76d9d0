"""The admin's pages for user accounts: the list, a new user, one user's roles, member, status,
password link and audit. Forms parse into the API's models, so both refuse alike."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from crc.roles import SCOPE_ALL, SCOPED_ROLES, Role
from crc.tables import User
from crc.user_audit import audit_of
from crc.users import ROLE_NAMES, UserCreate, UserUpdate
from web.deps import NowDep, SessionDep, SettingsDep, client_address, require_page_roles
from web.flash import flash
from web.pages.common import nav, see_other
from web.pages.forms import parse_values
from web.services.errors import Conflict, Forbidden, InvalidFields
from web.services.user_admin import (
    get_user,
    grants_of,
    list_users,
    member_name,
    scope_choices,
    unlinked_members,
    update_user,
)
from web.services.user_passwords import create_with_link, email_link, link_path, reissue_link
from web.templating import page_or_fragment, render

router = APIRouter(prefix="/admin/users")
PageAdmin = Annotated[User, Depends(require_page_roles(Role.ADMIN))]
SCOPE_FIELD = "scope_"
NEW_LINK_KEY = "new_password_link"


def _form_values(form: FormData) -> dict[str, Any]:
    """The form as typed, in the shape the page shows again."""
    roles = [str(r) for r in form.getlist("roles")]
    return {
        "username": str(form.get("username") or "").strip(),
        "full_name": str(form.get("full_name") or ""),
        "email": str(form.get("email") or ""),
        "member_id": str(form.get("member_id") or ""),
        "roles": roles,
        "scopes": {r.value: [str(v) for v in form.getlist(SCOPE_FIELD + r.value)] for r in SCOPED_ROLES},
    }


def _body(values: dict[str, Any], *, with_username: bool) -> dict[str, Any]:
    """The API body the form's values stand for (a scoped role with nothing ticked: all)."""
    body: dict[str, Any] = {
        "email": values["email"],
        "full_name": values["full_name"],
        "member_id": values["member_id"] or None,
        "roles": [{"role": r, "scope": values["scopes"].get(r) or SCOPE_ALL} for r in values["roles"]],
    }
    if with_username:
        body["username"] = values["username"]
    return body


def _page_errors(err: InvalidFields, values: dict[str, Any]) -> dict[str, str]:
    """Messages keyed by the form's fields: a role's scope by that role's checkboxes."""
    errors: dict[str, str] = {}
    for e in err.errors:
        parts = [*e.location.split(".")[1:], *e.field.split(".")]
        name = parts[0]
        if name == "roles" and len(parts) >= 3 and parts[2] == "scope":
            name = SCOPE_FIELD + values["roles"][int(parts[1])]
        errors.setdefault(name, e.msg)
    return errors


def _user_values(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "member_id": str(user.member_id or ""),
        "roles": list(user.roles),
        "scopes": {role: list(values) for role, values in user.scopes.items()},
    }


async def _form_context(
    session: AsyncSession, admin: User, values: dict[str, Any], errors: dict[str, str], keep: int | None
) -> dict[str, Any]:
    members = await unlinked_members(session, keep=keep)
    choices = await scope_choices(session)
    return {
        "values": values,
        "errors": errors,
        "role_names": ROLE_NAMES,
        "scoped": [(role.value, kind.value, choices[kind]) for role, kind in SCOPED_ROLES.items()],
        "members": [(str(m.id), f"{m.name} ({m.agency})") for m in members],
        **await nav(session, admin),
    }


@router.get("")
async def users_page(
    request: Request, session: SessionDep, admin: PageAdmin, q: str = "", role: str = ""
) -> Response:
    """Every user, searched by name or username and filtered by role; the table for htmx."""
    role = role if role in ROLE_NAMES else ""
    found = await list_users(session, q=q[:200], role=role)
    context = {
        "rows": [(user, grants_of(user), name) for user, name in found],
        "filters": {"q": q[:200], "role": role},
        "role_names": ROLE_NAMES,
        **await nav(session, admin),
    }
    return page_or_fragment(request, "admin_users.html", "partials/user_table.html", context, user=admin)


@router.get("/new")
async def new_user_form(request: Request, session: SessionDep, admin: PageAdmin) -> Response:
    """The form for a new user."""
    values = {"username": "", "full_name": "", "email": "", "member_id": "", "roles": [], "scopes": {}}
    context = await _form_context(session, admin, values, {}, None)
    return render(request, "admin_user_new.html", context, user=admin)


@router.post("/new")
async def create_user(
    request: Request, session: SessionDep, admin: PageAdmin, settings: SettingsDep, now: NowDep
) -> Response:
    """Create the user, email them their set-password link and show it, this once."""
    values = _form_values(await request.form())
    try:
        body = parse_values(UserCreate, _body(values, with_username=True))
        user, token, expires_at = await create_with_link(
            session, body, actor=admin.username, secret=settings.CRC_SECRET_KEY, now=now
        )
    except (InvalidFields, Conflict) as err:
        errors = _page_errors(err, values) if isinstance(err, InvalidFields) else {"username": err.detail}
        context = await _form_context(session, admin, values, errors, None)
        return render(request, "admin_user_new.html", context, user=admin, status_code=err.status_code)
    emailed = await email_link(settings, user, token, expires_at, created=True)
    _hand_over_link(request, user, token, expires_at, created=True, emailed=emailed)
    return see_other(request, f"/admin/users/{user.username}")


def _hand_over_link(
    request: Request, user: User, token: str, expires_at: datetime, *, created: bool, emailed: bool
) -> None:
    """Keep the link for the user's page, which shows it once (post/redirect/get: a reload sends
    nothing twice). The session cookie holds it until then: only the admin's browser has it."""
    url = str(request.base_url).rstrip("/") + link_path(token)
    request.session[NEW_LINK_KEY] = {
        "username": user.username,
        "url": url,
        "expires_at": expires_at.isoformat(),
        "created": created,
        "emailed_to": user.email if emailed else "",
    }


def _take_link(request: Request, username: str) -> dict[str, Any] | None:
    """The link waiting to be shown on this user's page, taken from the session (shown once)."""
    waiting = request.session.get(NEW_LINK_KEY)
    if not isinstance(waiting, dict) or waiting.get("username") != username:
        return None
    del request.session[NEW_LINK_KEY]
    return {**waiting, "expires_at": datetime.fromisoformat(waiting["expires_at"])}


async def _user_page(
    request: Request,
    session: SessionDep,
    admin: User,
    username: str,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    user = await get_user(session, username)
    context = await _form_context(session, admin, values or _user_values(user), errors or {}, user.member_id)
    context |= {
        "account": user,
        "account_member": await member_name(session, user.member_id),
        "audit": await audit_of(session, username),
        "is_self": user.username == admin.username,
        "new_link": _take_link(request, username) if status_code == 200 else None,
    }
    return render(request, "admin_user.html", context, user=admin, status_code=status_code)


@router.get("/{username}")
async def user_page(request: Request, username: str, session: SessionDep, admin: PageAdmin) -> Response:
    """One user: details, roles with scope, member, status, password link and audit."""
    return await _user_page(request, session, admin, username)


@router.post("/{username}")
async def save_user(
    request: Request, username: str, session: SessionDep, admin: PageAdmin, now: NowDep
) -> Response:
    """Save details, roles and member, or show the form again with a message per bad field."""
    await get_user(session, username)
    values = _form_values(await request.form())
    values["username"] = username
    try:
        body = parse_values(UserUpdate, _body(values, with_username=False))
        await update_user(
            session, username, body, actor=admin.username, address=client_address(request), now=now
        )
    except (InvalidFields, Forbidden) as err:
        errors = _page_errors(err, values) if isinstance(err, InvalidFields) else {"roles": err.detail}
        return await _user_page(
            request, session, admin, username, values=values, errors=errors, status_code=err.status_code
        )
    flash(request, f"Saved {username}.")
    return see_other(request, f"/admin/users/{username}")


async def _set_active(
    request: Request, username: str, session: SessionDep, admin: User, now: datetime, on: bool
) -> Response:
    body = UserUpdate(is_active=on)
    await update_user(session, username, body, actor=admin.username, address=client_address(request), now=now)
    flash(
        request,
        f"{username} is enabled again." if on else f"{username} is disabled and signed out everywhere.",
    )
    return see_other(request, f"/admin/users/{username}")


@router.post("/{username}/disable")
async def disable(
    request: Request, username: str, session: SessionDep, admin: PageAdmin, now: NowDep
) -> Response:
    """Disable the user: their sessions and tokens end at once."""
    return await _set_active(request, username, session, admin, now, False)


@router.post("/{username}/enable")
async def enable(
    request: Request, username: str, session: SessionDep, admin: PageAdmin, now: NowDep
) -> Response:
    """Let the user sign in again."""
    return await _set_active(request, username, session, admin, now, True)


@router.post("/{username}/password-link")
async def new_password_link(
    request: Request, username: str, session: SessionDep, admin: PageAdmin, settings: SettingsDep, now: NowDep
) -> Response:
    """A fresh set-password link, emailed to the user and shown this once; older ones stop working."""
    token, expires_at = await reissue_link(
        session, username, actor=admin.username, secret=settings.CRC_SECRET_KEY, now=now
    )
    user = await get_user(session, username)
    emailed = await email_link(settings, user, token, expires_at, created=False)
    _hand_over_link(request, user, token, expires_at, created=False, emailed=emailed)
    return see_other(request, f"/admin/users/{username}")
