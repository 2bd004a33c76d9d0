"""A request through the form, three offices approving it from their inboxes (each row swapped in
place), and the requester's page following the deployment to VETTING by itself: the test never
reloads it; its live stream (web.pages.events) swaps the status region in place as tasks close and
the stage changes, and the page is never loaded again."""

import re
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser.helpers import (
    SLOW_MS,
    LiveStack,
    mark_page,
    page_marker,
    screenshot,
    signed_in,
)
from web.services.requests import today_utc

pytestmark = pytest.mark.browser

# Active, cleared and trained, but the medical clearance ran out 12 days ago (crc/seed.py):
# once approved, vetting fails and the deployment waits at VETTING for Medical to review it.
# Each browser test works on members of its own: rows are found by the member's name.
MEMBER = "Samuel Adeyemi"
POST = "Liberia (ROB)"
APPROVERS = ("planning", "resource_management", "chief_of_mission")


async def _submit_through_the_form(page: Page, role_title: str) -> str:
    """Fill /deployments/new as the requester; the new deployment's id."""
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="New request").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("New deployment request")
    await page.get_by_label("Start date", exact=True).fill((today_utc() + timedelta(days=40)).isoformat())
    await page.get_by_label(re.compile(r"^Duration")).fill("120")
    await page.get_by_role("searchbox", name=re.compile(r"^Find a member")).fill(MEMBER)
    member = page.get_by_role("group", name="Member").get_by_role("radio", name=re.compile(rf"^{MEMBER}\b"))
    await expect(member).to_have_count(1)
    # USWDS draws the radio on its label and moves the input itself off screen: click what is seen.
    await page.locator("#member-choices label").filter(has_text=MEMBER).click()
    await expect(member).to_be_checked()
    post = page.get_by_label("Post", exact=True)
    option = post.get_by_role("option", name=re.compile(rf"^{re.escape(POST)}"))
    await post.select_option(await option.get_attribute("value"))
    await page.get_by_label("Sector", exact=True).select_option(label="rule of law")
    await page.get_by_label("Role title", exact=True).fill(role_title)
    await page.get_by_label("Justification", exact=True).fill(
        "The Ministry of Justice asked for help to reopen the county courts."
    )
    await page.get_by_role("button", name="Submit request").click()
    # A deployment's id, not the form's own /deployments/new, which matches at once.
    await expect(page).to_have_url(re.compile(r"/deployments/[0-9a-f-]{36}$"))
    deployment_id = page.url.rsplit("/", 1)[1]
    return deployment_id


def _current_stage(status: Locator) -> Locator:
    """The current step of the stage bar in the Status region."""
    return (
        status.get_by_role("list", name="Lifecycle").get_by_role("listitem").filter(has_text="Current stage:")
    )


def _task_rows(status: Locator) -> Locator:
    """The rows of the open-tasks table in the Status region (not its header)."""
    return status.get_by_role("row").filter(has=status.page.get_by_role("cell"))


async def _approve_in_inbox(page: Page, username: str) -> None:
    """Find the deployment's row in the inbox and approve it; the row swaps in place."""
    await (
        page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Inbox\b")).click()
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    await mark_page(page, username)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=MEMBER, exact=True))
    await expect(row).to_have_count(1)
    await row.get_by_role("textbox", name="Comment").fill(f"Fine by {username}")
    await row.get_by_role("button", name="Approve").click()
    # The workflow holds the decision for its undo window; then the row says who decided.
    await expect(row.get_by_role("status")).to_have_text(re.compile(r"^You approved .+\.$"))
    await expect(row.get_by_role("status")).to_have_text(
        f"Approved by Demo {username.replace('_', ' ')} — “Fine by {username}”", timeout=SLOW_MS
    )
    await expect(row.get_by_role("button", name="Approve")).to_have_count(0)
    assert await page_marker(page) == username, "the inbox was reloaded instead of swapping the row"


async def test_request_approved_by_three_offices_reaches_vetting(
    browser: Browser, live_stack: LiveStack
) -> None:
    role_title = "Court reopening adviser"
    async with AsyncExitStack() as stack:
        requester = await stack.enter_async_context(signed_in(browser, live_stack, "requester"))
        deployment_id = await _submit_through_the_form(requester, role_title)
        await expect(requester.get_by_role("heading", level=1)).to_have_text(f"{MEMBER} to Liberia")
        await expect(requester.get_by_text("The Ministry of Justice asked for help")).to_be_visible()
        status = requester.get_by_role("region", name="Status")
        await expect(_current_stage(status)).to_have_text("Current stage: Approval", timeout=SLOW_MS)
        await expect(_task_rows(status)).to_have_count(3, timeout=SLOW_MS)
        # The page's live stream is open (app.js marks it), so no change can slip past it.
        await expect(requester.locator("body")).to_have_attribute("data-live", "open", timeout=SLOW_MS)
        await mark_page(requester, "requester")
        loads: list[str] = []
        requester.on(
            "framenavigated", lambda frame: loads.append(frame.url) if not frame.parent_frame else None
        )

        approvers = [
            await stack.enter_async_context(signed_in(browser, live_stack, username))
            for username in APPROVERS
        ]
        await _approve_in_inbox(approvers[0], APPROVERS[0])
        # Within a stage, the live stream swaps the status in place: the page is not loaded again.
        await expect(_task_rows(status)).to_have_count(2, timeout=SLOW_MS)
        assert await page_marker(requester) == "requester"
        assert loads == []
        for page, username in zip(approvers[1:], APPROVERS[1:], strict=True):
            await _approve_in_inbox(page, username)

        # The new stage comes by itself: the live stream swaps the status region in place.
        await expect(_current_stage(status)).to_have_text("Current stage: Vetting", timeout=SLOW_MS)
        await expect(status.get_by_text(re.compile(r"^Stage: Vetting\b"))).to_be_visible()
        await expect(_task_rows(status)).to_have_count(1)
        await expect(_task_rows(status)).to_contain_text(re.compile(r"^Vetting: Medical clearance expires"))
        timeline = status.get_by_role("list").filter(has_text="Approval round opened")
        await expect(
            timeline.get_by_role("listitem").filter(has_text="Approval round 1 opened")
        ).to_have_count(1)
        for office in ("Planning", "Resource Management", "Chief of Mission"):
            await expect(
                timeline.get_by_role("listitem").filter(has_text=f"{office} approved")
            ).to_have_count(1)
        assert await page_marker(requester) == "requester"
        assert loads == []

        api_tasks = await live_stack.open_tasks("medical", deployment_id)
        assert [t["kind"] for t in api_tasks] == ["vetting_review"]
        await screenshot(requester, "deployment.png")
