"""/notifications: the signed-in user's notifications, newest first, to open and mark read."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from crc.notifications import KIND_LABELS, NotificationKind
from web.deps import NowDep, PageUser, SessionDep
from web.flash import flash
from web.pages.common import nav, see_other
from web.services.notifications import PAGE_SIZE, list_notifications, mark_all_read, mark_read, unread_count
from web.templating import is_htmx, render

router = APIRouter()


def _safe_link(link: str) -> str:
    """Only a path of this site (never another host), so a link cannot send anyone away."""
    return link if link.startswith("/") and not link.startswith("//") else "/notifications"


@router.get("/notifications")
async def notifications(
    request: Request,
    session: SessionDep,
    user: PageUser,
    show: Literal["all", "unread"] = "all",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """The user's notifications newest first, all or only unread, a page at a time."""
    items, total = await list_notifications(
        session,
        user.username,
        unread=True if show == "unread" else None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    context = {
        "items": items,
        "total": total,
        "show": show,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "kind_labels": {k.value: KIND_LABELS[k] for k in NotificationKind},
        **await nav(session, user),
    }
    return render(request, "notifications.html", context, user=user)


@router.get("/notifications/{notification_id}/open")
async def open_notification(
    notification_id: int, session: SessionDep, user: PageUser, now: NowDep
) -> Response:
    """Mark the notification read and go to what it is about."""
    note = await mark_read(session, user.username, notification_id, now)
    return RedirectResponse(_safe_link(note.link), status_code=303)


@router.post("/notifications/{notification_id}/read")
async def read_one(
    request: Request, notification_id: int, session: SessionDep, user: PageUser, now: NowDep
) -> Response:
    """Mark one read: htmx gets the row and the bell back, a plain form the page again."""
    note = await mark_read(session, user.username, notification_id, now)
    if not is_htmx(request):
        return see_other(request, "/notifications")
    context = {
        "note": note,
        "kind_labels": {k.value: KIND_LABELS[k] for k in NotificationKind},
        "unread_count": await unread_count(session, user.username),
        "oob_bell": True,
    }
    return render(request, "partials/notification_read.html", context, user=user)


@router.post("/notifications/read-all")
async def read_all(request: Request, session: SessionDep, user: PageUser, now: NowDep) -> Response:
    """Mark every unread notification read, and say how many."""
    marked = await mark_all_read(session, user.username, now)
    flash(
        request,
        f"Marked {marked} notification{'' if marked == 1 else 's'} read."
        if marked
        else "Nothing was unread.",
    )
    return see_other(request, "/notifications")
