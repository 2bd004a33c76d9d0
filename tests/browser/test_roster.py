"""The roster in the browser: an admin adds a member through the form and finds them by language."""

import uuid

import pytest
from playwright.async_api import Browser, expect

from tests.browser.helpers import LiveStack, signed_in
from web.services.requests import today_utc

pytestmark = pytest.mark.browser

# This module's own roster members (no other browser test uses them), and one it adds.
SWAHILI_SPEAKER = "Rachel Ndlovu"
DARI_SPEAKER = "Ahmad Rahimi"


async def test_admin_adds_a_member_and_finds_them_by_language(
    browser: Browser, live_stack: LiveStack
) -> None:
    name = f"Zanele Test {uuid.uuid4().hex[:6]}"
    async with signed_in(browser, live_stack, "admin") as page:
        await page.goto("/members")
        await page.get_by_role("link", name="Add a member").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Add a member")
        await page.get_by_label("Name", exact=True).fill(name)
        await page.get_by_label("Email", exact=True).fill(f"{name.replace(' ', '.').lower()}@example.gov")
        await page.get_by_label("Agency").select_option("HHS")
        await page.get_by_label("Component").select_option("active")
        await page.locator("label.usa-checkbox__label", has_text="essential services").click()
        await page.get_by_label("Languages").fill("Zulu:4; Swahili:2")
        await page.get_by_label("Clearance level").select_option("secret")
        await page.get_by_role("button", name="Add member").click()

        await expect(page.get_by_role("heading", level=1)).to_have_text(name)
        await expect(page.locator("#member-languages")).to_have_text("Zulu (ILR 4), Swahili (ILR 2)")
        await expect(page.locator("#member-status")).to_have_text("Available today")

        await page.goto("/members")
        await page.get_by_label("Language", exact=True).fill("swahili")
        await page.get_by_role("button", name="Search").click()
        table = page.locator("#member-table")
        await expect(table.get_by_role("link", name=name, exact=True)).to_be_visible()
        await expect(table.get_by_role("link", name=SWAHILI_SPEAKER, exact=True)).to_be_visible()
        await expect(table.get_by_role("link", name=DARI_SPEAKER, exact=True)).to_have_count(0)

        # At least level 3: the new member (Swahili 2) drops out; the seed gives each member's
        # first language level 3 to 5, and Swahili is Rachel Ndlovu's only one.
        await page.get_by_label("At least level (ILR)").select_option("3")
        await expect(table.get_by_role("link", name=name, exact=True)).to_have_count(0)
        await expect(table.get_by_role("link", name=SWAHILI_SPEAKER, exact=True)).to_be_visible()

        await page.get_by_label("Language", exact=True).fill("Zulu")
        await page.get_by_role("button", name="Search").click()
        await expect(table.get_by_role("link", name=name, exact=True)).to_be_visible()
        await expect(page.locator("#member-total")).to_have_text("1 member")

        # Retiring asks first, in USWDS's modal; then the member is gone from the search.
        await table.get_by_role("link", name=name, exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(name)
        await page.get_by_role("button", name=f"Retire {name}").click()
        dialog = page.get_by_role("dialog", name=f"Retire {name}?")
        await expect(dialog.get_by_role("button", name="Yes, retire")).to_be_visible()
        await dialog.get_by_role("button", name="Yes, retire").click()
        await expect(page.locator("#member-retired")).to_have_text(f"Retired {today_utc().isoformat()}")
        await page.goto("/members?language=Zulu")
        await expect(page.get_by_text("No members match.")).to_be_visible()
