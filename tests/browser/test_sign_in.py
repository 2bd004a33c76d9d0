"""Signing in through the real login page: who you are, and which pages your role opens."""

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.helpers import VIEWPORT, LiveStack, sign_in, signed_in

pytestmark = pytest.mark.browser

# Link in the main navigation -> the page's first heading.
EVERYONE = {
    "Dashboard": "Dashboard",
    "Inbox": "Inbox",
    "Deployments": "Deployments",
    "Members": "Roster members",
    "Posts": "Posts",
    "Lessons": "Lessons learned",
}
REQUEST_PAGE = {"New request": "New deployment request"}
ADMIN_PAGES = {"Funds": "Funds", "Stock": "Depot stock", "Training": "Training", "Users": "User accounts"}
# The offices that see every deployment see the operations too.
OPERATIONS_PAGE = {"Operations": "Operations"}
# Conflict Prevention's watchlist, read by Planning too (directors' and admins' navigation is full:
# they reach /watchlist from the operations page).
WATCHLIST_PAGE = {"Watchlist": "Watchlist"}


@pytest.mark.parametrize(
    ("username", "shown_as", "may_request"),
    [
        ("requester", "Demo requester (Requester)", True),
        ("planning", "Demo planning (Planning)", False),
        ("member", "Maria Delgado (Member)", False),
        ("admin", "Demo admin (Admin)", True),
        ("director", "Demo director (Director)", False),
        ("conflict_prevention", "Demo conflict prevention (Conflict Prevention)", False),
    ],
)
async def test_each_role_signs_in_and_opens_its_pages(
    browser: Browser, live_stack: LiveStack, username: str, shown_as: str, may_request: bool
) -> None:
    async with signed_in(browser, live_stack, username) as page:
        await expect(page).to_have_url(f"{live_stack.base_url}/")
        await expect(page.get_by_role("banner").get_by_text(shown_as, exact=True)).to_be_visible()

        nav = page.get_by_role("navigation", name="Main")
        pages = (
            EVERYONE
            | (REQUEST_PAGE if may_request else {})
            | (ADMIN_PAGES if username == "admin" else {})
            | (OPERATIONS_PAGE if username in ("planning", "admin", "director") else {})
            | (WATCHLIST_PAGE if username in ("planning", "conflict_prevention") else {})
        )
        # The Inbox link may carry a count of open tasks after its name; beside the user's name
        # (their account) are the notifications bell and the settings.
        await expect(nav.get_by_role("link")).to_have_count(len(pages) + 3)
        for link, heading in pages.items():
            await nav.get_by_role("link", name=re.compile(rf"^{link}\b")).click()
            await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        await nav.get_by_role("link", name=shown_as.split(" (")[0], exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
        await nav.get_by_role("link", name=re.compile(r"^Notifications\b")).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
        await nav.get_by_role("link", name="Settings", exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Settings")

        response = await page.goto("/deployments/new")
        assert response is not None
        if may_request:
            assert response.status == 200
            await expect(page.get_by_role("button", name="Submit request")).to_be_visible()
        else:
            assert response.status == 403
            await expect(page.get_by_role("heading", level=1)).to_have_text("Forbidden")
            await expect(page.get_by_role("button", name="Submit request")).to_have_count(0)


async def test_wrong_password_shows_the_error(browser: Browser, live_stack: LiveStack) -> None:
    context = await browser.new_context(base_url=live_stack.base_url, viewport=VIEWPORT)
    try:
        page = await context.new_page()
        await sign_in(page, "planning", "not-the-password")
        await expect(page.get_by_role("alert")).to_have_text("Incorrect username or password.")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
        await expect(page.get_by_label("Username")).to_have_value("planning")
        await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
        # Still signed out: a page that needs a user sends the browser back to the login form.
        await page.goto("/inbox")
        await expect(page).to_have_url(f"{live_stack.base_url}/login?next=/inbox")
    finally:
        await context.close()
