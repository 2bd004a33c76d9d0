"""Every page, in its main states, for every demo role: axe-core finds no WCAG 2.1 A or AA
violation at 1280 px or at 390 px, and no page scrolls sideways on a 390 px phone.

Each role signs in once in a context of its own and walks its pages in one tab; a test collects
every problem of its role's pages and lists them all when it fails.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.helpers import (
    PHONE,
    SLOW_MS,
    VIEWPORT,
    LiveStack,
    accessibility_violations,
    horizontal_overflow,
    sign_in,
    signed_in,
)

pytestmark = pytest.mark.browser

# Each browser test works on members of its own (see REQUESTS in the other modules).
WAITING = ("Priya Raman", "PAP", "Rule of law adviser")  # Active: Planning, RM and CoM decide
STANDBY = ("Catherine Walsh", "DIL", "Governance adviser")  # Standby: the home agency decides too
CHANGES = ("Amina Haddad", "FIH", "Strategic communication adviser")  # Planning asks for changes
REJECTED = ("Marcus Johnson", "ROB", "Transport systems adviser")  # Planning rejects it
VETTING = ("Yusuf Mohamed", "BKO", "Border security adviser")  # approved; his clearance fails vetting
APPROVERS = ("planning", "resource_management", "chief_of_mission", "home_agency")
# A role for each kind of page the demo users see: the approvers' pages differ only in which
# approval they decide (planning stands for Resource Management, the Chief of Mission and the
# director), vetting's for Security and Medical alike, Travel's inbox is Logistics' kind.
ROLES = (
    "requester",
    "planning",
    "home_agency",
    "security",
    "training",
    "logistics",
    "operations",
    "member",
    "admin",
)
REQUEST_ROLES = {"requester", "admin"}
# The deployment pages each role opens: the ones it has a part in (the admin sees them all;
# where a role may not see one, its page is the error page, checked as well).
STATES_FOR = {
    "requester": ("changes", "rejected", "waiting"),
    "home_agency": ("standby",),
    "security": ("vetting",),
    "admin": ("waiting", "standby", "changes", "rejected", "vetting"),
}
# The roster and post lists are the same for every role but the admin's edit links; besides the
# admin, an office and a member check them, to keep the module near two minutes.
LIST_ROLES = {"admin", "planning", "member"}
# A page's DOM is the same at both widths and only its layout changes: every role's pages are
# checked for sideways scroll at 390 px, and these roles' (every kind of page between them) run
# axe at 390 px as well, which keeps the module's time down.
PHONE_AXE_ROLES = {"admin", "planning", "requester", "member"}


class Walk:
    """One role's tab: checks each page it is shown at both widths and keeps every problem."""

    def __init__(self, page: Page, *, axe_on_phone: bool = True) -> None:
        self.page = page
        self.axe_on_phone = axe_on_phone
        self.problems: list[str] = []

    async def check(self, label: str) -> None:
        """axe at 1280 px (and at 390 px where asked), and no sideways scroll at 390 px."""
        page = self.page
        await page.set_viewport_size(VIEWPORT)
        self.problems += await accessibility_violations(page, f"{label} @1280")
        await page.set_viewport_size(PHONE)
        if self.axe_on_phone:
            self.problems += await accessibility_violations(page, f"{label} @390")
        overflow = await horizontal_overflow(page)
        if overflow:
            self.problems.append(f"{label} @390: scrolls sideways, {overflow} px wider than the phone")
        await page.set_viewport_size(VIEWPORT)

    async def visit(self, path: str, label: str | None = None) -> None:
        """Load a page and check it."""
        await self.page.goto(path)
        await self.check(label or path)

    async def submit_with_errors(self, label: str, fill: Callable[[Page], Awaitable[None]]) -> None:
        """Send the page's form past the browser's own checks, and check the page of errors."""
        page = self.page
        await fill(page)
        form = page.locator("main form").last
        async with page.expect_navigation():
            await form.evaluate("form => { form.noValidate = true; form.requestSubmit(); }")
        await self.check(label)

    def assert_clean(self, username: str) -> None:
        assert not self.problems, f"{len(self.problems)} accessibility problems for {username}:\n" + (
            "\n".join(self.problems)
        )


async def _decide(stack: LiveStack, username: str, task: dict[str, Any], outcome: str) -> None:
    async with stack.api(username) as http:
        response = await http.post(
            f"/api/v1/tasks/{task['id']}/complete",
            json={"outcome": outcome, "comment": f"{outcome.replace('_', ' ')} by {username}", "data": {}},
        )
    assert response.status_code == 200, response.text


async def _wait_for(stack: LiveStack, deployment_id: str, field: str, start: str) -> None:
    """Poll the API until the worker has moved the deployment on (the field starts so)."""
    found = ""
    try:
        async with stack.api("requester") as http, asyncio.timeout(SLOW_MS / 1000):
            while not found.startswith(start):
                response = await http.get(f"/api/v1/deployments/{deployment_id}")
                assert response.status_code == 200, response.text
                found = response.json()[field]
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"{deployment_id} has {field}={found!r}, not {start}...") from None


@pytest.fixture(scope="module")
async def states(live_stack: LiveStack) -> dict[str, dict[str, Any]]:
    """Deployments in the main states: waiting for approvals, sent back, rejected, at vetting."""
    made = {}
    for name, request in {
        "waiting": WAITING,
        "standby": STANDBY,
        "changes": CHANGES,
        "rejected": REJECTED,
        "vetting": VETTING,
    }.items():
        made[name] = await live_stack.submit(*request)
    for name in ("changes", "rejected"):
        (task,) = await live_stack.wait_for_tasks("planning", made[name]["id"], 1)
        await _decide(live_stack, "planning", task, "request_changes" if name == "changes" else "reject")
    await _wait_for(live_stack, made["changes"]["id"], "status", "Changes requested")
    await _wait_for(live_stack, made["rejected"]["id"], "stage", "REJECTED")
    vetting = made["vetting"]["id"]
    for username in APPROVERS:
        (task,) = await live_stack.wait_for_tasks(username, vetting, 1)
        await _decide(live_stack, username, task, "approve")
    await live_stack.wait_for_tasks("security", vetting, 1)
    return made


async def test_the_sign_in_page_is_accessible(browser: Browser, live_stack: LiveStack) -> None:
    context = await browser.new_context(base_url=live_stack.base_url, viewport=VIEWPORT)
    try:
        walk = Walk(await context.new_page())
        await walk.visit("/login")
        await sign_in(walk.page, "planning", "not-the-password")
        await expect(walk.page.get_by_role("alert")).to_be_visible()
        await walk.check("/login (wrong password)")
        await walk.visit("/no-such-page", "404 page (signed out)")
        walk.assert_clean("a visitor")
    finally:
        await context.close()


@pytest.mark.parametrize("username", ROLES)
async def test_every_page_is_accessible(
    browser: Browser, live_stack: LiveStack, states: dict[str, dict[str, Any]], username: str
) -> None:
    async with signed_in(browser, live_stack, username) as page:
        walk = Walk(page, axe_on_phone=username in PHONE_AXE_ROLES)
        await walk.check("/ (dashboard)")
        await walk.visit("/inbox")
        await walk.visit("/inbox?q=Priya", "/inbox (filtered)")
        # A row's facts open in place (loaded by htmx): check the inbox with them open.
        facts = page.locator("main details.task-facts")
        if await facts.count():
            await facts.first.locator("summary").click()
            await expect(facts.first.locator(".task-facts__body dl")).to_be_visible()
            await walk.check("/inbox (a row's facts open)")
        await walk.visit("/deployments")
        for state in STATES_FOR.get(username, ("waiting",)):
            await walk.visit(f"/deployments/{states[state]['id']}", f"/deployments/{{{state}}}")
        await walk.visit("/deployments/new")
        if username in REQUEST_ROLES:
            await walk.submit_with_errors("/deployments/new (errors)", _nothing)
        if username in LIST_ROLES:
            await walk.visit("/deployments?stage=APPROVAL", "/deployments (filtered)")
            await walk.visit("/members")
            await walk.visit("/posts")
        if username == "operations":  # the roll-call board of a post
            await walk.visit(f"/posts/{WAITING[1]}/departure", "/posts/{code}/departure")
        if username == "admin":
            member = await live_stack.member(WAITING[0])
            await walk.visit(f"/members/{member.id}/edit", "/members/{id}/edit")
            await walk.submit_with_errors("/members/{id}/edit (errors)", _bad_member)
            await walk.visit(f"/members/{member.id}", "/members/{id}")
            await walk.visit(f"/members/{member.id}/retire", "/members/{id}/retire")
            await walk.visit("/members/new")
            await walk.visit("/members/import")
            await walk.visit(
                "/members?language=French&min_level=3&missing_certificate=FACT", "/members (searched)"
            )
            await walk.visit("/funds")
            await walk.visit(f"/posts/{WAITING[1]}/edit", "/posts/{code}/edit")
            await walk.submit_with_errors("/posts/{code}/edit (errors)", _bad_post)
            await _api_docs(walk)
            await walk.visit("/watchlist")
            await walk.submit_with_errors("/watchlist (errors)", _nothing)
        await walk.visit("/account")
        await walk.visit("/notifications")
        await walk.visit("/notifications?show=unread", "/notifications (unread)")
        await walk.visit("/settings")
        if username == "admin":
            await walk.visit("/dev/mail")
        await walk.visit("/no-such-page", "404 page")
        walk.assert_clean(username)


async def _api_docs(walk: Walk) -> None:
    """Swagger UI closed, with an operation open to try, and its Authorize dialog; then ReDoc."""
    page = walk.page
    await page.goto("/docs")
    # Swagger UI parses the whole schema (over 150 operations) before it draws one; on two busy
    # cores that took longer than expect's 5 s default once.
    await expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    await walk.check("/docs")
    await page.locator(".opblock-summary-control").first.click()
    await page.get_by_role("button", name="Try it out").click()
    await expect(page.get_by_role("button", name="Execute")).to_be_visible()
    await walk.check("/docs (an operation open to try)")
    await page.locator(".btn.authorize").first.click()
    await expect(page.locator(".dialog-ux .modal-ux")).to_be_visible()
    await walk.check("/docs (Authorize dialog)")
    await page.goto("/redoc")
    # ReDoc too parses the whole schema before it draws its heading (as slow on busy cores).
    await expect(page.get_by_role("heading", name="CRC deployments", level=1)).to_be_visible(timeout=30_000)
    await walk.check("/redoc")


async def _nothing(page: Page) -> None:
    """An empty request form: every required field is missing."""


async def _bad_member(page: Page) -> None:
    await page.get_by_label("Name", exact=True).fill("")
    await page.get_by_label("Email", exact=True).fill("not an address")


async def _bad_post(page: Page) -> None:
    await page.get_by_label("Country", exact=True).fill("")
    await page.get_by_label("Per diem (USD)", exact=True).fill("-5")
