"""/settings: how each kind of notification reaches the signed-in user beyond the bell."""

from typing import Any

from fastapi import APIRouter, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from crc.notifications import DELIVERY_LABELS, Delivery
from crc.tables import User
from web.deps import PageUser, SessionDep
from web.flash import flash
from web.pages.common import nav, see_other
from web.services.errors import InvalidFields
from web.services.notification_settings import Preference, preferences_of, set_preferences
from web.templating import render

router = APIRouter()
DELIVERIES = [(d.value, DELIVERY_LABELS[d]) for d in Delivery]


async def _page(
    request: Request, session: AsyncSession, user: User, prefs: list[Preference], errors: dict[str, str]
) -> Response:
    context: dict[str, Any] = {
        "preferences": prefs,
        "deliveries": DELIVERIES,
        "labels": {p.kind.value: p.label for p in prefs},
        "errors": errors,
        **await nav(session, user),
    }
    return render(request, "settings.html", context, user=user, status_code=422 if errors else 200)


@router.get("/settings")
async def settings_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    """The user's notification settings, one choice per kind."""
    return await _page(request, session, user, await preferences_of(session, user.username), {})


@router.post("/settings/notifications")
async def save_notifications(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Save the choices; the form again, nothing saved, with a message by each wrong one."""
    form = await request.form()
    prefs = await preferences_of(session, user.username)
    # A kind left out keeps its delivery; a locked one is not the user's to change.
    choices = {p.kind.value: str(form[p.kind.value]) for p in prefs if not p.locked and p.kind.value in form}
    try:
        await set_preferences(session, user.username, choices)
    except InvalidFields as invalid:
        prefs = await preferences_of(session, user.username)
        return await _page(request, session, user, prefs, {e.field: e.msg for e in invalid.errors})
    flash(request, "Your notification settings are saved.")
    return see_other(request, "/settings")
