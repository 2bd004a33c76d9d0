"""Every page of the USWDS layout at phone and desktop width: no horizontal scroll at 390 px, and
screenshots of each (tests/artifacts/screenshots) to look at."""

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.helpers import LiveStack, screenshot, sign_in

pytestmark = pytest.mark.browser

PHONE = 390
# This test's own roster member.
MEMBER = ("Grace Mbeki", "JUB", "Public health adviser")


async def _no_horizontal_scroll(page: Page, path: str) -> None:
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE, f"{path} is {width} px wide at {PHONE} px"


async def test_pages_fit_a_phone_and_a_desktop(browser: Browser, live_stack: LiveStack) -> None:
    deployment = await live_stack.submit(*MEMBER)
    member = await live_stack.member(MEMBER[0])
    pages = {
        "dashboard": "/",
        "deployments": "/deployments",
        "deployment": f"/deployments/{deployment['id']}",
        "request-form": "/deployments/new",
        "members": "/members",
        "member-form": f"/members/{member.id}/edit",
        "member": f"/members/{member.id}",
        "member-new": "/members/new",
        "member-import": "/members/import",
        "posts": "/posts",
        "post-form": "/posts/JUB/edit",
        "users": "/admin/users",
        "user": "/admin/users/com_jub",
        "user-form": "/admin/users/new",
        "not-found": "/deployments/no-such-deployment",
    }
    for width, height in ((PHONE, 844), (1280, 800)):
        context = await browser.new_context(
            base_url=live_stack.base_url, viewport={"width": width, "height": height}
        )
        try:
            page = await context.new_page()
            await page.goto("/login")
            await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
            if width == PHONE:
                await _no_horizontal_scroll(page, "/login")
            await screenshot(page, f"layout-login-{width}.png")
            await sign_in(page, "admin")
            for name, path in pages.items():
                await page.goto(path)
                await expect(page.locator("#main h1")).to_have_count(1)
                if width == PHONE:
                    await _no_horizontal_scroll(page, path)
                await screenshot(page, f"layout-{name}-{width}.png")
            if width == PHONE:  # the navigation folds into USWDS's menu
                nav = page.get_by_role("navigation", name="Main")
                await expect(nav.get_by_role("link", name="Deployments")).to_be_hidden()
                await page.get_by_role("button", name="Menu").click()
                await expect(nav.get_by_role("link", name="Deployments")).to_be_visible()
                await expect(nav.get_by_role("button", name="Sign out")).to_be_visible()
                await nav.get_by_role("button", name="Close").click()
                await expect(nav.get_by_role("link", name="Deployments")).to_be_hidden()
            # Cancelling asks first, in USWDS's modal; Go back leaves the deployment as it was.
            await page.goto(pages["deployment"])
            await page.get_by_role("button", name="Cancel deployment").click()
            # (The dialog's own box is empty, its content fixed-positioned: check what it shows.)
            dialog = page.get_by_role("dialog", name="Cancel this deployment?")
            heading = dialog.get_by_role("heading", name="Cancel this deployment?")
            await expect(heading).to_be_visible()
            await expect(dialog.get_by_role("button", name="Yes, cancel the deployment")).to_be_focused()
            await dialog.get_by_role("button", name="Go back").click()
            await expect(heading).to_be_hidden()
            await expect(page.get_by_role("button", name="Cancel deployment")).to_be_focused()
        finally:
            await context.close()
