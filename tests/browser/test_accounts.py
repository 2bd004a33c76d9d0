"""An admin creates a login for a roster member through the pages; the member sets a password
through the one-time link in a browser of their own, signs in and sees their task in the inbox; disabled by
the admin, they are signed out at once."""

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.helpers import (
    VIEWPORT,
    LiveStack,
    assert_accessible,
    assert_no_horizontal_scroll,
    screenshot,
    signed_in,
)
from web.services.requests import today_utc

pytestmark = pytest.mark.browser

# Each browser test works on members of its own: this module has Ngozi Eze (and Kevin O'Neill).
MEMBER = "Ngozi Eze"
USERNAME = "neze"
PASSWORD = "Harbor-Lantern-Quilt-58"


async def _call_up_to_kit_receipt(stack: LiveStack) -> str:
    """The member called up today (Active, trained): approved, briefed, equipped; the kit's title."""
    member = await stack.member(MEMBER)
    body = {
        "member_id": member.id,
        "post_code": "DIL",
        "sector": member.sectors[0],
        "role_title": "Health systems adviser",
        "start_date": today_utc().isoformat(),
        "duration_days": 30,
        "justification": "A 48-hour call-up: the health ministry asked for an adviser at once.",
        "urgent_justification": "The ministry's cholera response starts this week.",
    }
    async with stack.api("requester") as http:
        response = await http.post("/api/v1/deployments", json=body)
    assert response.status_code == 201, response.text
    deployment_id = response.json()["id"]
    for role, outcome in (
        ("planning", "approve"),
        ("resource_management", "approve"),
        ("chief_of_mission", "approve"),
        ("training", "pass"),  # the call-up's same-day remote briefing
    ):
        [task] = await stack.wait_for_tasks(role, deployment_id, 1)
        async with stack.api(role) as http:
            done = await http.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": outcome})
        assert done.status_code == 200, done.text
    [kit] = await stack.wait_for_tasks("logistics", deployment_id, 1)
    assert kit["kind"] == "kit_receipt"
    title: str = kit["title"]
    return title


async def test_admin_creates_a_login_and_the_member_signs_in(browser: Browser, live_stack: LiveStack) -> None:
    kit_title = await _call_up_to_kit_receipt(live_stack)
    async with signed_in(browser, live_stack, "admin") as admin:
        await admin.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
        await expect(admin.get_by_role("heading", level=1)).to_have_text("User accounts")
        await assert_accessible(admin, "/admin/users")
        await admin.get_by_role("link", name="New user").click()
        await expect(admin.get_by_role("heading", level=1)).to_have_text("New user")

        await admin.get_by_label("Username").fill(USERNAME)
        await admin.get_by_label("Email").fill("ngozi.eze@crc.example.gov")
        await admin.get_by_label("Roster member").select_option(label=f"{MEMBER} (HHS)")
        await admin.get_by_role("group", name="Roles").get_by_text("Member", exact=True).click()
        await assert_accessible(admin, "/admin/users/new")
        await admin.get_by_role("button", name="Create user").click()

        await expect(admin.get_by_role("heading", level=1)).to_have_text(f"User {USERNAME}")
        link_box = admin.get_by_label("Link")
        await expect(link_box).to_have_value(re.compile(rf"^{re.escape(live_stack.base_url)}/set-password/"))
        link = await link_box.input_value()
        await assert_accessible(admin, f"/admin/users/{USERNAME} (new link)")
        await screenshot(admin, "user-created.png")
        await assert_no_horizontal_scroll(admin)
        await admin.set_viewport_size(VIEWPORT)
        # Shown once: the user's page no longer has it.
        await admin.reload()
        await expect(admin.get_by_label("Link")).to_have_count(0)
        await expect(admin.locator("#user-audit")).to_contain_text("user.password_link_issued")

    member_context = await browser.new_context(base_url=live_stack.base_url, viewport=VIEWPORT)
    try:
        page = await member_context.new_page()
        await page.goto(link)
        await expect(page.get_by_role("heading", level=1)).to_have_text("Set your password")
        await page.get_by_label("New password", exact=True).fill("password12345")
        await page.get_by_label("Confirm the new password").fill("password12345")
        await page.get_by_role("button", name="Set password").click()
        await expect(page.get_by_role("alert")).to_contain_text("it is too easy to guess")
        await assert_accessible(page, "/set-password (a weak password)")

        await page.get_by_label("New password", exact=True).fill(PASSWORD)
        await page.get_by_label("Confirm the new password").fill(PASSWORD)
        await page.get_by_role("button", name="Set password").click()
        await expect(page).to_have_url(f"{live_stack.base_url}/login")
        await expect(page.locator("#page-alerts")).to_contain_text("Your password is set.")

        await page.get_by_label("Username").fill(USERNAME)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("banner").get_by_text(f"{MEMBER} (Member)", exact=True)).to_be_visible()
        await (
            page.get_by_role("navigation", name="Main")
            .get_by_role("link", name=re.compile(r"^Inbox\b"))
            .click()
        )
        await expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
        # Their own task, which Logistics could otherwise complete on their behalf.
        await expect(page.locator("#inbox-table").get_by_text(kit_title).first).to_be_visible()
        await screenshot(page, "member-inbox.png")

        # The link worked once.
        await page.goto(link)
        await expect(page.get_by_role("heading", level=1)).to_have_text("This link no longer works")
        await expect(page.get_by_role("alert")).to_have_text(
            "This link has already been used. Ask an admin for a new link."
        )
        await assert_accessible(page, "/set-password (used link)")

        # Still signed in; disabled by the admin (after a USWDS confirm), the next page the member
        # opens is the sign-in page.
        await page.goto("/inbox")
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        async with signed_in(browser, live_stack, "admin") as admin:
            await admin.goto(f"/admin/users/{USERNAME}")
            await admin.get_by_role("button", name="Disable user").click()
            confirm = admin.get_by_role("dialog", name=f"Disable {USERNAME}?")
            # The dialog's wrapper has no box of its own (its overlay is fixed): its heading shows.
            await expect(confirm.get_by_role("heading", name=f"Disable {USERNAME}?")).to_be_visible()
            await assert_accessible(admin, f"/admin/users/{USERNAME} (confirm disabling)")
            await confirm.get_by_role("button", name=f"Yes, disable {USERNAME}").click()
            await expect(admin.locator("#page-alerts")).to_contain_text(
                f"{USERNAME} is disabled and signed out everywhere."
            )
            await expect(admin.get_by_role("button", name="Enable user")).to_be_visible()
        await page.goto("/inbox")
        await expect(page).to_have_url(f"{live_stack.base_url}/login?next=/inbox")
    finally:
        await member_context.close()
