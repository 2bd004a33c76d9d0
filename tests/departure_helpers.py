"""Helpers for departure tests: deployments already at a stage (their workflows resumed there),
and calls of the departures API."""

from datetime import datetime, timedelta
from typing import Any

from crc import names
from crc.db import session_factory
from crc.progress import WaitingFor
from crc.search_attributes import initial_search_attributes
from crc.settings import get_settings
from crc.stages import Stage
from crc.starting import workflow_input
from crc.state import DeploymentInput, DeploymentState, StayState
from crc.tables import Deployment, Member
from tests import factories
from tests.operation_helpers import cleared_members
from tests.web_helpers import World
from tests.workflow_helpers import eventually

DURATION_DAYS = 90


async def resumed_at(world: World, task_queue: str, stage: Stage, count: int, *, now: datetime) -> list[str]:
    """`count` members with a deployment at the world's post already at `stage` (arrived five
    days ago, when DEPLOYED), each workflow started there; their deployment ids."""
    arrived = now.date() - timedelta(days=5)
    start = arrived if stage == Stage.DEPLOYED else now.date() + timedelta(days=30)
    ids: list[str] = []
    for member_id in await cleared_members(world, count):
        (deployment_id,) = await factories.deployment_rows(
            world.engine,
            1,
            member_id=member_id,
            post_code=world.post.code,
            start=start,
            duration_days=DURATION_DAYS,
            stage=stage,
        )
        async with session_factory(world.engine)() as session:
            row = await session.get(Deployment, deployment_id)
            member = await session.get(Member, member_id)
            assert row is not None and member is not None
            request = workflow_input(row, member, get_settings())
        state = DeploymentState(
            stage=stage,
            status="In country" if stage == Stage.DEPLOYED else "Reserving kit",
            waiting_for=WaitingFor.CHECK_INS if stage == Stage.DEPLOYED else WaitingFor.WORKFLOW,
            end_date=row.end_date,
            stay=StayState(arrived_on=arrived, last_check_in_at=now)
            if stage == Stage.DEPLOYED
            else StayState(),
        )
        await world.temporal.start_workflow(
            names.WORKFLOW_NAME,
            DeploymentInput(**request.model_dump(), resume=state),
            id=names.deployment_workflow_id(deployment_id),
            task_queue=task_queue,
            search_attributes=initial_search_attributes(request),
        )
        ids.append(deployment_id)
    return ids


async def order(world: World, code: str, username: str = "director", **body: Any) -> Any:
    """POST a departure order as a user; the response."""
    return await world.http.post(
        f"/api/v1/posts/{code}/departure",
        json={"kind": "ordered", "reason": "Fighting in the capital", **body},
        headers=await world.headers(username),
    )


async def read(world: World, code: str, username: str = "operations") -> dict[str, Any]:
    """GET the post's departure."""
    response = await world.http.get(f"/api/v1/posts/{code}/departure", headers=await world.headers(username))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def roll_call_until(world: World, code: str, ok: Any) -> dict[str, Any]:
    """Poll the departure until `ok` holds of it."""

    async def current() -> dict[str, Any]:
        return await read(world, code)

    return await eventually(current, ok)
