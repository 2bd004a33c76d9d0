"""The status query answers small: only the timeline's tail (the whole timeline is in the database)."""

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.progress import WaitingFor
from crc.types import STATUS_TIMELINE_TAIL, Amendment
from tests import factories
from tests.workflow_helpers import amend, db_events, decide, open_tasks_by_role, start, status, wait_until
from worker import build_worker

ROUNDS = 6


async def test_status_carries_only_the_timeline_tail(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    request = await factories.requested_deployment(engine, duration_days=120)
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        handle = await start(temporal_client, task_queue, request)
        for round_ in range(ROUNDS):
            tasks = await open_tasks_by_role(handle, 3)
            await decide(
                handle,
                tasks["planning"],
                "request_changes",
                user="p1",
                roles=["planning"],
                comment=f"Round {round_}",
            )
            # The decision answers once recorded; the run then waits for the changes.
            await wait_until(handle, lambda s: s.waiting_for == WaitingFor.AMENDMENT)
            await amend(handle, Amendment(user="req.user", duration_days=119 - round_, comment="Amended"))
        answer = await status(handle)
        tasks = await open_tasks_by_role(handle, 3)
        await decide(
            handle, tasks["planning"], "request_changes", user="p1", roles=["planning"], comment="Last"
        )
        await wait_until(handle, lambda s: s.waiting_for == WaitingFor.AMENDMENT)
        amended = await amend(handle, Amendment(user="req.user", duration_days=90, comment="Last"))

    assert len(await db_events(engine, request.deployment_id)) > STATUS_TIMELINE_TAIL
    assert len(answer.timeline) == STATUS_TIMELINE_TAIL
    # The newest entries: the round the last amendment opened.
    last = f"Approval round {ROUNDS + 1} opened: Planning, Resource Management, Chief of Mission"
    assert answer.timeline[-1].message == last
    assert answer.revision == ROUNDS + 1
    assert len(amended.timeline) == STATUS_TIMELINE_TAIL
