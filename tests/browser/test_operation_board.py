"""The staffing board follows its deployments live: a position filled after the page opened shows
its new deployment, and the deployment's cancellation, without a reload."""

from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.helpers import LiveStack, live_opened, mark_page, page_marker, signed_in
from web.services.requests import today_utc

pytestmark = pytest.mark.browser

# A roster member and a post no other browser test uses.
MEMBER = "Elena Petrenko"
POST = "KBP"


def _day(days: int) -> str:
    return (today_utc() + timedelta(days=days)).isoformat()


async def _approved_operation(stack: LiveStack) -> dict[str, Any]:
    """An operation at Kyiv with one economic adviser's place, approved by both offices."""
    body = {
        "name": "Kyiv recovery",
        "post_codes": [POST],
        "objective": "Restore the grain export corridor's customs posts",
        "start_date": _day(45),
        "end_date": _day(135),
        "positions": [
            {
                "sector": "economic_stabilization",
                "role_title": "Customs adviser",
                "languages": ["Ukrainian"],
                "component": "active",
                "start_date": _day(45),
                "duration_days": 60,
                "count": 1,
            }
        ],
    }
    async with stack.api("planning") as http:
        response = await http.post("/api/v1/operations", json=body)
    assert response.status_code == 201, response.text
    operation: dict[str, Any] = response.json()
    for approver in ("resource_management", "director"):
        async with stack.api(approver) as http:
            response = await http.post(f"/api/v1/operations/{operation['id']}/approve", json={})
        assert response.status_code == 200, response.text
    return operation


def _position(page: Page, operation: dict[str, Any]) -> Any:
    return page.locator(f"section[aria-labelledby='position-{operation['positions'][0]['id']}']")


async def test_the_staffing_board_follows_a_child_deployment(browser: Browser, live_stack: LiveStack) -> None:
    operation = await _approved_operation(live_stack)
    member = await live_stack.member(MEMBER)
    async with signed_in(browser, live_stack, "planning") as page:
        await page.goto(f"/operations/{operation['id']}")
        await live_opened(page)
        await mark_page(page, "board")
        position = _position(page, operation)
        await expect(position.get_by_role("heading", level=3)).to_have_text(
            "Customs adviser (economic stabilization), 0 of 1 filled"
        )

        async with live_stack.api("planning") as http:
            path = f"/api/v1/operations/{operation['id']}/positions/{operation['positions'][0]['id']}/fill"
            response = await http.post(path, json={"member_ids": [member.id]})
        assert response.status_code == 200, response.text
        deployment_id = response.json()["positions"][0]["deployment_ids"][0]
        row = position.get_by_role("row").filter(has=page.get_by_role("link", name=deployment_id[:8]))
        await expect(row).to_have_count(1)
        await expect(position.get_by_role("heading", level=3)).to_have_text(
            "Customs adviser (economic stabilization), 1 of 1 filled"
        )

        async with live_stack.api("planning") as http:
            response = await http.post(
                f"/api/v1/deployments/{deployment_id}/cancel", json={"reason": "The corridor closed"}
            )
        assert response.status_code == 200, response.text
        await expect(row.get_by_role("cell").nth(1)).to_have_text("Cancelled")
        await expect(position.get_by_role("heading", level=3)).to_have_text(
            "Customs adviser (economic stabilization), 0 of 1 filled"
        )
        assert await page_marker(page) == "board", "the page was loaded again"
