"""The roster and the posts; the admin edits them through forms checked field by field."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from crc.domain import AGENCIES, SECTORS, ClearanceLevel, Component, ThreatLevel
from crc.requests import MemberId
from crc.roles import REQUEST_ROLES, Role
from crc.tables import Member, Post, User
from web.deps import PageUser, SessionDep, require_page_roles
from web.filters import PageAgency, PageComponent, PageDate, PageSector
from web.flash import flash
from web.pages.common import nav, see_other
from web.pages.forms import form_values
from web.services.errors import InvalidFields, NotFound
from web.services.requests import today_utc
from web.services.roster import busy_member_ids, list_posts
from web.services.roster_edit import MEMBER_FIELDS, POST_FIELDS, update_member, update_post
from web.services.roster_pages import roster_cards
from web.templating import page_or_fragment, render

router = APIRouter()
PageAdmin = Annotated[User, Depends(require_page_roles(Role.ADMIN))]


@router.get("/members")
async def members(
    request: Request,
    session: SessionDep,
    user: PageUser,
    sector: PageSector = "",
    component: PageComponent = "",
    agency: PageAgency = "",
    available_from: PageDate = None,
) -> Response:
    """Roster members with certificates and current deployment, filtered; the table for htmx."""
    from_date = available_from
    today = today_utc()
    cards = await roster_cards(
        session,
        user=user,
        today=today,
        component=component or None,
        agency=agency or None,
        sector=sector or None,
    )
    if from_date is not None:
        busy = await busy_member_ids(session, on=from_date)
        cards = [c for c in cards if c.member.id not in busy]
    context = {
        "cards": cards,
        "today": today,
        "filters": {
            "sector": sector,
            "component": component,
            "agency": agency,
            "available_from": from_date.isoformat() if from_date else "",
        },
        "sectors": SECTORS,
        "components": [str(c) for c in Component],
        "agencies": AGENCIES,
        "can_request": bool(REQUEST_ROLES & set(user.roles)),
        "is_admin": Role.ADMIN in user.roles,
        **await nav(session, user),
    }
    return page_or_fragment(request, "members.html", "partials/member_table.html", context, user=user)


def _member_values(m: Member) -> dict[str, str]:
    return {
        "name": m.name,
        "email": m.email,
        "agency": m.agency,
        "component": m.component,
        "languages": ", ".join(m.languages),
        "clearance_level": m.clearance_level,
        "clearance_expires": m.clearance_expires.isoformat() if m.clearance_expires else "",
        "medical_expires": m.medical_expires.isoformat() if m.medical_expires else "",
        "passport_expires": m.passport_expires.isoformat() if m.passport_expires else "",
    }


def _member_form(
    member: Member, values: dict[str, str], sectors: list[str], errors: dict[str, str]
) -> dict[str, Any]:
    return {
        "member": member,
        "values": values,
        "chosen_sectors": sectors,
        "errors": errors,
        "sectors": SECTORS,
        "components": [str(c) for c in Component],
        "agencies": AGENCIES,
        "levels": [str(c) for c in ClearanceLevel],
    }


@router.get("/members/{member_id}/edit")
async def edit_member_form(
    request: Request, member_id: MemberId, session: SessionDep, user: PageAdmin
) -> Response:
    """The admin's form for one member."""
    member = await session.get(Member, member_id)
    if member is None:
        raise NotFound("no roster member has this id")
    context = _member_form(member, _member_values(member), list(member.sectors), {}) | await nav(
        session, user
    )
    return render(request, "member_form.html", context, user=user)


@router.post("/members/{member_id}/edit")
async def edit_member(
    request: Request, member_id: MemberId, session: SessionDep, user: PageAdmin
) -> Response:
    """Save the member, or show the form again with a message per bad field."""
    form = await request.form()
    values = form_values(form, MEMBER_FIELDS)
    sectors = [str(s) for s in form.getlist("sectors")]
    try:
        await update_member(session, member_id=member_id, values=values, sectors=sectors)
    except InvalidFields as err:
        member = await session.get(Member, member_id)
        assert member is not None
        context = _member_form(member, values, sectors, err.by_field()) | await nav(session, user)
        return render(request, "member_form.html", context, user=user, status_code=422)
    flash(request, f"Saved {values['name'].strip() or 'the member'}.")
    return see_other(request, "/members")


@router.get("/posts")
async def posts(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Every receiving post and its rules."""
    context = {
        "posts": await list_posts(session),
        "is_admin": Role.ADMIN in user.roles,
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
async def edit_post(request: Request, code: str, session: SessionDep, user: PageAdmin) -> Response:
    """Save the post, or show the form again with a message per bad field."""
    form = await request.form()
    values = form_values(form, POST_FIELDS)
    visa = form.get("visa_required") in ("1", "on", "true")
    try:
        await update_post(session, code=code, values=values, visa_required=visa)
    except InvalidFields as err:
        post = await session.get(Post, code)
        assert post is not None
        context = _post_form(post, values, visa, err.by_field()) | await nav(session, user)
        return render(request, "post_form.html", context, user=user, status_code=422)
    flash(request, f"Saved post {code}.")
    return see_other(request, "/posts")
