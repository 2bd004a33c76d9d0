"""GET /events: refused without a session; over a real server, a signed-in page's stream pushes
the bell when a notification for its user is stored, and ends when the session does."""

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.db import session_factory
from crc.live import publish
from crc.permissions import Situation, closed_actions
from crc.progress import WaitingFor
from crc.stages import Stage
from crc.tables import Deployment, Notification
from tests import factories
from tests.browser.conftest import _QuietServer
from tests.web_helpers import PASSWORD, World, csrf_of, user, web_world


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


async def test_no_session_no_stream(world: World) -> None:
    page = await world.http.get("/events")
    api = await world.http.get("/events", headers={"Accept": "application/json"})
    # Not the sign-in page's redirect, which a stream would follow for nothing.
    assert (page.status_code, page.json()) == (401, {"detail": "sign in first"})
    assert "location" not in page.headers
    assert (api.status_code, api.json()) == (401, {"detail": "sign in first"})


async def test_a_deployment_the_user_may_not_see_is_refused(world: World) -> None:
    async with world.signed_in("planning") as browser:
        answer = await browser.get(
            "/events?deployment=no-such-deployment", headers={"Accept": "application/json"}
        )
    assert answer.status_code == 404


async def test_an_operation_board_is_streamed_to_its_readers_only(world: World) -> None:
    async with world.signed_in("planning") as planning:
        unknown = await planning.get(
            "/events?operation=no-such-operation", headers={"Accept": "application/json"}
        )
    async with world.signed_in("requester") as requester:
        forbidden = await requester.get(
            "/events?operation=no-such-operation", headers={"Accept": "application/json"}
        )
    # Refused as the operation's page would be (an error page: /events is no API route).
    assert (unknown.status_code, "no operation has this id" in unknown.text) == (404, True)
    assert (forbidden.status_code, "only Operations, Planning" in forbidden.text) == (403, True)


@asynccontextmanager
async def _served(world: World) -> AsyncIterator[str]:
    """The world's app on a real local port, its lifespan (and so its listener) running."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = _QuietServer(
        uvicorn.Config(
            world.app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=2
        )
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(20):
            while not server.started:
                if serving.done():
                    serving.result()  # raises what stopped it
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        with suppress(Exception):
            await serving
        sock.close()


async def _sign_in(client: httpx.AsyncClient, username: str) -> None:
    page = await client.get("/login")
    answer = await client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert answer.status_code == 303, answer.text


async def _events(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """(event, data) of each event the stream sends (comments, the pings, are skipped)."""
    name, data = "message", []
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))
        elif line == "" and data:
            yield name, "\n".join(data)
            name, data = "message", []


async def _notify(engine: AsyncEngine, username: str, key: str) -> None:
    """A write as the worker's read-model activities make it: a notification and its live change."""
    await factories.add(
        engine, Notification(key=f"{key}/x/{username}", username=username, kind="task", subject="s", link="/")
    )
    async with session_factory(engine).begin() as session:
        await publish(session, "dep-1", usernames=[username])


async def test_the_stream_pushes_the_bell_and_ends_with_the_session(world: World) -> None:
    async with _served(world) as base_url, httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        await _sign_in(client, "planning")
        csrf = csrf_of((await client.get("/")).text)
        async with client.stream("GET", "/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = _events(response)
            # First the state as it stands (the page may have missed a change while connecting).
            async with asyncio.timeout(5):
                first = [await anext(events), await anext(events)]
            assert [name for name, _ in first] == ["bell", "inbox-count"]
            assert "bell__count" not in first[0][1]  # nothing unread
            assert ">0<" in first[1][1]
            await _notify(world.engine, "director", "ev-other")  # someone else's bell: nothing
            await _notify(world.engine, "planning", "ev-1")
            async with asyncio.timeout(5):
                name, data = await anext(events)
            assert name == "bell"
            assert 'id="notification-bell"' in data
            assert (
                '<span class="count bell__count">1<span class="visually-hidden"> unread</span></span>' in data
            )
            # Signed out (in another tab): the next look at the session ends the stream.
            out = await client.post("/logout", data={"csrf_token": csrf})
            assert out.status_code == 303
            await _notify(world.engine, "planning", "ev-2")
            async with asyncio.timeout(5):
                assert await anext(events) == ("ended", "your session ended")
                with pytest.raises(StopAsyncIteration):
                    await anext(events)


async def test_the_deployment_page_gets_its_status_and_its_body_once_new_actions_open(world: World) -> None:
    assert world.member.id is not None
    await world.add(user("avery", ["member"], member_id=world.member.id))
    [deployment_id] = await factories.deployment_rows(
        world.engine,
        1,
        member_id=world.member.id,
        post_code=world.post.code,
        stage=Stage.TRAVEL,
        requested_by="requester",
        waiting_for=WaitingFor.COUNTRY_CLEARANCE.value,
    )
    async with _served(world) as base_url, httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        await _sign_in(client, "avery")
        async with client.stream("GET", f"/events?deployment={deployment_id}") as response:
            events = _events(response)
            async with asyncio.timeout(5):
                first = [await anext(events) for _ in range(3)]
            assert [name for name, _ in first] == ["bell", "inbox-count", "deployment-status"]
            assert '<section id="deployment-status"' in first[2][1]
            # The timeline moved, the actions on offer did not: only the status region.
            async with session_factory(world.engine).begin() as session:
                await publish(session, deployment_id, stage=True)
            async with asyncio.timeout(5):
                name, data = await anext(events)
            assert name == "deployment-status"
            assert "Arrival check-in" not in data
            # Booked: the arrival check-in opens, so the body comes, its typed fields kept.
            async with session_factory(world.engine).begin() as session:
                row = await session.get(Deployment, deployment_id)
                assert row is not None
                row.waiting_for = WaitingFor.ARRIVAL.value
                row.closed_actions = closed_actions(Situation(Stage.TRAVEL, WaitingFor.ARRIVAL))
                await publish(session, deployment_id, stage=True)
            async with asyncio.timeout(5):
                name, data = await anext(events)
            assert name == "deployment-body"
            assert data.lstrip().startswith('<div id="deployment">')
            assert '<h3 id="check-in-h">Arrival check-in</h3>' in data
            assert re.search(r'<textarea [^>]*id="ci-note"[^>]*hx-preserve', data)


async def test_another_users_deployment_is_not_streamed(world: World) -> None:
    assert world.member.id is not None
    [deployment_id] = await factories.deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code, stage=Stage.TRAVEL
    )
    await world.add(user("avery", ["member"], member_id=world.standby.id))
    async with world.signed_in("avery") as browser:
        answer = await browser.get(
            f"/events?deployment={deployment_id}", headers={"Accept": "application/json"}
        )
    assert answer.status_code == 404
