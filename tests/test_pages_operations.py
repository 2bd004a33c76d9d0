"""The operations pages: the list, the staffing board, and its forms (CSRF, roles, refusals)."""

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.operation_helpers import approved, cleared_members, create, operations_world, read, wait_status
from tests.web_helpers import World, csrf_of


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with operations_world(engine, temporal_client, task_queue) as w:
        yield w


def nav_has_operations(html: str) -> bool:
    return re.search(r'<a href="/operations" class="usa-nav-link', html) is not None


async def test_the_list_and_the_board_show_the_plan_to_the_offices_that_see_operations(world: World) -> None:
    created = await create(world, world.post.code)
    async with world.signed_in("resource_management") as browser:
        listed = await browser.get("/operations")
        assert listed.status_code == 200
        assert f'<a class="usa-link" href="/operations/{created["id"]}">Juba stabilization</a>' in listed.text
        assert "0 of 2" in listed.text
        assert nav_has_operations(listed.text)
        board = await browser.get(f"/operations/{created['id']}")
        assert board.status_code == 200
        assert "Rule of law adviser (rule of law), 0 of 2 filled" in board.text
        assert "Approve the operation" in board.text
        assert "/fill" not in board.text  # not Planning, and not approved yet
    async with world.signed_in("requester") as browser:
        assert (await browser.get("/operations")).status_code == 403
        assert not nav_has_operations((await browser.get("/")).text)


async def test_planning_fills_a_position_from_the_board(world: World) -> None:
    operation = await approved(world, world.post.code)
    position = operation["positions"][0]
    members = await cleared_members(world, 2)
    path = f"/operations/{operation['id']}/positions/{position['id']}/fill"
    async with world.signed_in("planning") as browser:
        board = await browser.get(f"/operations/{operation['id']}")
        assert f'action="{path}"' in board.text
        assert "0 of 2 places filled</li>" in board.text
        assert "No place filled yet; the oldest open line has waited 0.0 days" in board.text
        forged = await browser.post(path, data={"member_ids": str(members[0])})
        assert forged.status_code == 403  # no CSRF token
        bad = await browser.post(path, data={"member_ids": "one", "csrf_token": csrf_of(board.text)})
        assert bad.status_code == 422
        assert "list the members&#39; ids, separated by commas" in bad.text
        done = await browser.post(
            path, data={"member_ids": f"{members[0]}, {members[1]}", "csrf_token": csrf_of(board.text)}
        )
        assert (done.status_code, done.headers["location"]) == (303, f"/operations/{operation['id']}")
        after = await browser.get(f"/operations/{operation['id']}")
        assert "Requested 2 members." in after.text
        assert "0 of 2 filled" not in after.text and "2 of 2 filled" in after.text
        # The progress: both in the stage they reached, filled within the minute of the plan.
        stages = r"(2 in (requested|approval)|1 in requested, 1 in approval)"
        assert re.search(rf"2 of 2 places filled: {stages}</li>", after.text)
        median = "Time to fill: 0.0 days at the median, from the plan's line to the request</li>"
        assert median in after.text
        assert "<td>Member 0</td>" in after.text and "<td>Member 1</td>" in after.text
        filled = (await read(world, operation["id"]))["positions"][0]["deployment_ids"]
        assert all(f'href="/deployments/{d}"' in after.text for d in filled)


async def test_approve_and_cancel_from_the_board(world: World) -> None:
    created = await create(world, world.post.code)
    board_path = f"/operations/{created['id']}"
    async with world.signed_in("director") as browser:
        token = csrf_of((await browser.get(board_path)).text)
        approved_once = await browser.post(f"{board_path}/approve", data={"csrf_token": token})
        assert approved_once.status_code == 303
        again = await browser.post(f"{board_path}/approve", data={"csrf_token": token})
        assert again.status_code == 409
        assert "your office has already approved this operation" in again.text
        no_reason = await browser.post(f"{board_path}/cancel", data={"reason": " ", "csrf_token": token})
        assert no_reason.status_code == 422
        cancelled = await browser.post(
            f"{board_path}/cancel", data={"reason": "Mandate ended", "csrf_token": token}
        )
        assert cancelled.status_code == 303
    assert (await wait_status(world, created["id"], "CANCELLED"))["note"] == "Cancelled: Mandate ended"
