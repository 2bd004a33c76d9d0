"""Sessions that end: server-side page sessions, revocable API tokens, sign-out everywhere."""

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.accounts import disable_user, set_password, sign_out_everywhere
from crc.auth_tables import SecurityEvent, UserSession
from crc.db import session_factory
from tests.web_helpers import PASSWORD, MovableClock, World, csrf_of, http_client, web_world

COOKIE = "crc_session"


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


@pytest.fixture
def clock(world: World) -> MovableClock:
    moved = MovableClock()
    world.app.state.clock = moved
    return moved


async def _token(world: World, username: str = "planning", password: str = PASSWORD) -> str:
    response = await world.http.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _sessions_of(world: World, username: str) -> list[UserSession]:
    async with session_factory(world.engine)() as db:
        return list((await db.exec(select(UserSession).where(UserSession.username == username))).all())


async def _events(world: World) -> list[tuple[str, str, str]]:
    async with session_factory(world.engine)() as db:
        rows = (await db.exec(select(SecurityEvent).order_by(SecurityEvent.id))).all()  # type: ignore[arg-type]
    return [(row.kind, row.username, row.actor) for row in rows]


async def _opens_inbox(browser: httpx.AsyncClient) -> bool:
    response = await browser.get("/inbox")
    if response.status_code == 303:
        assert response.headers["location"] == "/login?next=/inbox"
        return False
    assert response.status_code == 200, response.text
    return True


# --- Page sessions -------------------------------------------------------------------------------


async def test_sign_in_stores_only_a_hash_of_the_session_id(world: World) -> None:
    async with world.signed_in("planning") as browser:
        assert await _opens_inbox(browser)
        rows = await _sessions_of(world, "planning")
        assert len(rows) == 1
        assert len(rows[0].id_hash) == 64
        # The cookie is signed, not encrypted; the stored hash must not appear in it.
        assert rows[0].id_hash not in browser.cookies[COOKIE]


async def test_a_cookie_used_after_logout_gets_the_sign_in_page(world: World) -> None:
    async with world.signed_in("planning") as browser:
        copied = browser.cookies[COOKIE]
        token = csrf_of((await browser.get("/")).text)
        done = await browser.post("/logout", data={"csrf_token": token})
        assert (done.status_code, done.headers["location"]) == (303, "/login")
    assert await _sessions_of(world, "planning") == []
    async with http_client(world.app) as thief:
        thief.cookies.set(COOKIE, copied)
        assert not await _opens_inbox(thief)
        htmx = await thief.get("/inbox", headers={"HX-Request": "true"})
        assert (htmx.status_code, htmx.headers["HX-Redirect"]) == (401, "/login?next=/inbox")
        # The API never takes the cookie: a bearer token or nothing.
        assert (await thief.get("/api/v1/me")).status_code == 401
    assert [e for e in await _events(world) if e[0] == "signed_out"] == [
        ("signed_out", "planning", "planning")
    ]


async def test_idle_timeout_is_thirty_minutes_since_the_last_request(
    world: World, clock: MovableClock
) -> None:
    async with world.signed_in("planning") as browser:
        clock.advance(minutes=29, seconds=59)
        assert await _opens_inbox(browser)  # and that request keeps it alive
        clock.advance(minutes=29, seconds=59)
        assert await _opens_inbox(browser)
        clock.advance(minutes=30)
        assert not await _opens_inbox(browser)
    assert await _sessions_of(world, "planning") == []
    assert ("session_expired", "planning", "system") in await _events(world)


async def test_absolute_lifetime_is_eight_hours_however_busy(world: World, clock: MovableClock) -> None:
    async with world.signed_in("planning") as browser:
        for _ in range(23):  # a request every 20 minutes, up to 7 h 40 min
            clock.advance(minutes=20)
            assert await _opens_inbox(browser)
        clock.advance(minutes=19, seconds=59)
        assert await _opens_inbox(browser)
        clock.advance(seconds=1)  # 8 h since sign-in
        assert not await _opens_inbox(browser)


async def test_last_seen_is_written_at_most_once_a_minute(world: World, clock: MovableClock) -> None:
    async with world.signed_in("planning") as browser:
        (signed_in,) = await _sessions_of(world, "planning")
        clock.advance(seconds=59)
        assert await _opens_inbox(browser)
        assert (await _sessions_of(world, "planning"))[0].last_seen_at == signed_in.last_seen_at
        clock.advance(seconds=1)
        assert await _opens_inbox(browser)
        assert (await _sessions_of(world, "planning"))[0].last_seen_at == clock.now


async def test_session_times_are_settings(world: World, clock: MovableClock) -> None:
    world.app.state.settings = world.app.state.settings.model_copy(
        update={"CRC_SESSION_IDLE_MINUTES": 5, "CRC_SESSION_MAX_HOURS": 1}
    )
    async with world.signed_in("planning") as browser:
        clock.advance(minutes=4, seconds=59)
        assert await _opens_inbox(browser)
        clock.advance(minutes=5)
        assert not await _opens_inbox(browser)


async def test_csrf_still_guards_forms_of_a_server_side_session(world: World) -> None:
    async with world.signed_in("planning") as browser:
        assert (await browser.post("/logout", data={"csrf_token": "forged"})).status_code == 403
        assert await _opens_inbox(browser)


# --- API tokens ----------------------------------------------------------------------------------


async def test_a_revoked_token_gets_401(world: World) -> None:
    token, other = await _token(world), await _token(world)
    assert (await world.http.get("/api/v1/me", headers=_bearer(token))).status_code == 200
    revoked = await world.http.post("/api/v1/auth/revoke", headers=_bearer(token))
    assert (revoked.status_code, revoked.content) == (204, b"")
    again = await world.http.get("/api/v1/me", headers=_bearer(token))
    assert again.status_code == 401
    assert again.json() == {"detail": "invalid, expired or revoked token"}
    assert (await world.http.post("/api/v1/auth/revoke", headers=_bearer(token))).status_code == 401
    # Only that token: the user's other token still works.
    assert (await world.http.get("/api/v1/me", headers=_bearer(other))).status_code == 200
    assert [e for e in await _events(world) if e[0] == "token_revoked"] == [
        ("token_revoked", "planning", "planning")
    ]


async def test_revoke_needs_a_token(world: World) -> None:
    response = await world.http.post("/api/v1/auth/revoke")
    assert response.status_code == 401


async def test_admin_signs_a_user_out_everywhere(world: World, clock: MovableClock) -> None:
    token = await _token(world)
    async with world.signed_in("planning") as browser, world.signed_in("planning") as laptop:
        response = await world.http.post(
            "/api/v1/users/planning/sign-out", headers=await world.headers("admin")
        )
        assert response.status_code == 200
        assert response.json() == {"username": "planning", "sessions_ended": 2}
        assert not await _opens_inbox(browser)
        assert not await _opens_inbox(laptop)
    assert (await world.http.get("/api/v1/me", headers=_bearer(token))).status_code == 401
    clock.advance(seconds=1)
    # Signing in again works, and the new token is good.
    assert (await world.http.get("/api/v1/me", headers=_bearer(await _token(world)))).status_code == 200
    assert ("signed_out_everywhere", "planning", "admin") in await _events(world)


@pytest.mark.parametrize("role", ["planning", "operations", "director", "member"])
async def test_only_admins_sign_others_out(world: World, role: str) -> None:
    response = await world.http.post("/api/v1/users/planning/sign-out", headers=await world.headers(role))
    assert response.status_code == 403
    assert (await world.http.post("/api/v1/users/planning/sign-out")).status_code == 401


async def test_signing_out_an_unknown_user_is_404(world: World) -> None:
    response = await world.http.post("/api/v1/users/nobody/sign-out", headers=await world.headers("admin"))
    assert response.status_code == 404
    assert response.json() == {"detail": "no user is named 'nobody'"}


async def test_a_disabled_users_session_and_token_die(world: World) -> None:
    token = await _token(world)
    async with world.signed_in("planning") as browser:
        async with session_factory(world.engine)() as db:
            await disable_user(db, username="planning", actor="admin")
        assert not await _opens_inbox(browser)
    assert (await world.http.get("/api/v1/me", headers=_bearer(token))).status_code == 401
    refused = await world.http.post("/api/v1/auth/token", data={"username": "planning", "password": PASSWORD})
    assert refused.status_code == 401
    assert await _sessions_of(world, "planning") == []


async def test_a_new_password_ends_sessions_and_tokens(world: World, clock: MovableClock) -> None:
    token = await _token(world)
    async with world.signed_in("planning") as browser:
        async with session_factory(world.engine)() as db:
            await set_password(
                db, username="planning", password="a brand new passphrase", actor="cli", now=clock.now
            )
        assert not await _opens_inbox(browser)
    assert (await world.http.get("/api/v1/me", headers=_bearer(token))).status_code == 401
    old = await world.http.post("/api/v1/auth/token", data={"username": "planning", "password": PASSWORD})
    assert old.status_code == 401
    clock.advance(seconds=1)
    fresh = await _token(world, password="a brand new passphrase")
    assert (await world.http.get("/api/v1/me", headers=_bearer(fresh))).status_code == 200


async def test_sign_out_everywhere_leaves_other_users_alone(world: World) -> None:
    token = await _token(world, "operations")
    async with world.signed_in("operations") as browser:
        async with session_factory(world.engine)() as db:
            assert await sign_out_everywhere(db, username="planning", actor="cli") == 0
        assert await _opens_inbox(browser)
    assert (await world.http.get("/api/v1/me", headers=_bearer(token))).status_code == 200
