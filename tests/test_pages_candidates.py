"""The board's "Find candidates": the ranked list (fragment or page), and "Request selected"."""

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.operation_helpers import approved, cleared_members, operations_world, post, read
from tests.web_helpers import World, csrf_of


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with operations_world(engine, temporal_client, task_queue) as w:
        yield w


def picks(html: str) -> list[int]:
    """The member ids offered for picking, in order."""
    return [int(m) for m in re.findall(r'name="member_ids" value="(\d+)"', html)]


async def test_the_board_loads_ranked_candidates_and_requests_the_picked_together(world: World) -> None:
    operation = await approved(world, world.post.code)
    position = operation["positions"][0]
    board_path = f"/operations/{operation['id']}"
    path = f"{board_path}/positions/{position['id']}"
    first, second, third = await cleared_members(world, 3)
    async with world.signed_in("planning") as browser:
        board = await browser.get(board_path)
        assert f'hx-get="{path}/candidates" hx-trigger="load"' in board.text
        fragment = await browser.get(f"{path}/candidates", headers={"HX-Request": "true"})
        assert fragment.status_code == 200
        assert "<html" not in fragment.text and fragment.headers["vary"] == "HX-Request, Cookie"
        # The Active members rank alike (no Arabic, no certificates): by id; the Standby one last.
        assert picks(fragment.text) == [world.member.id, first, second, third, world.standby.id]
        assert "Request selected" in fragment.text
        assert "needs FACT by" in fragment.text and "does not speak ar" in fragment.text
        page = await browser.get(f"{path}/candidates")
        assert "<h1>Candidates for Rule of law adviser</h1>" in page.text
        token = csrf_of(fragment.text)
        fill = f"{path}/fill"
        assert (await browser.post(fill, data={"member_ids": [str(first)]})).status_code == 403  # no CSRF
        none = await browser.post(fill, data={"csrf_token": token})
        assert (none.status_code, "pick at least one member" in none.text) == (422, True)
        too_many = await browser.post(
            fill, data={"member_ids": [str(first), str(second), str(third)], "csrf_token": token}
        )
        assert too_many.status_code == 422
        assert "you picked 3 members; the position has 2 places left" in too_many.text
        done = await browser.post(fill, data={"member_ids": [str(first), str(second)], "csrf_token": token})
        assert (done.status_code, done.headers["location"]) == (303, board_path)
        after = await browser.get(board_path)
        assert "Requested 2 members." in after.text and "2 of 2 filled" in after.text
        assert f'hx-get="{path}/candidates"' not in after.text  # no place left to fill
    assert len((await read(world, operation["id"]))["positions"][0]["deployment_ids"]) == 2


async def test_a_member_busy_elsewhere_is_named_and_nothing_is_requested(world: World) -> None:
    first = await approved(world, world.post.code)
    second = await approved(world, world.post.code, name="Juba second wave")
    (member,) = await cleared_members(world, 1)
    fill = f"/{first['id']}/positions/{first['positions'][0]['id']}/fill"
    assert (await post(world, fill, "planning", {"member_ids": [member]})).status_code == 200
    path = f"/operations/{second['id']}/positions/{second['positions'][0]['id']}"
    async with world.signed_in("planning") as browser:
        fragment = await browser.get(f"{path}/candidates", headers={"HX-Request": "true"})
        assert member not in picks(fragment.text)  # deployed over these dates: not a candidate
        refused = await browser.post(
            f"{path}/fill", data={"member_ids": [str(member)], "csrf_token": csrf_of(fragment.text)}
        )
        assert refused.status_code == 409
        assert f"member {member} (Member 0) is already in deployment" in refused.text
    assert (await read(world, second["id"]))["positions"][0]["deployment_ids"] == []
    async with world.signed_in("requester") as browser:
        assert (await browser.get(f"{path}/candidates")).status_code == 403
