"""Live pages: an approver's open page learns of a new request without a reload (the bell, the
inbox count, the inbox row), and a deployment page follows a stage change while keeping a
half-typed cancel reason. Each page first waits for its live stream to open (`data-live`)."""

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.helpers import SLOW_MS, LiveStack, live_opened, mark_page, page_marker, signed_in
from web.services.requests import today_utc

pytestmark = pytest.mark.browser

# Roster members no other browser test uses (Standby: four offices approve each request).
BELL_MEMBER = "David Kim"
INBOX_MEMBER = "Michael Torres"
CANCEL_MEMBER = "Olena Kovalenko"
STANDBY_APPROVERS = ("planning", "resource_management", "chief_of_mission", "home_agency")


async def _submit(stack: LiveStack, member_name: str, role_title: str, start_in_days: int) -> dict[str, Any]:
    """A request through the API as `requester`, starting in `start_in_days` days."""
    member = await stack.member(member_name)
    body = {
        "member_id": member.id,
        "post_code": "KBL",
        "sector": member.sectors[0],
        "role_title": role_title,
        "start_date": (today_utc() + timedelta(days=start_in_days)).isoformat(),
        "duration_days": 30,
        "justification": f"The post needs a {role_title.lower()} for its stabilization plan.",
    }
    async with stack.api("requester") as http:
        response = await http.post("/api/v1/deployments", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _bell_count(page: Page) -> int:
    """The unread count the bell shows now (0 when it shows none)."""
    count = page.locator("#notification-bell .bell__count")
    if await count.count() == 0:
        return 0
    return int((await count.text_content() or "").split()[0])


async def test_the_bell_rises_in_an_open_page(browser: Browser, live_stack: LiveStack) -> None:
    async with signed_in(browser, live_stack, "planning") as page:
        await live_opened(page)
        await mark_page(page, "planning")
        before = await _bell_count(page)
        inbox_before = int((await page.locator("#inbox-count").text_content() or "").split("(")[1].split()[0])
        await _submit(live_stack, BELL_MEMBER, "Budget adviser", 45)
        bell = page.locator("#notification-bell .bell__count")
        await expect(bell).to_have_text(f"{before + 1} unread", timeout=SLOW_MS)
        await expect(page.locator("#inbox-count")).to_have_text(f"({inbox_before + 1} open tasks)")
        assert await page_marker(page) == "planning", "the page was loaded again"


async def test_the_inbox_row_appears_live(browser: Browser, live_stack: LiveStack) -> None:
    first = await _submit(live_stack, INBOX_MEMBER, "Port security adviser", 45)
    await live_stack.wait_for_tasks("planning", first["id"], 1)
    async with signed_in(browser, live_stack, "planning") as page:
        await page.goto("/inbox")
        await live_opened(page)
        await mark_page(page, "planning")
        rows = page.get_by_role("row").filter(has=page.get_by_role("link", name=INBOX_MEMBER, exact=True))
        port = rows.filter(has_text="Port security adviser")
        await expect(port).to_have_count(1)
        # A comment half typed in another row must survive the new row's arrival.
        await port.get_by_role("textbox", name="Comment").fill("Checking the port's budget first")

        await _submit(live_stack, INBOX_MEMBER, "Border management adviser", 120)
        border = rows.filter(has_text="Border management adviser")
        await expect(border).to_have_count(1, timeout=SLOW_MS)
        await expect(border.get_by_role("button", name="Approve")).to_be_visible()
        await expect(port.get_by_role("textbox", name="Comment")).to_have_value(
            "Checking the port's budget first"
        )
        assert await page_marker(page) == "planning", "the inbox was loaded again"


async def test_a_half_typed_cancel_reason_survives_a_stage_change(
    browser: Browser, live_stack: LiveStack
) -> None:
    created = await _submit(live_stack, CANCEL_MEMBER, "Strategic communications adviser", 45)
    tasks = {
        username: (await live_stack.wait_for_tasks(username, created["id"], 1))[0]
        for username in STANDBY_APPROVERS
    }
    async with signed_in(browser, live_stack, "requester") as page:
        await page.goto(f"/deployments/{created['id']}")
        await live_opened(page)
        await mark_page(page, "requester")
        status = page.get_by_role("region", name="Status")
        current = (
            status.get_by_role("list", name="Lifecycle")
            .get_by_role("listitem")
            .filter(has_text="Current stage:")
        )
        await expect(current).to_have_text("Current stage: Approval")
        reason = page.get_by_label("Reason", exact=True)
        await reason.fill("The post may close before she arrives; wait for")

        for username, task in tasks.items():
            async with live_stack.api(username) as http:
                done = await http.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve"})
            assert done.status_code == 200, done.text

        await expect(current).not_to_have_text("Current stage: Approval", timeout=SLOW_MS)
        await expect(status.get_by_text(re.compile(r"^Stage: (?!Approval)"))).to_be_visible()
        await expect(reason).to_have_value("The post may close before she arrives; wait for")
        assert await page_marker(page) == "requester", "the page was loaded again"
