"""The signed-in user's own account page: for now, their out-of-office period and delegate."""

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from crc.roles import ROLE_LABELS, Role
from crc.tables import OutOfOffice, User
from web.deps import NowDep, PageUser, SessionDep
from web.flash import flash
from web.pages.common import nav, see_other
from web.pages.forms import form_values, parse_form
from web.schemas import OutOfOfficeSet
from web.services.errors import Forbidden, InvalidFields
from web.services.out_of_office import (
    DECIDING_ROLES,
    cancel_out_of_office,
    day_label,
    out_of_office_of,
    possible_delegates,
    set_out_of_office,
)
from web.templating import render

router = APIRouter()
FIELDS = ("delegate", "starts_on", "ends_on")


async def _context(
    session: AsyncSession, user: User, today: date, values: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    away = await out_of_office_of(session, user.username)
    delegates = await possible_delegates(session, user)
    return {
        "away": away,
        # "active", "upcoming" or "ended" (an ended period stays until replaced or cancelled).
        "away_state": _state(away, today) if away else "",
        "deciding_roles": [ROLE_LABELS[Role(r)] for r in sorted(DECIDING_ROLES.intersection(user.roles))],
        "delegates": [(u.username, f"{u.full_name or u.username} ({u.username})") for u in delegates],
        "values": values,
        "errors": errors,
        "today": today,
        "day_label": day_label,
    } | await nav(session, user)


def _state(away: OutOfOffice, today: date) -> str:
    if today < away.starts_on:
        return "upcoming"
    return "active" if today <= away.ends_on else "ended"


@router.get("/account")
async def account(request: Request, session: SessionDep, user: PageUser, now: NowDep) -> Response:
    """The user's account: who they are, and their out-of-office period."""
    today = now.date()
    away = await out_of_office_of(session, user.username)
    values = {
        "delegate": away.delegate if away else "",
        # A period under way changes from today: it may not start in the past.
        "starts_on": max(away.starts_on if away else today, today).isoformat(),
        "ends_on": away.ends_on.isoformat() if away else "",
    }
    return render(request, "account.html", await _context(session, user, today, values, {}), user=user)


@router.post("/account/out-of-office")
async def set_away(request: Request, session: SessionDep, user: PageUser, now: NowDep) -> Response:
    """Set or change the period away; the form again with a message per bad field."""
    form = await request.form()
    values = form_values(form, FIELDS)
    today = now.date()
    try:
        if not DECIDING_ROLES.intersection(user.roles):  # the page offers them no form
            raise Forbidden("only a user whose role decides tasks may hand them over while away")
        body = parse_form(OutOfOfficeSet, form)
        await set_out_of_office(
            session,
            user=user,
            delegate=body.delegate,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            today=today,
        )
    except InvalidFields as err:
        context = await _context(session, user, today, values, err.by_field())
        return render(request, "account.html", context, user=user, status_code=422)
    flash(request, f"Out of office from {day_label(body.starts_on)} to {day_label(body.ends_on)}.")
    return see_other(request, "/account")


@router.post("/account/out-of-office/cancel")
async def cancel_away(request: Request, session: SessionDep, user: PageUser) -> Response:
    """End (or call off) the period away."""
    cancelled = await cancel_out_of_office(session, user=user)
    flash(request, "Out of office cancelled." if cancelled else "No out-of-office period was set.")
    return see_other(request, "/account")
