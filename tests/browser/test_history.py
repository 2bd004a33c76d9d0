"""The Back button: a decided task does not come back as open, and filters come back from the URL
(pages are not kept by the browser, and htmx asks the server again for a pushed filter URL)."""

import asyncio
import re

import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.browser.helpers import SLOW_MS, LiveStack, signed_in

pytestmark = pytest.mark.browser

MEMBER = "Sarah Goldberg"
FILTERED_MEMBER = "Fatima Diallo"


async def _inbox(page: Page) -> None:
    nav = page.get_by_role("navigation", name="Main")
    await nav.get_by_role("link", name=re.compile(r"^Inbox\b")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")


async def _loaded(page: Page) -> None:
    """Wait until the page has loaded and htmx has started (Back during loading: the test below)."""
    await page.wait_for_load_state("load")
    await page.wait_for_function("() => window.htmx !== undefined", timeout=SLOW_MS)


async def test_back_after_a_decision_shows_it_decided(browser: Browser, live_stack: LiveStack) -> None:
    deployment = await live_stack.submit(MEMBER, "KBP", "Customs reform adviser")
    await live_stack.wait_for_tasks("planning", deployment["id"], 1)
    async with signed_in(browser, live_stack, "planning") as page:
        await _inbox(page)
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=MEMBER, exact=True))
        await expect(row).to_have_count(1)
        await row.get_by_role("textbox", name="Comment").fill("Fits the plan")
        await row.get_by_role("button", name="Approve").click()
        await expect(row.get_by_role("status")).to_contain_text("Approved by", timeout=SLOW_MS)
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Deployments").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Deployments"))

        await page.go_back()
        await expect(page).to_have_url(re.compile(r"/inbox$"))
        await expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
        # Asked of the server again: the task is no longer open, so no button can decide it.
        back_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=MEMBER, exact=True))
        await expect(back_row.get_by_role("button", name="Approve")).to_have_count(0)
        await expect(back_row.get_by_role("button", name="Reject")).to_have_count(0)


async def test_back_after_filter_changes_restores_every_select(
    browser: Browser, live_stack: LiveStack
) -> None:
    deployment = await live_stack.submit(FILTERED_MEMBER, "DIL", "Port logistics adviser")
    await live_stack.wait_for_tasks("planning", deployment["id"], 1)
    async with signed_in(browser, live_stack, "planning") as page:
        await _inbox(page)
        kind, post = page.get_by_label("Kind", exact=True), page.get_by_label("Post", exact=True)
        sort = page.get_by_label("Sort by", exact=True)
        await kind.select_option("approval")
        await expect(page).to_have_url(re.compile(r"[?&]kind=approval\b"))
        await post.select_option("DIL")
        await expect(page).to_have_url(re.compile(r"[?&]post=DIL\b"))
        await sort.select_option("age")
        await expect(page).to_have_url(re.compile(r"[?&]sort=age\b"))
        await expect(kind).to_have_value("approval", timeout=SLOW_MS)

        # htmx keeps no copy of the page: Back reloads it from the URL, which takes a moment.
        await page.go_back()
        await expect(page).to_have_url(re.compile(r"[?&]post=DIL\b"))
        await expect(page).not_to_have_url(re.compile(r"sort=age"))
        await expect(sort).to_have_value("due", timeout=SLOW_MS)
        await expect(post).to_have_value("DIL", timeout=SLOW_MS)
        await expect(kind).to_have_value("approval", timeout=SLOW_MS)

        await _loaded(page)
        await page.go_back()
        await expect(page).to_have_url(re.compile(r"[?&]kind=approval\b"))
        await expect(page).not_to_have_url(re.compile(r"post=DIL"))
        await expect(post).to_have_value("", timeout=SLOW_MS)
        await expect(kind).to_have_value("approval", timeout=SLOW_MS)

        await _loaded(page)
        await page.go_back()
        await expect(page).to_have_url(re.compile(r"/inbox$"))
        await expect(kind).to_have_value("", timeout=SLOW_MS)
        await expect(sort).to_have_value("due", timeout=SLOW_MS)


async def test_back_before_htmx_has_loaded_still_shows_the_url(
    browser: Browser, live_stack: LiveStack
) -> None:
    async with signed_in(browser, live_stack, "planning") as page:
        await _inbox(page)
        kind = page.get_by_label("Kind", exact=True)
        sort = page.get_by_label("Sort by", exact=True)
        await sort.select_option("age")
        await expect(page).to_have_url(re.compile(r"[?&]sort=age\b"))

        async def slow_htmx(route: Route) -> None:
            await asyncio.sleep(2)
            await route.fallback()

        # A slow machine: the page is back but htmx, which answers Back, has not loaded yet.
        await page.route("**/static/htmx.min.js", slow_htmx)
        await page.reload(wait_until="commit")
        await expect(sort).to_have_value("age")
        await page.go_back(wait_until="commit")
        await expect(page).to_have_url(re.compile(r"/inbox$"))
        await expect(sort).to_have_value("due", timeout=SLOW_MS)
        await expect(kind).to_have_value("")
