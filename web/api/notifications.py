"""The caller's notifications and how each kind reaches them (/api/v1/notifications, /me/...)."""

from typing import Annotated

from fastapi import APIRouter, Query

from web.api.responses import documented
from web.deps import CurrentUser, NowDep, SessionDep
from web.schemas import (
    MarkedRead,
    NotificationList,
    NotificationPublic,
    PreferenceList,
    PreferencePublic,
    PreferencesSet,
)
from web.services.notification_settings import preferences_of, set_preferences
from web.services.notifications import list_notifications, mark_all_read, mark_read, unread_count

router = APIRouter(tags=["notifications"])


@router.get("/notifications")
async def get_notifications(
    session: SessionDep,
    user: CurrentUser,
    unread: Annotated[bool | None, Query(description="true: only unread; false: only read")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> NotificationList:
    """The caller's notifications, newest first; `unread` counts all their unread ones."""
    items, total = await list_notifications(session, user.username, unread=unread, limit=limit, offset=offset)
    return NotificationList(
        items=[NotificationPublic.model_validate(n) for n in items],
        total=total,
        unread=await unread_count(session, user.username),
    )


@router.post("/notifications/read-all")
async def read_all_notifications(session: SessionDep, user: CurrentUser, now: NowDep) -> MarkedRead:
    """Mark every unread notification of the caller read."""
    return MarkedRead(marked=await mark_all_read(session, user.username, now))


@router.post("/notifications/{notification_id}/read", responses=documented(404))
async def read_notification(
    notification_id: int, session: SessionDep, user: CurrentUser, now: NowDep
) -> NotificationPublic:
    """Mark one of the caller's notifications read (again changes nothing); another's: 404."""
    return NotificationPublic.model_validate(await mark_read(session, user.username, notification_id, now))


@router.get("/me/notification-preferences", tags=["me"])
async def get_preferences(session: SessionDep, user: CurrentUser) -> PreferenceList:
    """How each kind of notification reaches the caller: email at once, daily digest, in the app."""
    return PreferenceList(
        items=[PreferencePublic.model_validate(p) for p in await preferences_of(session, user.username)]
    )


@router.put("/me/notification-preferences", tags=["me"])
async def put_preferences(body: PreferencesSet, session: SessionDep, user: CurrentUser) -> PreferenceList:
    """Choose the delivery of some kinds; 422 names each wrong kind or choice, and writes nothing."""
    chosen = await set_preferences(session, user.username, body.preferences)
    return PreferenceList(items=[PreferencePublic.model_validate(p) for p in chosen])
