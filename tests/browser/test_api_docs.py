"""The API docs render from the app's own files: Swagger UI and ReDoc load nothing from another
host (the package's guard fails any test whose pages ask one) and break no content policy."""

import pytest
from playwright.async_api import Browser, ConsoleMessage, expect

from tests.browser.helpers import LiveStack, signed_in

pytestmark = pytest.mark.browser


async def test_swagger_ui_and_redoc_render_offline(browser: Browser, live_stack: LiveStack) -> None:
    async with signed_in(browser, live_stack, "admin") as page:
        problems: list[str] = []

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                problems.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(str(error)))

        await page.goto("/docs")
        await expect(page.get_by_role("heading", name="CRC deployments")).to_be_visible()
        await expect(page.locator(".opblock-summary-path", has_text="/api/v1/auth/token")).to_be_visible()
        assert await page.evaluate("() => getComputedStyle(document.querySelector('.swagger-ui')).fontFamily")

        await page.goto("/redoc")
        await expect(page.get_by_role("heading", name="CRC deployments", level=1)).to_be_visible()
        await expect(page.get_by_role("menuitem").first).to_be_visible()

        assert problems == []
