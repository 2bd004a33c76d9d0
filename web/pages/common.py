"""What every signed-in page shares: the counts in the navigation, extra template filters."""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import RedirectResponse
from sqlmodel import func
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from crc.stages import LIFECYCLE, Stage
from crc.tables import User
from web.services.notifications import unread_query
from web.services.tasks import fetch, open_tasks_query
from web.templating import is_htmx, templates


async def nav(session: AsyncSession, user: User) -> dict[str, Any]:
    """Context for the navigation: how many tasks wait for the user, how many notifications are
    unread; both counts in one statement (every page pays for it)."""
    counts = sa.select(
        open_tasks_query(user, func.count()).scalar_subquery(), unread_query(user.username).scalar_subquery()
    )
    inbox_count, unread = (await fetch(session, counts))[0]
    return {"inbox_count": int(inbox_count), "unread_count": int(unread)}


def see_other(request: Request, url: str) -> Response:
    """Go to `url` after a POST: HX-Redirect for htmx, 303 otherwise."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def stage_steps(stage: str, reached: str | None = None) -> list[dict[str, str]]:
    """The lifecycle as steps: 'done', 'current', 'upcoming'; an ended deployment shows where it
    stopped ('halted', the last stage `reached`) and how it ended ('ended')."""
    order = [str(s) for s in LIFECYCLE]
    ended = stage not in order
    at = order.index(stage) if not ended else (order.index(reached) if reached in order else -1)
    steps = []
    for i, name in enumerate(order):
        if i < at or (name == stage == Stage.COMPLETED):
            state = "done"
        elif i == at:
            state = "halted" if ended else "current"
        else:
            state = "upcoming"
        steps.append({"name": name, "state": state})
    if ended:
        steps.append({"name": stage, "state": "ended"})
    return steps


def stage_progress(stage: str) -> int:
    """How far along the lifecycle a stage is, 0 to 100 (ended deployments: 100)."""
    order = [str(s) for s in LIFECYCLE]
    if stage not in order:
        return 100
    return round(100 * order.index(stage) / (len(order) - 1))


def _due_class(value: datetime | None) -> str:
    if value is None:
        return ""
    now = datetime.now(UTC)
    if value < now:
        return "overdue"
    return "due-soon" if (value - now).total_seconds() < 86400 else ""


templates.env.globals.update(stage_steps=stage_steps, stage_progress=stage_progress)
templates.env.filters.update(due_class=_due_class)
