"""Sign-in keeps argon2 off the event loop: other requests are served while a password is checked."""

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

import web.security
from crc.passwords import verify_password
from tests.web_helpers import PASSWORD, World, web_world


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


class HeldVerify:
    """The real verify_password, held until `release` is set (or 10 s pass), noting what happened."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.threads: list[str] = []
        self.released_in_time: list[bool] = []

    def __call__(self, password: str, password_hash: str | None) -> bool:
        self.threads.append(threading.current_thread().name)
        self.started.set()
        # On the event loop this wait would hold the request that sets `release`: it would time out.
        self.released_in_time.append(self.release.wait(10))
        return verify_password(password, password_hash)


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/login"])
async def test_other_requests_are_served_while_a_password_is_checked(
    world: World, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    held = HeldVerify()
    monkeypatch.setattr(web.security, "verify_password", held)
    order: list[str] = []

    async def sign_in() -> int:
        data = {"username": "planning", "password": PASSWORD}
        if path == "/login":
            page = await world.http.get("/login")
            data["csrf_token"] = _csrf(page.text)
        response = await world.http.post(path, data=data)
        order.append("sign-in")
        return response.status_code

    async def health_while_held() -> int:
        await asyncio.to_thread(held.started.wait, 10)
        response = await world.http.get("/healthz")
        order.append("healthz")
        held.release.set()
        return response.status_code

    signed_in, health = await asyncio.gather(sign_in(), health_while_held())

    assert order == ["healthz", "sign-in"]
    assert held.released_in_time == [True]
    assert held.threads != [threading.main_thread().name]
    assert health == 200
    assert signed_in == (200 if path == "/api/v1/auth/token" else 303)


def _csrf(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]
