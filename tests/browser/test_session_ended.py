"""A decision sent after the session ended: an alert at the top of the page (the row stays as it
was), sign in again from it, and back in the inbox the comment is still there."""

import re

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, expect
from sqlmodel import col

from crc.auth_tables import UserSession
from crc.db import session_factory
from tests.browser.helpers import DEMO_PASSWORD, SLOW_MS, LiveStack, mark_page, page_marker, signed_in

pytestmark = pytest.mark.browser

MEMBER = "Omar Farouk"


async def test_expired_session_alerts_above_the_table_and_keeps_the_comment(
    browser: Browser, live_stack: LiveStack
) -> None:
    deployment = await live_stack.submit(MEMBER, "JUB", "Public outreach adviser")
    await live_stack.wait_for_tasks("planning", deployment["id"], 1)
    async with signed_in(browser, live_stack, "planning") as page:
        await page.goto("/inbox?sort=age")
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=MEMBER, exact=True))
        await row.get_by_role("textbox", name="Comment").fill("Fits the outreach plan")
        await mark_page(page, "inbox")
        # The server forgets the session (as an idle timeout or "sign out everywhere" does).
        async with session_factory(live_stack.engine)() as db:
            await db.exec(sa.delete(UserSession).where(col(UserSession.username) == "planning"))
            await db.commit()

        await row.get_by_role("button", name="Approve").click()
        alert = page.locator("#page-alerts").get_by_role("alert")
        await expect(alert).to_contain_text("Your session ended — sign in again.", timeout=SLOW_MS)
        # Nothing was swapped into the row, and the page was not replaced.
        await expect(row.get_by_role("textbox", name="Comment")).to_have_value("Fits the outreach plan")
        await expect(row.get_by_role("button", name="Approve")).to_be_enabled()
        assert await page_marker(page) == "inbox"

        await alert.get_by_role("link", name="Sign in").click()
        await expect(page.get_by_text("What you typed is kept.")).to_be_visible()
        await page.get_by_label("Username").fill("planning")
        await page.get_by_label("Password").fill(DEMO_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(re.compile(r"/inbox\?sort=age$"))
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=MEMBER, exact=True))
        await expect(row.get_by_role("textbox", name="Comment")).to_have_value("Fits the outreach plan")
