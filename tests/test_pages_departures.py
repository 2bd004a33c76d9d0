"""The departure page: the roll-call board for the offices that see every deployment, and the
Operations director's order form (CSRF, roles, refusals)."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from crc.stages import Stage
from tests.departure_helpers import resumed_at, roll_call_until
from tests.web_helpers import World, csrf_of, web_world


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


async def test_the_director_orders_from_the_page_and_operations_sees_the_roll_call(
    world: World, task_queue: str, temporal_env: WorkflowEnvironment
) -> None:
    code = world.post.code
    path = f"/posts/{code}/departure"
    (deployed,) = await resumed_at(
        world, task_queue, Stage.DEPLOYED, 1, now=await temporal_env.get_current_time()
    )
    async with world.signed_in("operations") as browser:
        posts = await browser.get("/posts")
        assert f'<a href="{path}">Roll-call<span class="usa-sr-only"> of {code}</span></a>' in posts.text
        none = await browser.get(path)
        assert none.status_code == 200
        assert f'<p id="departure-none">{code} has had no departure.</p>' in none.text
        assert f'action="{path}"' not in none.text  # Operations reads; its director orders
        refused = await browser.post(
            path, data={"kind": "ordered", "reason": "x", "csrf_token": csrf_of(none.text)}
        )
        assert refused.status_code == 403
    async with world.signed_in("requester") as browser:
        assert (await browser.get(path)).status_code == 403
        assert "Roll-call" not in (await browser.get("/posts")).text
    async with world.signed_in("director") as browser:
        board = await browser.get(path)
        assert f'action="{path}"' in board.text
        forged = await browser.post(path, data={"kind": "ordered", "reason": "Fighting"})
        assert forged.status_code == 403  # no CSRF token
        token = csrf_of(board.text)
        bad = await browser.post(path, data={"kind": "voluntary", "reason": " ", "csrf_token": token})
        assert bad.status_code == 422
        assert "Check kind, reason: choose ordered or authorized, and say why." in bad.text
        done = await browser.post(path, data={"kind": "ordered", "reason": "Fighting", "csrf_token": token})
        assert (done.status_code, done.headers["location"]) == (303, path)
        after = await browser.get(path)
        assert f"The ordered departure of {code} is under way." in after.text
        assert f'action="{path}"' not in after.text  # one at a time
        twice = await browser.post(path, data={"kind": "ordered", "reason": "Again", "csrf_token": token})
        assert twice.status_code == 409
        assert f"a departure of {code} is already under way" in twice.text
    await roll_call_until(
        world, code, lambda d: bool(d["roll_call"]) and d["roll_call"][0]["return_booked_at"]
    )
    async with world.signed_in("operations") as browser:
        board = await browser.get(path)
        assert f'<tr id="roll-call-{deployed}">' in board.text
        assert "In transit" in board.text and "0 of 1 members settled" in board.text
