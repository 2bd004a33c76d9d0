"""Requests for one member and the same dates at once: exactly one passes the overlap check.

PostgreSQL queues them on a row lock of the member; SQLite on its one writer's lock, taken before
the check (BEGIN IMMEDIATE), so on both the losers see the winner's row and get the 422.
"""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.tables import Deployment
from tests.web_helpers import World, count_rows, gather, request_body, web_world

RACERS = 20


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


async def test_racing_requests_for_one_member_make_one_deployment(world: World) -> None:
    body = request_body(world.member, world.post)
    headers = await world.headers("requester")
    responses = await gather(
        *(
            world.http.post("/api/v1/deployments", json=body, headers=headers | {"Idempotency-Key": f"k{i}"})
            for i in range(RACERS)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [422] * (RACERS - 1), [r.text for r in responses]
    refusals = [r.json()["detail"] for r in responses if r.status_code == 422]
    assert {tuple(tuple(e["loc"]) for e in refusal) for refusal in refusals} == {(("body", "member_id"),)}
    assert await count_rows(world.engine, select(Deployment)) == 1
