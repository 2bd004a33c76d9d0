"""Helpers for the browser tests: the live stack's handles, signing in, API shortcuts, the guard
against requests to other hosts, and the accessibility checks (axe-core, phone width)."""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Route, ViewportSize, expect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.db import session_factory
from crc.tables import Member
from web.services.requests import today_utc

DEMO_PASSWORD = "demo"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
# Each run saves its screenshots as artifacts (git ignores tests/artifacts/); with
# CRC_UPDATE_SCREENSHOTS=1 they replace the README's copies in docs/screenshots.
_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = (
    _ROOT / "docs" / "screenshots"
    if os.environ.get("CRC_UPDATE_SCREENSHOTS") == "1"
    else _ROOT / "tests" / "artifacts" / "screenshots"
)
# Long enough for the worker and a live page's update (a 1 s poll on SQLite); a pass is much quicker.
SLOW_MS = 20_000
# The live stack's undo window for page decisions (CRC_UNDO_SECONDS).
UNDO_SECONDS = 5


@dataclass
class LiveStack:
    """The running web app's address and the database and Temporal it works on."""

    base_url: str
    engine: AsyncEngine
    temporal: Client

    async def member(self, name: str) -> Member:
        """The seeded roster member with this name."""
        async with session_factory(self.engine)() as session:
            found = (await session.exec(select(Member).where(Member.name == name))).one()
        return found

    @asynccontextmanager
    async def api(self, username: str) -> AsyncIterator[httpx.AsyncClient]:
        """An HTTP client of the live app signed in to the API as a demo user."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15) as http:
            response = await http.post(
                "/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}
            )
            assert response.status_code == 200, response.text
            http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
            yield http

    async def submit(self, member_name: str, post_code: str, role_title: str) -> dict[str, Any]:
        """A request submitted through the API as `requester`; the new deployment."""
        member = await self.member(member_name)
        body = {
            "member_id": member.id,
            "post_code": post_code,
            "sector": member.sectors[0],
            "role_title": role_title,
            "start_date": (today_utc() + timedelta(days=45)).isoformat(),
            "duration_days": 90,
            "justification": f"The post needs a {role_title.lower()} for its stabilization plan.",
        }
        async with self.api("requester") as http:
            response = await http.post("/api/v1/deployments", json=body)
        assert response.status_code == 201, response.text
        deployment: dict[str, Any] = response.json()
        return deployment

    async def open_tasks(self, username: str, deployment_id: str) -> list[dict[str, Any]]:
        """The open tasks of a deployment that a demo user may act on (API)."""
        async with self.api(username) as http:
            response = await http.get("/api/v1/tasks", params={"deployment_id": deployment_id})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def wait_for_tasks(self, username: str, deployment_id: str, count: int) -> list[dict[str, Any]]:
        """Poll until the worker has opened `count` tasks of the deployment for the user."""
        tasks: list[dict[str, Any]] = []
        try:
            async with self.api(username) as http, asyncio.timeout(SLOW_MS / 1000):
                while True:
                    response = await http.get("/api/v1/tasks", params={"deployment_id": deployment_id})
                    assert response.status_code == 200, response.text
                    tasks = response.json()["items"]
                    if len(tasks) == count:
                        return tasks
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"{username} has {tasks} for {deployment_id}, not {count} tasks") from None

    async def total(self, username: str, path: str) -> int:
        """The `total` of a list answer of the API, as a demo user sees it."""
        async with self.api(username) as http:
            response = await http.get(path)
        assert response.status_code == 200, response.text
        total: int = response.json()["total"]
        return total


async def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Fill and send the sign-in form."""
    await page.goto("/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


@asynccontextmanager
async def signed_in(browser: Browser, stack: LiveStack, username: str) -> AsyncIterator[Page]:
    """A page in a browser context of its own (own cookies), signed in as a demo user."""
    context = await browser.new_context(base_url=stack.base_url, viewport=VIEWPORT)
    try:
        page = await context.new_page()
        await sign_in(page, username)
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        yield page
    finally:
        await context.close()


async def live_opened(page: Page) -> None:
    """Wait until the page's live stream is open (app.js marks <body> on htmx:sseOpen)."""
    await expect(page.locator("body")).to_have_attribute("data-live", "open")


async def mark_page(page: Page, marker: str) -> None:
    """Put a marker on `window`: it survives htmx swaps and disappears on any page load."""
    await page.evaluate("marker => { window.__crcMarker = marker; }", marker)


async def page_marker(page: Page) -> str | None:
    """The marker set by mark_page, or None once the page was loaded anew."""
    value: str | None = await page.evaluate("() => window.__crcMarker ?? null")
    return value


async def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot of the page as it is now (an artifact, or the README's copy)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    await page.screenshot(path=str(path), full_page=False)
    return path


# The hosts the app is served from; a page that asks any other host for anything fails its test.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
# What the guard refused since the current test began (tests/browser/conftest.py checks it).
outside_requests: list[str] = []


async def _refuse_outside(route: Route) -> None:
    url = route.request.url
    if urlsplit(url).hostname in LOCAL_HOSTS:
        await route.fallback()
        return
    outside_requests.append(f"{route.request.method} {url}")
    await route.abort("blockedbyclient")


def _record_policy_refusal(message: ConsoleMessage) -> None:
    # The pages' content security policy stops most outside loads before they reach the route
    # below; Chromium then says so on the console, and that counts as the same failure.
    if message.type == "error" and "Content Security Policy" in message.text:
        outside_requests.append(f"{message.page.url if message.page else '?'}: {message.text}")


async def guard_outside_requests(context: BrowserContext) -> BrowserContext:
    """Make the context abort, and record, every request to a host other than the app's."""
    await context.route("**/*", _refuse_outside)
    context.on("console", _record_policy_refusal)
    return context


# axe-core's tags for WCAG 2.0 and 2.1, levels A and AA: what Section 508 asks of the pages.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_AXE = Axe()  # for axe-playwright-python's bundled axe.min.js: nothing downloads


async def accessibility_violations(page: Page, label: str) -> list[str]:
    """One line per axe-core violation of WCAG 2.1 A/AA on the page as it is now."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):  # once per page load
        await page.evaluate(_AXE.axe_script)
    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
    results: dict[str, Any] = await page.evaluate("options => axe.run(document, options)", options)
    lines = []
    for violation in results["violations"]:
        targets = [", ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
        lines.append(
            f"{label}: {violation['id']} ({violation['impact']}) {violation['help']}"
            f" - {len(violation['nodes'])} element(s), e.g. {' | '.join(targets)}"
        )
    return lines


async def assert_accessible(page: Page, label: str) -> None:
    """Fail, listing each violation, unless axe-core finds none at WCAG 2.1 A and AA."""
    found = await accessibility_violations(page, label)
    assert not found, "axe-core found WCAG 2.1 A/AA violations:\n" + "\n".join(found)


async def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0: no horizontal scroll)."""
    overflow: int = await page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )
    return overflow


async def assert_no_horizontal_scroll(page: Page) -> None:
    """Fail if the page scrolls sideways at the phone width (390 px)."""
    await page.set_viewport_size(PHONE)
    overflow = await horizontal_overflow(page)
    assert overflow == 0, f"{page.url} is {overflow} px wider than a {PHONE['width']} px phone"
