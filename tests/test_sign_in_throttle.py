"""Sign-in throttling: 5 failures lock a username, 50 an address, for 15 minutes, and all is audited."""

import socket
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.auth_tables import SecurityEvent
from crc.db import session_factory
from tests.web_helpers import PASSWORD, MovableClock, World, csrf_of, http_client, web_world
from web.throttle import build_throttle

TOKEN_URL = "/api/v1/auth/token"
WRONG = "wrong"
LOCKED = "too many failed sign-ins; try again in {} seconds"


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


@pytest.fixture
def clock(world: World) -> MovableClock:
    moved = MovableClock()
    world.app.state.clock = moved
    return moved


async def _sign_in(http: httpx.AsyncClient, username: str, password: str = WRONG) -> httpx.Response:
    return await http.post(TOKEN_URL, data={"username": username, "password": password})


async def _fail(http: httpx.AsyncClient, username: str, times: int) -> None:
    for attempt in range(times):
        response = await _sign_in(http, username)
        assert response.status_code == 401, (attempt, response.text)


def _from(world: World, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=world.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _events(world: World) -> list[tuple[str, str, str, str]]:
    async with session_factory(world.engine)() as db:
        rows = (await db.exec(select(SecurityEvent).order_by(SecurityEvent.id))).all()  # type: ignore[arg-type]
    return [(row.kind, row.username, row.address, row.detail) for row in rows]


@pytest.mark.parametrize("username", ["planning", "nobody"], ids=["existing", "unknown"])
async def test_the_sixth_attempt_after_five_failures_is_locked(
    world: World, clock: MovableClock, username: str
) -> None:
    await _fail(world.http, username, 5)
    sixth = await _sign_in(world.http, username)
    assert sixth.status_code == 429
    assert sixth.headers["Retry-After"] == "900"
    assert sixth.json() == {"detail": LOCKED.format(900)}


async def test_a_lock_looks_the_same_whether_or_not_the_user_exists(
    world: World, clock: MovableClock
) -> None:
    await _fail(world.http, "planning", 5)
    await _fail(world.http, "nobody", 5)
    known, unknown = await _sign_in(world.http, "planning"), await _sign_in(world.http, "nobody")
    assert (known.status_code, known.headers["Retry-After"], known.json()) == (
        unknown.status_code,
        unknown.headers["Retry-After"],
        unknown.json(),
    )


async def test_the_right_password_waits_for_the_lock_to_end(world: World, clock: MovableClock) -> None:
    await _fail(world.http, "planning", 5)
    clock.advance(minutes=5)
    locked = await _sign_in(world.http, "planning", PASSWORD)
    assert (locked.status_code, locked.headers["Retry-After"]) == (429, "600")
    clock.advance(minutes=9, seconds=59)
    last_second = await _sign_in(world.http, "planning", PASSWORD)
    assert (last_second.status_code, last_second.headers["Retry-After"]) == (429, "1")
    clock.advance(seconds=1)
    assert (await _sign_in(world.http, "planning", PASSWORD)).status_code == 200


async def test_after_the_lock_five_more_failures_are_needed(world: World, clock: MovableClock) -> None:
    await _fail(world.http, "planning", 5)
    clock.advance(minutes=15)
    await _fail(world.http, "planning", 4)
    assert (await _sign_in(world.http, "planning", PASSWORD)).status_code == 200


async def test_failures_count_within_fifteen_minutes(world: World, clock: MovableClock) -> None:
    await _fail(world.http, "planning", 4)
    clock.advance(minutes=15)  # the first four no longer count
    await _fail(world.http, "planning", 4)
    assert (await _sign_in(world.http, "planning", PASSWORD)).status_code == 200


async def test_any_five_failures_within_fifteen_minutes_lock(world: World, clock: MovableClock) -> None:
    """A moving window: a fixed one opened by the first failure would have ended before the fifth."""
    await _fail(world.http, "planning", 1)
    clock.advance(minutes=10)
    await _fail(world.http, "planning", 2)
    clock.advance(minutes=6)  # the first failure is 16 minutes old: two left in the window
    await _fail(world.http, "planning", 3)
    locked = await _sign_in(world.http, "planning", PASSWORD)
    assert (locked.status_code, locked.headers["Retry-After"]) == (429, "900")


async def test_a_lock_is_per_username(world: World, clock: MovableClock) -> None:
    await _fail(world.http, "planning", 5)
    assert (await _sign_in(world.http, "operations", PASSWORD)).status_code == 200
    assert (await _sign_in(world.http, "PLANNING")).status_code == 401


async def test_fifty_failures_lock_the_address(world: World, clock: MovableClock) -> None:
    async with _from(world, "203.0.113.7") as attacker, _from(world, "198.51.100.2") as colleague:
        for n in range(50):  # ten usernames, five failures each would lock them too: spread them out
            response = await _sign_in(attacker, f"guess{n}")
            assert response.status_code == 401, n
        locked = await _sign_in(attacker, "planning", PASSWORD)
        assert (locked.status_code, locked.headers["Retry-After"]) == (429, "900")
        # Only that address: the same user from elsewhere signs in.
        assert (await _sign_in(colleague, "planning", PASSWORD)).status_code == 200
        clock.advance(minutes=15)
        assert (await _sign_in(attacker, "planning", PASSWORD)).status_code == 200


async def test_the_login_page_is_throttled_too(world: World, clock: MovableClock) -> None:
    async with http_client(world.app) as browser:
        token = csrf_of((await browser.get("/login")).text)
        form = {"username": "planning", "password": WRONG, "csrf_token": token}
        for _ in range(5):
            assert (await browser.post("/login", data=form)).status_code == 401
        locked = await browser.post("/login", data={**form, "password": PASSWORD})
        assert (locked.status_code, locked.headers["Retry-After"]) == (429, "900")
        assert "Too many failed sign-ins. Please wait 15 minutes and try again." in locked.text
        assert (await browser.get("/inbox")).status_code == 303
    # The page and the API count the same failures.
    assert (await _sign_in(world.http, "planning", PASSWORD)).status_code == 429


async def test_every_sign_in_is_audited(world: World, clock: MovableClock) -> None:
    await _sign_in(world.http, "planning", PASSWORD)
    await _fail(world.http, "nobody", 5)
    await _sign_in(world.http, "nobody")
    assert await _events(world) == [
        ("signed_in", "planning", "127.0.0.1", "api"),
        *[("sign_in_failed", "nobody", "127.0.0.1", "api")] * 5,
        ("sign_in_locked", "nobody", "127.0.0.1", "too many failures: locked for 15 minutes (api)"),
        ("sign_in_locked", "nobody", "127.0.0.1", "refused while locked (api)"),
    ]


async def test_counters_are_shared_by_app_processes(world: World, clock: MovableClock) -> None:
    """A throttle built afresh on the same database, as another web process has, sees the same failures."""
    second = build_throttle("", world.engine, clock)
    await _fail(world.http, "planning", 4)
    assert await second.failed("planning", "127.0.0.1") is True
    assert (await _sign_in(world.http, "planning", PASSWORD)).status_code == 429


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason="no Redis at 127.0.0.1:6379")
async def test_redis_storage_locks_too(world: World) -> None:
    world.app.state.throttle = build_throttle("redis://127.0.0.1:6379/0", world.engine, world.app.state.clock)
    # Redis keeps its counters beyond the test: a name and an address of this run's own.
    username, address = f"redis-{uuid.uuid4().hex}", f"10.{uuid.uuid4().int % 250}.0.1"
    async with _from(world, address) as client:
        await _fail(client, username, 5)
        locked = await _sign_in(client, username)
        assert locked.status_code == 429
        assert 0 < int(locked.headers["Retry-After"]) <= 900  # Redis keeps its own time


async def test_an_unreachable_redis_is_a_503_not_a_500(world: World) -> None:
    # Port 1 on loopback refuses at once: no network, no waiting.
    world.app.state.throttle = build_throttle("redis://127.0.0.1:1/0", world.engine, world.app.state.clock)
    async with http_client(world.app, raise_app_exceptions=False) as http:
        response = await _sign_in(http, "planning", PASSWORD)
    assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
    assert response.json() == {"detail": "the sign-in limiter's storage is not answering; try again shortly"}
