"""The inbox in Chromium: Enter in a comment never decides, the facts open in the row, the decision
confirms itself with focus on it, and on a 390 px phone the inbox has no horizontal scroll."""

import re

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser.helpers import SLOW_MS, LiveStack, screenshot, sign_in, signed_in

pytestmark = pytest.mark.browser

PHONE = 390
# This module's own roster members (no other browser test uses them).
REQUESTS = (
    ("Hannah Lindqvist", "KBP", "Trade policy adviser"),
    ("Miguel Ortega", "JUB", "Border security adviser"),
)


def _row(page: Page, member: str) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=member, exact=True))


async def test_enter_in_a_comment_does_not_decide(browser: Browser, live_stack: LiveStack) -> None:
    member, post_code, role_title = REQUESTS[0]
    deployment = await live_stack.submit(member, post_code, role_title)
    [task] = await live_stack.wait_for_tasks("planning", deployment["id"], 1)
    async with signed_in(browser, live_stack, "planning") as page:
        await page.goto("/inbox")
        row = _row(page, member)
        await expect(row).to_have_count(1)
        comment = row.get_by_role("textbox", name="Comment")
        await comment.focus()
        await page.keyboard.type("Fits the plan.")
        await page.keyboard.press("Enter")
        await page.keyboard.type("Budget next.")
        await expect(comment).to_have_value("Fits the plan.\nBudget next.")
        await expect(row.get_by_role("button", name="Approve", exact=True)).to_be_enabled()
        assert [t["id"] for t in await live_stack.open_tasks("planning", deployment["id"])] == [task["id"]]

        # The facts open in the row, loaded when asked for.
        await row.get_by_text(re.compile(r"^Facts")).click()
        await expect(row.get_by_text(f"The post needs a {role_title.lower()}")).to_be_visible()
        await expect(row.get_by_role("heading", name="Vetting findings")).to_be_visible()

        # The decision confirms itself (focus on it) with Undo; Undo brings back what was typed.
        await row.get_by_role("button", name="Approve", exact=True).click()
        status = row.get_by_role("status")
        await expect(status).to_have_text(f"You approved {task['title']}.")
        await expect(status).to_be_focused()
        await row.get_by_role("button", name=re.compile(r"^Undo")).click()
        await expect(comment).to_have_value("Fits the plan.\nBudget next.")
        await expect(comment).to_be_focused()
        assert [t["id"] for t in await live_stack.open_tasks("planning", deployment["id"])] == [task["id"]]

        # Decided again with a double click, and left: after the window the row says who decided.
        await row.get_by_role("button", name="Approve", exact=True).dblclick()
        await expect(status).to_have_text(f"You approved {task['title']}.")
        await expect(status).to_have_text(
            "Approved by Demo planning — “Fits the plan.\nBudget next.”", timeout=SLOW_MS
        )
        assert await live_stack.open_tasks("planning", deployment["id"]) == []
        async with live_stack.api("planning") as http:
            timeline = (await http.get(f"/api/v1/deployments/{deployment['id']}")).json()["timeline"]
        assert [e["kind"] for e in timeline].count("approved") == 1  # decided once


async def test_the_inbox_fits_a_phone(browser: Browser, live_stack: LiveStack) -> None:
    member, post_code, role_title = REQUESTS[1]
    deployment = await live_stack.submit(member, post_code, role_title)
    await live_stack.wait_for_tasks("planning", deployment["id"], 1)
    context = await browser.new_context(
        base_url=live_stack.base_url, viewport={"width": PHONE, "height": 844}
    )
    try:
        page = await context.new_page()
        await sign_in(page, "planning")
        await page.goto("/inbox")
        row = _row(page, member)
        await expect(row).to_have_count(1, timeout=SLOW_MS)
        await row.get_by_text(re.compile(r"^Facts")).click()
        await expect(row.get_by_role("heading", name="Justification")).to_be_visible()
        width = await page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE, f"the inbox is {width} px wide on a {PHONE} px phone"
        await screenshot(page, "inbox-phone.png")
    finally:
        await context.close()
