"""Planning opens an approved operation's board: each open position loads its ranked candidates
(htmx) with reasons and gaps, and "Request selected" says what to fix; every state passes axe-core.

Nothing is requested here: the live stack's seeded members stay free for the other browser tests.
"""

from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.helpers import LiveStack, assert_accessible, signed_in
from tests.workflow_helpers import eventually
from web.services.requests import today_utc

pytestmark = pytest.mark.browser


async def _approved_operation(stack: LiveStack) -> dict[str, Any]:
    start = today_utc() + timedelta(days=60)
    body = {
        "name": "Juba courts (candidates test)",
        "post_codes": ["JUB"],
        "objective": "Reopen the courts",
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=90)).isoformat(),
        "positions": [
            {
                "sector": "rule_of_law",
                "role_title": "Rule of law adviser",
                "languages": ["ar"],
                "component": "active",
                "start_date": start.isoformat(),
                "duration_days": 60,
                "count": 2,
            }
        ],
    }
    async with stack.api("planning") as http:
        created = await http.post("/api/v1/operations", json=body)
        assert created.status_code == 201, created.text
        operation: dict[str, Any] = created.json()
    for username in ("resource_management", "director"):
        async with stack.api(username) as http:
            approved = await http.post(f"/api/v1/operations/{operation['id']}/approve", json={})
            assert approved.status_code == 200, approved.text

    async def status() -> str:
        async with stack.api("planning") as http:
            return str((await http.get(f"/api/v1/operations/{operation['id']}")).json()["status"])

    await eventually(status, lambda s: s == "APPROVED")
    return operation


async def test_planning_sees_ranked_candidates_and_is_told_when_too_many_are_picked(
    browser: Browser, live_stack: LiveStack
) -> None:
    operation = await _approved_operation(live_stack)
    position_id = operation["positions"][0]["id"]
    async with signed_in(browser, live_stack, "planning") as page:
        await page.goto(f"/operations/{operation['id']}")
        section = page.locator(f"#candidates-{position_id}")
        request = section.get_by_role("button", name="Request selected")
        await expect(request).to_be_visible()  # loaded by htmx as the board opened
        rows = section.locator("tbody tr")
        await expect(rows.first.locator("td[data-label='Gaps']")).not_to_be_empty()
        await assert_accessible(page, "/operations/{id} (candidates)")
        for i in range(3):
            await rows.nth(i).locator("label.usa-checkbox__label").click()
        await request.click()
        await expect(page.locator("#operation-error")).to_have_text(
            "member_ids: you picked 3 members; the position has 2 places left"
        )
        await assert_accessible(page, "/operations/{id} (too many picked)")
    async with live_stack.api("planning") as http:
        again = (await http.get(f"/api/v1/operations/{operation['id']}")).json()
    assert again["positions"][0]["deployment_ids"] == []
