"""Page sign-in: the session cookie, CSRF on every POST, redirects for the signed-out."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.page_alerts import page_alerts
from tests.web_helpers import PASSWORD, World, csrf_of, http_client, web_world

PAGES = [
    "/",
    "/inbox",
    "/deployments",
    "/deployments/new",
    "/deployments/abc",
    "/members",
    "/posts",
    "/admin/users",
    "/admin/users/admin",
]


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


@pytest.mark.parametrize("path", PAGES)
async def test_signed_out_goes_to_login(world: World, path: str) -> None:
    response = await world.http.get(path)
    assert response.status_code == 303
    assert response.headers["location"] in ("/login", f"/login?next={path}")
    htmx = await world.http.get(path, headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/login")


async def test_login_page_and_sign_in(world: World) -> None:
    page = await world.http.get("/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text
    token = csrf_of(page.text)
    wrong = await world.http.post(
        "/login", data={"username": "planning", "password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 401
    assert "Incorrect username or password." in wrong.text
    ok = await world.http.post(
        "/login",
        data={
            "username": "planning",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/inbox",
        },
    )
    assert (ok.status_code, ok.headers["location"]) == (303, "/inbox")
    inbox = await world.http.get("/inbox")
    assert inbox.status_code == 200
    assert "Planning" in inbox.text
    # Signing in gives the session a new CSRF token.
    assert csrf_of(inbox.text) != token


async def test_login_without_csrf_is_refused(world: World) -> None:
    await world.http.get("/login")
    response = await world.http.post("/login", data={"username": "planning", "password": PASSWORD})
    assert response.status_code == 403
    assert "<html" in response.text
    assert (await world.http.get("/")).status_code == 303


async def test_login_next_stays_on_this_site(world: World) -> None:
    page = await world.http.get("/login")
    response = await world.http.post(
        "/login",
        data={
            "username": "planning",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/",
        },
    )
    assert (response.status_code, response.headers["location"]) == (303, "/")


async def test_logout_needs_csrf_and_ends_the_session(world: World) -> None:
    async with world.signed_in("planning") as browser:
        page = await browser.get("/")
        assert page.status_code == 200
        assert (await browser.post("/logout")).status_code == 403
        assert (await browser.post("/logout", data={"csrf_token": "forged"})).status_code == 403
        done = await browser.post("/logout", data={"csrf_token": csrf_of(page.text)})
        assert (done.status_code, done.headers["location"]) == (303, "/login")
        assert page_alerts((await browser.get("/login")).text) == [("info", "You have signed out.")]
        assert (await browser.get("/")).status_code == 303


async def test_csrf_header_accepted_for_htmx(world: World) -> None:
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/")).text)
        response = await browser.post("/logout", headers={"X-CSRF-Token": token})
        assert response.status_code == 303


async def test_session_of_one_client_is_not_anothers(world: World) -> None:
    async with world.signed_in("planning") as browser, http_client(world.app) as stranger:
        assert (await browser.get("/")).status_code == 200
        assert (await stranger.get("/")).status_code == 303


async def test_cookie_is_httponly_and_lax(world: World) -> None:
    page = await world.http.get("/login")
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # CRC_COOKIE_SECURE is off in dev


async def test_pages_are_not_kept_by_the_browser_but_static_files_are(world: World) -> None:
    # no-store: Back asks the server again, so a page never shows a task as it was before a decision.
    assert (await world.http.get("/login")).headers["cache-control"] == "no-store"
    assert "no-store" not in (await world.http.get("/static/htmx.min.js")).headers.get("cache-control", "")
    assert "cache-control" not in (await world.http.get("/healthz")).headers
