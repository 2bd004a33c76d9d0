"""GET /events: one Server-Sent Events stream per open page of a signed-in user, pushing what
changed for them (web.live): the bell, the inbox count, inbox rows, a watched deployment's status,
a watched operation's staffing board."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sse_starlette import EventSourceResponse, ServerSentEvent

from crc import permissions
from crc.live import What
from crc.operation_tables import OperationDeployment
from crc.settings import Settings
from crc.tables import Deployment, Task, User
from web.deps import NowDep, SessionDep, SettingsDep, get_page_user
from web.live import Change, LiveHub
from web.pages.common import nav
from web.pages.deployment import offered, page_context, status_context
from web.security import csrf_token
from web.services import operations as operation_service
from web.services.access import actor_of, parties_of
from web.services.errors import Unavailable
from web.sessions import SESSION_ID_KEY, session_holds
from web.templating import templates

router = APIRouter()

PING_SECONDS = 15  # a comment line that keeps proxies from closing a quiet stream
CHECK_SESSION_SECONDS = 10  # a stream notices a sign-out or an expired session this soon


class _Stream:
    """What one open page was last told, and the events that bring it up to date."""

    def __init__(
        self,
        request: Request,
        user: User,
        session_id: object,
        watched: str | None,
        counts: dict[str, int],
        offer: tuple[object, ...] | None = None,
        operation: str | None = None,
    ) -> None:
        self.request = request
        self.user = user
        self.session_id = session_id
        self.watched = watched
        self.counts = counts
        self.offer = offer  # what the watched deployment's page offered (web.pages.deployment.offered)
        self.operation = operation  # the operation whose staffing board the page shows
        self.operation_deployments: set[str] = set()  # its deployments, as far as the stream knows
        settings: Settings = request.app.state.settings
        self.settings = settings
        self.sessions: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
        self.clock: Callable[[], datetime] = request.app.state.clock

    def _html(self, name: str, context: dict[str, Any]) -> str:
        return templates.get_template(name).render({"request": self.request, "user": self.user, **context})

    async def _tasks_for_user(self, db: AsyncSession, task_ids: set[str]) -> dict[str, list[str]]:
        """The changed tasks the user may act on: still open, or no longer (done, withdrawn)."""
        found: dict[str, list[str]] = {"open": [], "closed": []}
        if not task_ids:
            return found
        tasks = (await db.exec(select(Task).where(col(Task.id).in_(sorted(task_ids))))).all()
        actor = actor_of(self.user)
        for task in tasks:
            deployment = await db.get(Deployment, task.deployment_id)
            if deployment is None or permissions.may_act_on(actor, task, parties_of(deployment)):
                continue
            found["open" if task.status == "open" else "closed"].append(task.id)
        return found

    async def updates(self, db: AsyncSession, changes: list[Change]) -> list[ServerSentEvent]:
        """The events a batch of changes calls for (none when nothing the page shows changed)."""
        events: list[ServerSentEvent] = []
        mine = any(c.usernames and self.user.username in c.usernames for c in changes)
        tasks_moved = any(What.TASKS in c.what or What.STAGE in c.what for c in changes)
        if mine or tasks_moved:
            counts = await nav(db, self.user)
            if counts["unread_count"] != self.counts["unread_count"]:
                events.append(ServerSentEvent(self._html("partials/bell.html", counts), event="bell"))
            if counts["inbox_count"] != self.counts["inbox_count"]:
                events.append(
                    ServerSentEvent(self._html("partials/nav_count.html", counts), event="inbox-count")
                )
            self.counts = counts
        rows = await self._tasks_for_user(db, {t for c in changes for t in c.task_ids})
        if rows["open"] or rows["closed"]:
            events.append(ServerSentEvent(json.dumps(rows), event="inbox-tasks"))
        if self.operation:
            events += await self._positions(db, {c.deployment_id for c in changes})
        if self.watched and any(c.deployment_id == self.watched for c in changes):
            context = await page_context(db, self.user, self.watched)
            offer = offered(context)
            if offer == self.offer:  # only the status region: nothing typed elsewhere is touched
                html = self._html("partials/deployment_status.html", context)
                events.append(ServerSentEvent(html, event="deployment-status"))
            else:  # new actions (an arrival check-in opened): the body, keeping typed fields
                context |= {"csrf_token": csrf_token(self.request.session), "drafts": {}}
                html = self._html("partials/deployment_body.html", context)
                events.append(ServerSentEvent(html, event="deployment-body"))
                self.offer = offer
        return events

    async def _positions(self, db: AsyncSession, changed: set[str] | None) -> list[ServerSentEvent]:
        """The board's positions whose deployments changed (all of them when `changed` is None)."""
        assert self.operation is not None
        if changed is not None:
            # A fill adds deployments after the page opened: look up only those not known yet.
            unknown = changed - self.operation_deployments
            if unknown:
                found = await db.exec(
                    select(OperationDeployment.deployment_id).where(
                        col(OperationDeployment.operation_id) == self.operation,
                        col(OperationDeployment.deployment_id).in_(sorted(unknown)),
                    )
                )
                self.operation_deployments |= set(found.all())
            changed &= self.operation_deployments
            if not changed:
                return []
        operation = await operation_service.get_operation(db, self.user, self.operation)
        events = []
        for position in operation.positions:
            ids = {d.id for d in position.deployments}
            self.operation_deployments |= ids
            if not position.cut and (changed is None or ids & changed):
                html = self._html("partials/operation_position.html", {"p": position})
                events.append(ServerSentEvent(html, event=f"position-{position.id}"))
        return events

    async def current(self, db: AsyncSession) -> list[ServerSentEvent]:
        """The state as the stream opens: what changed since the page was rendered (or while a
        dropped stream reconnected) would otherwise wait for the next change."""
        counts = self.counts
        events = [
            ServerSentEvent(self._html("partials/bell.html", counts), event="bell"),
            ServerSentEvent(self._html("partials/nav_count.html", counts), event="inbox-count"),
        ]
        if self.watched:
            html = self._html(
                "partials/deployment_status.html", await status_context(db, self.user, self.watched)
            )
            events.append(ServerSentEvent(html, event="deployment-status"))
        if self.operation:
            events += await self._positions(db, None)
        return events

    async def events(self, hub: LiveHub) -> AsyncIterator[ServerSentEvent]:
        """The page's events until its session ends (or the page goes: the generator is cancelled)."""
        async with hub.subscribe() as queue:
            async with self.sessions() as db:
                for event in await self.current(db):
                    yield event
            while True:
                changes: list[Change] = []
                with contextlib.suppress(TimeoutError):  # no change: still look at the session
                    changes.append(await asyncio.wait_for(queue.get(), CHECK_SESSION_SECONDS))
                while not queue.empty():  # a burst of changes: one look at the database
                    changes.append(queue.get_nowait())
                async with self.sessions() as db:
                    if not await session_holds(db, self.session_id, self.settings, now=self.clock()):
                        yield ServerSentEvent("your session ended", event="ended")
                        return
                    if changes:
                        for event in await self.updates(db, changes):
                            yield event


@router.get("/events")
async def events(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    deployment: Annotated[str | None, Query(max_length=36)] = None,
    operation: Annotated[str | None, Query(max_length=36)] = None,
) -> Response:
    """The signed-in user's live updates; `deployment` also sends that deployment's status (if
    the user may see it: 404 otherwise), `operation` that operation's staffing board (403 or 404
    as its page). Without a session: 401, not the sign-in page's redirect
    (a stream is no page to come back to)."""
    try:
        user = await get_page_user(request, session, settings, now)
    except HTTPException as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    offer = None
    if deployment is not None:
        offer = offered(await page_context(session, user, deployment))  # 404 if not the user's to see
    if operation is not None:
        await operation_service.get_operation(session, user, operation)  # 403 or 404 as the page
    hub: LiveHub | None = request.app.state.live
    if hub is None:
        raise Unavailable("live updates are not running; reload the page shortly")
    counts = await nav(session, user)
    # The stream opens a short session per batch of changes rather than hold this one open.
    await session.close()
    stream = _Stream(request, user, request.session.get(SESSION_ID_KEY), deployment, counts, offer, operation)
    return EventSourceResponse(stream.events(hub), ping=PING_SECONDS)
