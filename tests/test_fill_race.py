"""Two operations filling one member at once: the fill's activity checks the member under their
lock, so exactly one deployment is written and the other fill is refused with a 409 naming them."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.db import session_factory
from crc.tables import Deployment
from tests.operation_helpers import approved, cleared_members, operations_world, post, read
from tests.web_helpers import World, count_rows, gather


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with operations_world(engine, temporal_client, task_queue) as w:
        yield w


async def _deployments(world: World, member_id: int) -> list[Deployment]:
    async with session_factory(world.engine)() as session:
        return list((await session.exec(select(Deployment).where(Deployment.member_id == member_id))).all())


def _fill_path(operation: dict[str, object]) -> str:
    positions = operation["positions"]
    assert isinstance(positions, list)
    return f"/{operation['id']}/positions/{positions[0]['id']}/fill"


async def test_two_fills_of_one_member_at_once_make_one_deployment(world: World) -> None:
    first = await approved(world, world.post.code)
    second = await approved(world, world.post.code, name="Juba second wave")
    (member,) = await cleared_members(world, 1)
    other, busy = await cleared_members(world, 2)
    responses = await gather(
        post(world, _fill_path(first), "planning", {"member_ids": [member]}),
        # With another member in the same fill: refused together, nothing half-written.
        post(world, _fill_path(second), "planning", {"member_ids": [other, member]}),
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409], [r.text for r in responses]
    (held,) = await _deployments(world, member)
    winner, loser = (first, second) if responses[0].status_code == 200 else (second, first)
    refusal = next(r for r in responses if r.status_code == 409).json()["detail"]
    # The stage named is the one when it was refused: the deployment may have moved on since.
    assert refusal in {
        f"member {member} (Member 0) is already in deployment {held.id} "
        f"({held.start_date} to {held.end_date}, {stage})"
        for stage in ("REQUESTED", held.stage)
    }
    won = sorted((await read(world, winner["id"]))["positions"][0]["deployment_ids"])
    assert won == sorted([held.id, *(d.id for d in await _deployments(world, other))])
    assert (await read(world, loser["id"]))["positions"][0]["deployment_ids"] == []
    assert (await read(world, loser["id"]))["status"] == "APPROVED"
    # Refused together: the other member of a refused fill has no deployment either.
    assert await count_rows(world.engine, select(Deployment).where(Deployment.member_id == other)) == (
        0 if winner is first else 1
    )
    # The member now busy cannot be filled again anywhere; a free one still can.
    again = await post(world, _fill_path(loser), "planning", {"member_ids": [member]})
    assert again.status_code == 409
    assert (await post(world, _fill_path(loser), "planning", {"member_ids": [busy]})).status_code == 200
