"""Logistics receives stock through the /stock page, sees the balance and the item's ledger, and is
told what to fix; every state of the page passes axe-core and fits a phone."""

import pytest
from playwright.async_api import Browser, expect

from tests.browser.helpers import LiveStack, assert_accessible, assert_no_horizontal_scroll, signed_in

pytestmark = pytest.mark.browser

# The seed's depots; this file uses a SKU of its own so no other test sees its stock.
DC, FRANKFURT = "Washington, DC", "Frankfurt, Germany"
SKU = "WATER-FILTER"


async def test_logistics_receives_stock_and_reads_its_history(
    browser: Browser, live_stack: LiveStack
) -> None:
    async with signed_in(browser, live_stack, "logistics") as page:
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Stock").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Depot stock")
        await assert_accessible(page, "/stock")

        receive = page.locator("form[action='/stock/receipts']")
        await receive.get_by_label("Depot").fill(FRANKFURT)
        await receive.get_by_label("SKU").fill(SKU)
        await receive.get_by_label("Item name").fill("Water filter")
        await receive.get_by_label("Quantity").fill("12")
        await receive.get_by_role("button", name="Receive").click()
        await expect(page.get_by_text(f"Received 12 {SKU} at {FRANKFURT}; 12 available.")).to_be_visible()

        move = page.locator("form[action='/stock/moves']")
        await move.get_by_label("SKU").select_option(SKU)
        await move.get_by_label("From depot").select_option(FRANKFURT)
        await move.get_by_label("To depot").fill(DC)
        await move.get_by_label("Quantity").fill("20")
        await move.get_by_role("button", name="Move").click()
        await expect(
            page.get_by_role(
                "link", name=f"Quantity: not enough {SKU} at {FRANKFURT}: 12 available, 20 asked for"
            )
        ).to_be_visible()
        await assert_accessible(page, "/stock (a move refused)")

        await page.goto("/stock")
        await page.get_by_label("Item", exact=True).select_option(SKU)
        row = page.locator("#stock-table tbody tr")
        await expect(row).to_have_count(1)
        await expect(row.locator("td[data-label='Available']")).to_have_text("12")
        await row.get_by_role("link", name="History").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(f"{SKU} at {FRANKFURT}")
        await expect(page.locator("td[data-label='Change']")).to_have_text(["+12"])
        await assert_accessible(page, "/stock/history")
        await assert_no_horizontal_scroll(page)
        await page.goto("/stock")
        await assert_no_horizontal_scroll(page)
