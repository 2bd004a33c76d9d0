"""The README's screenshots, taken from the live stack: the inbox, the dashboard, and on a 390 px
phone the inbox and a deployment waiting for approval (and, in test_approval_flow, a deployment
at VETTING)."""

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.helpers import PHONE, VIEWPORT, LiveStack, screenshot, signed_in

pytestmark = pytest.mark.browser

# Each browser test works on members of its own.
REQUESTS = (
    ("James Okafor", "JUB", "Water and sanitation adviser"),
    ("Daniel Whitaker", "KBP", "Public finance adviser"),
    ("Leila Karimi", "KBL", "Provincial governance adviser"),
)


async def test_inbox_and_dashboard_screenshots(browser: Browser, live_stack: LiveStack) -> None:
    deployment_ids = []
    for member, post_code, role_title in REQUESTS:
        deployment = await live_stack.submit(member, post_code, role_title)
        await live_stack.wait_for_tasks("planning", deployment["id"], 1)
        deployment_ids.append(deployment["id"])
    planning_tasks = await live_stack.total("planning", "/api/v1/tasks")
    deployments = await live_stack.total("planning", "/api/v1/deployments")

    async with signed_in(browser, live_stack, "planning") as page:
        nav = page.get_by_role("navigation", name="Main")
        await nav.get_by_role("link", name=re.compile(r"^Inbox\b")).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
        for member, _, role_title in REQUESTS:
            row = page.get_by_role("row").filter(has=page.get_by_role("link", name=member, exact=True))
            await expect(row).to_contain_text(f"Operational fit: {member}")
            await expect(row).to_contain_text(role_title)
            await expect(row.get_by_role("button", name="Approve")).to_have_count(1)
        await expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(planning_tasks)
        await screenshot(page, "inbox.png")
        await page.set_viewport_size(PHONE)
        await screenshot(page, "inbox-phone.png")
        await page.set_viewport_size(VIEWPORT)

        await nav.get_by_role("link", name="Dashboard").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
        plural = "" if planning_tasks == 1 else "s"
        await expect(
            page.get_by_role("link", name=f"{planning_tasks} open task{plural} for you")
        ).to_be_visible()
        await expect(page.get_by_text(f"{deployments} deployments in all")).to_be_visible()
        await screenshot(page, "dashboard.png")

        await page.goto(f"/deployments/{deployment_ids[0]}")
        await expect(page.get_by_role("heading", level=1)).to_contain_text(REQUESTS[0][0])
        await page.set_viewport_size(PHONE)
        await screenshot(page, "deployment-phone.png")
