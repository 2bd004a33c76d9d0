"""Out of office in Chromium: the Chief of Mission sets a period away on their account page, and
the Chief of Mission for Juba, their delegate, finds a Monrovia approval in the inbox, told why,
and decides it."""

import re
from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect

from tests.browser.helpers import (
    SLOW_MS,
    LiveStack,
    assert_accessible,
    assert_no_horizontal_scroll,
    signed_in,
)
from web.services.out_of_office import day_label
from web.services.requests import today_utc

pytestmark = pytest.mark.browser

# This module's own roster member (no other browser test uses them).
MEMBER, POST_CODE, ROLE_TITLE = "Aisha Bello", "ROB", "Public health adviser"


async def test_a_delegate_decides_the_absent_chief_of_missions_approval(
    browser: Browser, live_stack: LiveStack
) -> None:
    deployment = await live_stack.submit(MEMBER, POST_CODE, ROLE_TITLE)
    await live_stack.wait_for_tasks("chief_of_mission", deployment["id"], 1)
    assert await live_stack.open_tasks("com_jub", deployment["id"]) == []
    last_day = today_utc() + timedelta(days=3)
    try:
        async with signed_in(browser, live_stack, "chief_of_mission") as page:
            await page.get_by_role("link", name="Demo chief of mission").click()
            await expect(page.get_by_role("heading", name="Out of office")).to_be_visible()
            await assert_accessible(page, "/account")
            await page.get_by_label("Delegate").select_option("com_jub")
            await page.get_by_label("First day away").fill(today_utc().isoformat())
            await page.get_by_label("Last day away").fill(last_day.isoformat())
            await page.get_by_role("button", name="Set out of office").click()
            await expect(page.get_by_role("heading", name="You are out of office")).to_be_visible()
            await expect(page.get_by_text(f"to {day_label(last_day)}, your tasks")).to_be_visible()
            await assert_accessible(page, "/account (out of office)")
            await assert_no_horizontal_scroll(page)

        async with signed_in(browser, live_stack, "com_jub") as page:
            await page.goto("/inbox")
            row = page.get_by_role("row").filter(has=page.get_by_role("link", name=MEMBER, exact=True))
            await expect(row).to_have_count(1)
            reason = (
                f"Offered to you while Demo chief of mission is out of office until {day_label(last_day)}"
            )
            await expect(row.get_by_text(reason)).to_be_visible()
            await row.get_by_role("button", name="Approve", exact=True).click()
            await expect(row.get_by_role("status")).to_have_text(
                re.compile(r"^You approved "), timeout=SLOW_MS
            )
    finally:
        async with live_stack.api("chief_of_mission") as http:
            await http.delete("/api/v1/me/out-of-office")
    async with live_stack.api("com_jub") as http:
        assert (await http.get("/api/v1/tasks", params={"deployment_id": deployment["id"]})).json()[
            "total"
        ] == 0
