"""The posts; the admin edits them through a form checked field by field (members: web.pages.members)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from crc.domain import ClearanceLevel, ThreatLevel
from crc.roles import SEE_ALL_ROLES, Role
from crc.tables import Post, User
from web.deps import PageUser, SessionDep, TemporalClientDep, require_page_roles
from web.flash import flash
from web.pages.common import nav, see_other
from web.pages.forms import form_values
from web.services.errors import InvalidFields, NotFound
from web.services.roster import list_posts
from web.services.roster_edit import POST_FIELDS, update_post
from web.services.threat_levels import log_and_tell, rules_of
from web.templating import render

router = APIRouter()
PageAdmin = Annotated[User, Depends(require_page_roles(Role.ADMIN))]


@router.get("/posts")
async def posts(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Every receiving post and its rules."""
    context = {
        "posts": await list_posts(session),
        "is_admin": Role.ADMIN in user.roles,
        "sees_departures": bool(SEE_ALL_ROLES & set(user.roles)),
        **await nav(session, user),
    }
    return render(request, "posts.html", context, user=user)


def _post_values(p: Post) -> dict[str, str]:
    return {name: str(getattr(p, name)) for name in POST_FIELDS}


def _post_form(post: Post, values: dict[str, str], visa: bool, errors: dict[str, str]) -> dict[str, Any]:
    return {
        "post": post,
        "values": values,
        "visa_required": visa,
        "errors": errors,
        "threats": [str(t) for t in ThreatLevel],
        "levels": [str(c) for c in ClearanceLevel],
    }


@router.get("/posts/{code}/edit")
async def edit_post_form(request: Request, code: str, session: SessionDep, user: PageAdmin) -> Response:
    """The admin's form for one post."""
    post = await session.get(Post, code)
    if post is None:
        raise NotFound("no post has this code")
    context = _post_form(post, _post_values(post), post.visa_required, {}) | await nav(session, user)
    return render(request, "post_form.html", context, user=user)


@router.post("/posts/{code}/edit")
async def edit_post(
    request: Request, code: str, session: SessionDep, client: TemporalClientDep, user: PageAdmin
) -> Response:
    """Save the post, or show the form again with a message per bad field; a change of its threat
    level, clearance or danger pay is logged and told to the open deployments there, as the API's."""
    form = await request.form()
    values = form_values(form, POST_FIELDS)
    visa = form.get("visa_required") in ("1", "on", "true")
    current = await session.get(Post, code)
    before = rules_of(current) if current is not None else None
    try:
        saved = await update_post(session, code=code, values=values, visa_required=visa)
    except InvalidFields as err:
        post = await session.get(Post, code)
        assert post is not None
        context = _post_form(post, values, visa, err.by_field()) | await nav(session, user)
        return render(request, "post_form.html", context, user=user, status_code=422)
    if before is not None and rules_of(saved) != before:
        await log_and_tell(session, client, user, code, before, rules_of(saved), "Changed on the post form")
    flash(request, f"Saved post {code}.")
    return see_other(request, "/posts")
