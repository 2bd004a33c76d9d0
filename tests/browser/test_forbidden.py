"""What a role may not do stays refused in the browser: another office's decision, another
role's inbox, a page for requesters only."""

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.helpers import LiveStack, signed_in

pytestmark = pytest.mark.browser

# Each browser test works on members of its own.
MEMBER = "Thomas Brennan"


async def test_requester_cannot_approve_even_with_the_csrf_token(
    browser: Browser, live_stack: LiveStack
) -> None:
    deployment = await live_stack.submit(MEMBER, "JUB", "Agricultural recovery adviser")
    [task] = await live_stack.wait_for_tasks("planning", deployment["id"], 1)
    assert (task["kind"], task["role"]) == ("approval", "planning")

    async with signed_in(browser, live_stack, "requester") as page:
        await page.goto(f"/deployments/{deployment['id']}")
        await expect(page.get_by_role("heading", level=1)).to_have_text(f"{MEMBER} to South Sudan")
        # The token every form of the page carries (CONTRACT: a hidden input named csrf_token).
        csrf_token = await page.locator("input[name='csrf_token']").first.input_value()
        assert csrf_token

        without_token = await page.request.post(f"/inbox/tasks/{task['id']}", form={"outcome": "approve"})
        assert without_token.status == 403
        assert "missing or invalid CSRF token" in await without_token.text()

        refused = await page.request.post(
            f"/inbox/tasks/{task['id']}", form={"outcome": "approve", "csrf_token": csrf_token}
        )
        assert refused.status == 403
        assert "this task is for the planning role" in await refused.text()

    # Nothing was decided: the task still waits for Planning.
    [still_open] = await live_stack.open_tasks("planning", deployment["id"])
    assert (still_open["id"], still_open["status"]) == (task["id"], "open")


async def test_member_sees_no_approvals_and_no_request_form(browser: Browser, live_stack: LiveStack) -> None:
    deployment = await live_stack.submit("Robert Castillo", "BKO", "Police reform adviser")
    await live_stack.wait_for_tasks("planning", deployment["id"], 1)

    async with signed_in(browser, live_stack, "member") as page:
        await (
            page.get_by_role("navigation", name="Main")
            .get_by_role("link", name=re.compile(r"^Inbox\b"))
            .click()
        )
        await expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
        await expect(page.get_by_text("Nothing waits for you.")).to_be_visible()
        await expect(page.get_by_role("button", name="Approve")).to_have_count(0)
        await expect(page.get_by_role("link", name="Robert Castillo")).to_have_count(0)

        response = await page.goto("/deployments/new")
        assert response is not None and response.status == 403
        await expect(page.get_by_role("heading", level=1)).to_have_text("Forbidden")
        await expect(page.get_by_text("You do not have permission to do this.")).to_be_visible()
