"""The readiness page's map in a real browser: Leaflet draws the vendored country outlines with
nothing from another host (the guard in conftest fails the test otherwise), the country with an
open deployment is shaded and opens its popup, and the page is accessible at both widths."""

import pytest
from playwright.async_api import Browser, Request, expect

from tests.browser.helpers import (
    PHONE,
    SLOW_MS,
    VIEWPORT,
    LiveStack,
    assert_accessible,
    screenshot,
    signed_in,
)

pytestmark = pytest.mark.browser

MEMBER = ("Elena Petrenko", "KBL", "Trade policy adviser")  # an open deployment in Afghanistan


async def test_the_map_renders_offline_with_the_open_countries_shaded(
    browser: Browser, live_stack: LiveStack
) -> None:
    await live_stack.submit(*MEMBER)
    async with signed_in(browser, live_stack, "operations") as page:
        asked: list[str] = []

        def keep(request: Request) -> None:
            asked.append(request.url)

        page.on("request", keep)
        await page.goto("/readiness")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Readiness")
        drawn = page.locator("#country-map.leaflet-container[data-drawn='true']")
        await expect(drawn).to_be_visible(timeout=SLOW_MS)
        # Every country of the 1:110m outlines is a path; those with open deployments are shaded.
        assert await drawn.locator("path.country").count() > 150
        afghanistan = page.get_by_role("row", name="Afghanistan")
        await expect(afghanistan).to_contain_text("Approval")
        opened = drawn.locator("path.country--open")
        assert await opened.count() >= 1
        assert all(url.startswith(live_stack.base_url) for url in asked), asked
        assert f"{live_stack.base_url}/static/countries-110m.geojson" in asked
        assert f"{live_stack.base_url}/static/leaflet/leaflet.js" in asked

        await page.locator("#countries-h").scroll_into_view_if_needed()
        await screenshot(page, "readiness.png")

        # The popup of the shaded countries: each names its country and its deployments by stage.
        names = set()
        for i in range(await opened.count()):
            await opened.nth(i).dispatch_event("click")
            # The newest popup is the pane's last (the one before may still be fading out).
            popup = page.locator(".leaflet-popup-content").last
            await expect(popup).to_be_visible()
            names.add((await popup.locator("strong").inner_text()).strip())
        assert "Afghanistan" in names

        await assert_accessible(page, "/readiness @1280")
        await page.set_viewport_size(PHONE)
        await assert_accessible(page, "/readiness @390")
        overflow = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        await page.set_viewport_size(VIEWPORT)
