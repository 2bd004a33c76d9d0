"""After a session ends: sign in again from an alert (never a row), back to the same page, with
the comment typed into a decision kept."""

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.tables import Task
from tests import factories
from tests.web_helpers import PASSWORD, MovableClock, World, csrf_of, open_task, user, web_world
from web.drafts import COOKIE as DRAFTS

ENDED = "Your session ended — sign in again."


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


@pytest.fixture
def clock(world: World) -> MovableClock:
    moved = MovableClock()
    world.app.state.clock = moved
    return moved


async def _a_task(world: World) -> Task:
    assert world.member.id is not None
    [deployment_id] = await factories.deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code
    )
    task = open_task(deployment_id)
    await world.add(task)
    return task


def _htmx(token: str, current: str = "http://test/inbox?kind=approval") -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": token, "HX-Current-URL": current}


def _comment_in_row(html: str, task_id: str) -> str | None:
    row = re.search(rf'<tr id="task-{task_id}".*?</tr>', html, re.S)
    assert row, "the task's row is not on the page"
    found = re.search(r'name="comment"[^>]*value="([^"]*)"', row.group(0)) or re.search(
        r'<textarea[^>]*name="comment"[^>]*>([^<]*)</textarea>', row.group(0)
    )
    return found.group(1) if found else None


async def _sign_in(browser: httpx.AsyncClient, next_: str) -> httpx.Response:
    page = await browser.get(f"/login?next={next_}")
    return await browser.post(
        "/login",
        data={"username": "planning", "password": PASSWORD, "csrf_token": csrf_of(page.text), "next": next_},
    )


async def test_htmx_decision_after_expiry_gets_an_alert_and_the_comment_comes_back(
    world: World, clock: MovableClock
) -> None:
    task = await _a_task(world)
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox?kind=approval")).text)
        clock.advance(minutes=30)  # the idle timeout
        answer = await browser.post(
            f"/inbox/tasks/{task.id}",
            data={"outcome": "approve", "comment": "Fits the plan <b>now</b>"},
            headers=_htmx(token),
        )
        assert answer.status_code == 401
        assert (answer.headers["HX-Retarget"], answer.headers["HX-Reswap"]) == ("#page-alerts", "innerHTML")
        assert "HX-Redirect" not in answer.headers
        assert ENDED in answer.text
        assert 'href="/login?next=/inbox%3Fkind%3Dapproval"' in answer.text
        assert "<tr" not in answer.text and "<html" not in answer.text
        drafts_cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{DRAFTS}="))
        assert "httponly" in drafts_cookie.lower()
        assert "Fits the plan" not in drafts_cookie  # signed and encoded, not a readable copy

        login = await browser.get("/login?next=/inbox%3Fkind%3Dapproval")
        assert f"{ENDED} What you typed is kept." in login.text
        assert 'name="next" value="/inbox?kind=approval"' in login.text
        signed_in = await _sign_in(browser, "/inbox?kind=approval")
        assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/inbox?kind=approval")
        inbox = await browser.get("/inbox?kind=approval")
        assert _comment_in_row(inbox.text, task.id) == "Fits the plan &lt;b&gt;now&lt;/b&gt;"
        # Shown once: the next visit starts empty.
        assert DRAFTS not in browser.cookies
        assert _comment_in_row((await browser.get("/inbox")).text, task.id) in ("", None)
    async with world.app.state.sessionmaker() as session:
        stored = await session.get(Task, task.id)
        assert stored is not None and stored.status == "open"  # nothing was decided


async def test_a_page_post_after_expiry_goes_to_sign_in_keeping_the_comment(
    world: World, clock: MovableClock
) -> None:
    task = await _a_task(world)
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        clock.advance(hours=8)  # the absolute lifetime
        answer = await browser.post(
            f"/inbox/tasks/{task.id}",
            data={"outcome": "reject", "comment": "Not this quarter", "csrf_token": token},
            headers={"Referer": "http://test/inbox?sort=age"},
        )
        assert (answer.status_code, answer.headers["location"]) == (303, "/login?next=/inbox%3Fsort%3Dage")
        assert DRAFTS in browser.cookies
        assert (await _sign_in(browser, "/inbox?sort=age")).headers["location"] == "/inbox?sort=age"
        assert _comment_in_row((await browser.get("/inbox?sort=age")).text, task.id) == "Not this quarter"


async def test_a_page_of_a_session_signed_out_elsewhere_is_refused_with_a_way_to_sign_in(
    world: World,
) -> None:
    task = await _a_task(world)
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        await browser.post("/logout", data={"csrf_token": token})  # another tab signs out
        answer = await browser.post(
            f"/inbox/tasks/{task.id}", data={"outcome": "approve", "comment": "ok"}, headers=_htmx(token)
        )
        # Still the contract's 403 for a POST without a valid token, but it says what to do.
        assert answer.status_code == 403
        assert (answer.headers["HX-Retarget"], answer.headers["HX-Reswap"]) == ("#page-alerts", "innerHTML")
        assert ENDED in answer.text and "CSRF" not in answer.text and "<tr" not in answer.text
        page = await browser.post(
            f"/inbox/tasks/{task.id}",
            data={"outcome": "approve", "comment": "Later", "csrf_token": token},
            headers={"Referer": "http://test/inbox?sort=age"},
        )
        assert page.status_code == 403
        assert f"{ENDED} What you typed is kept." in page.text
        assert 'name="next" value="/inbox?sort=age"' in page.text
        assert "invalid CSRF token" not in page.text
        assert (await _sign_in(browser, "/inbox?sort=age")).headers["location"] == "/inbox?sort=age"
        assert _comment_in_row((await browser.get("/inbox")).text, task.id) == "Later"
        # Without the token at all it is refused as a forgery would be.
        forged = await browser.post(f"/inbox/tasks/{task.id}", data={"outcome": "approve"})
        assert forged.status_code == 403
        assert ENDED not in forged.text and "invalid CSRF token" in forged.text


@pytest.mark.parametrize(
    ("current", "referer"),
    [
        ("http://evil.example/inbox", "http://evil.example/inbox"),
        ("http://test//evil.example/x", "http://test//evil.example/x"),
        ("http://test/\\evil.example", "http://test/\\evil.example"),
    ],
)
async def test_next_stays_on_this_site(world: World, clock: MovableClock, current: str, referer: str) -> None:
    task = await _a_task(world)
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        clock.advance(minutes=31)
        answer = await browser.post(
            f"/inbox/tasks/{task.id}", data={"outcome": "approve"}, headers=_htmx(token, current)
        )
        assert 'href="/login"' in answer.text
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        clock.advance(minutes=31)
        page = await browser.post(
            f"/inbox/tasks/{task.id}",
            data={"outcome": "approve", "csrf_token": token},
            headers={"Referer": referer},
        )
        assert page.headers["location"] == "/login"


async def test_a_draft_is_only_for_the_user_whose_session_ended(world: World, clock: MovableClock) -> None:
    task = await _a_task(world)
    await world.add(user("planner_two", ["planning"]))
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        clock.advance(minutes=30)
        await browser.post(
            f"/inbox/tasks/{task.id}", data={"outcome": "approve", "comment": "mine"}, headers=_htmx(token)
        )
        page = await browser.get("/login")
        await browser.post(
            "/login", data={"username": "planner_two", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
        )
        inbox = await browser.get("/inbox")
        assert "Planner Two" in inbox.text
        assert _comment_in_row(inbox.text, task.id) in ("", None)
