"""The funds page: Resource Management's funds per fiscal year with a burn chart and its figures
as text, the form to add one (CSRF, fields named), the nav link; the operation's board shows its
fund."""

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.funds import fiscal_year_of
from tests.operation_helpers import create, operations_world
from tests.web_helpers import World, csrf_of
from web.services.requests import today_utc


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with operations_world(engine, temporal_client, task_queue) as w:
        yield w


def nav_has_funds(html: str) -> bool:
    return re.search(r'<a href="/funds" class="usa-nav-link', html) is not None


async def test_resource_management_adds_a_fund_and_reads_its_burn(world: World) -> None:
    operation = await create(world, world.post.code)
    year = fiscal_year_of(today_utc())
    async with world.signed_in("resource_management") as browser:
        page = await browser.get("/funds")
        assert page.status_code == 200
        assert nav_has_funds(page.text)
        assert "No funds yet." in page.text
        form = {
            "name": "Juba FY",
            "fiscal_year": str(year),
            "amount_usd": "1000.00",
            "operation_id": operation["id"],
        }
        assert (await browser.post("/funds", data=form)).status_code == 403  # no CSRF token
        token = csrf_of(page.text)
        bad = await browser.post("/funds", data=form | {"amount_usd": "0", "csrf_token": token})
        assert bad.status_code == 422
        assert "must be an amount in dollars and cents, more than 0" in bad.text
        unknown = await browser.post("/funds", data=form | {"operation_id": "nope", "csrf_token": token})
        assert unknown.status_code == 422
        assert "no operation has this id" in unknown.text
        done = await browser.post("/funds", data=form | {"csrf_token": token})
        assert (done.status_code, done.headers["location"]) == (303, "/funds")
        listed = await browser.get("/funds")
        assert f"Added Juba FY (FY{year}): $1,000.00." in listed.text
        assert f'<h2 id="fy-{year}">FY{year}</h2>' in listed.text
        assert '<svg role="img"' in listed.text
        assert (
            "Spent $0.00, Obligated $0.00, Remaining $1,000.00; forecast $0.00 of $1,000.00." in listed.text
        )
        assert '<td data-label="Remaining">$1,000.00</td>' in listed.text
        again = await browser.post("/funds", data=form | {"csrf_token": token})
        assert again.status_code == 409
        assert f"a fund named Juba FY already exists for FY{year}" in again.text
        other_year = await browser.get(f"/funds?fiscal_year={year + 1}")
        assert f"No funds for FY{year + 1} yet." in other_year.text
        board = await browser.get(f"/operations/{operation['id']}")
        assert f"Juba FY</a> (FY{year})" in board.text
        assert '<td data-label="Remaining">$1,000.00</td>' in board.text


@pytest.mark.parametrize("username", ["planning", "requester", "director"])
async def test_other_offices_have_no_funds_page(world: World, username: str) -> None:
    async with world.signed_in(username) as browser:
        assert (await browser.get("/funds")).status_code == 403
        assert not nav_has_funds((await browser.get("/")).text)
