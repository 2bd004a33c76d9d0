"""Training creates a session through its pages; anyone finds an after-action report in /lessons.
Every page on the way passes axe-core (WCAG 2.1 A/AA) and fits a phone."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, expect

from crc.stages import Stage
from crc.tables import Task
from tests.browser.helpers import PHONE, LiveStack, assert_accessible, assert_no_horizontal_scroll, signed_in
from tests.factories import add, deployment_rows
from web.services.requests import today_utc

pytestmark = pytest.mark.browser

# Each browser test works on members of its own.
REPORTER = "Christopher Lee"
REPORT = "Generators at the district court ran out of diesel twice; keep a fuel contract with the post."


async def test_training_creates_a_session_through_the_pages(browser: Browser, live_stack: LiveStack) -> None:
    first = today_utc() + timedelta(days=200)
    async with signed_in(browser, live_stack, "training") as page:
        nav = page.get_by_role("navigation", name="Main")
        await nav.get_by_role("link", name="Training", exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Training")
        await assert_accessible(page, "/training")
        await page.get_by_role("link", name="New session").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("New session")
        await page.get_by_label("Course").select_option("FACT")
        await page.get_by_label("Place").fill("Foreign Service Institute, Arlington, VA")
        await page.get_by_label("First day").fill(first.isoformat())
        await page.get_by_label("Last day").fill(first.isoformat())
        await page.get_by_label("Seats").fill("12")
        await page.get_by_role("button", name="Save session").click()
        # One day is too short for FACT: the form says so and keeps what was typed.
        await expect(page.get_by_role("alert")).to_contain_text("FACT takes 5 days")
        await assert_accessible(page, "/training/sessions/new (errors)")
        await page.get_by_label("Last day").fill((first + timedelta(days=4)).isoformat())
        await page.get_by_role("button", name="Save session").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text(
            f"{first.isoformat()} to {(first + timedelta(days=4)).isoformat()}"
        )
        await expect(page.get_by_text("Nobody holds a seat yet.")).to_be_visible()
        await assert_accessible(page, "/training/sessions/{id}")
        await page.set_viewport_size(PHONE)
        await assert_no_horizontal_scroll(page)
        await page.goto("/training")
        await assert_no_horizontal_scroll(page)


async def test_anyone_finds_a_report_in_the_lessons(browser: Browser, live_stack: LiveStack) -> None:
    member = await live_stack.member(REPORTER)
    assert member.id is not None
    [deployment_id] = await deployment_rows(
        live_stack.engine, 1, member_id=member.id, post_code="JUB", stage=Stage.COMPLETED
    )
    await add(
        live_stack.engine,
        Task(
            id=str(uuid.uuid4()),
            deployment_id=deployment_id,
            kind="after_action_report",
            stage=Stage.REDEPLOYMENT.value,
            role="member",
            title="After-action report",
            outcomes=["done"],
            status="completed",
            outcome="done",
            data={"report": REPORT},
            completed_by="operations",
            completed_at=datetime.now(UTC),
        ),
    )
    async with signed_in(browser, live_stack, "logistics") as page:
        nav = page.get_by_role("navigation", name="Main")
        await nav.get_by_role("link", name="Lessons", exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Lessons learned")
        await page.get_by_label("Words").fill("generator diesel")
        await page.get_by_role("button", name="Search").click()
        await expect(page.locator("#lesson-total")).to_have_text("1 report")
        await expect(page.get_by_role("heading", level=2)).to_contain_text("Rule of law adviser, JUB")
        await expect(page.get_by_text(REPORTER)).to_be_visible()
        # Leaving the words field (a change) and the click (a submit) each ask: let both answer, as
        # a request in flight dims the button.
        await expect(page.locator(".htmx-request")).to_have_count(0)
        await assert_accessible(page, "/lessons (searched)")
        await page.get_by_label("Post").select_option("KBL")
        await expect(page.locator("#lesson-total")).to_have_text("0 reports")
        await page.set_viewport_size(PHONE)
        await assert_no_horizontal_scroll(page)
