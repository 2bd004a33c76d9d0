"""Decisions held for an undo window, on the time-skipping server with the real read-model: an
undo within the window withdraws the decision, after it the decision stands, and nobody else may
decide or undo meanwhile."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateHandle, WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment

from crc import names
from crc.db import session_factory
from crc.stages import Stage
from crc.tables import Task
from crc.types import CancelRequest, Decision, DecisionResult, DeploymentStatus, TaskView, Withdrawal
from tests import factories
from tests.workflow_helpers import (
    WAIT_LIMIT_S,
    db_events,
    decide,
    open_tasks_by_role,
    refusal,
    start,
    wait_until,
)
from worker import build_worker

UNDO_SECONDS = 10


async def task_row(engine: AsyncEngine, task_id: str) -> Task:
    async with session_factory(engine)() as session:
        row = await session.get(Task, task_id)
        assert row is not None
        return row


async def held_row(engine: AsyncEngine, task_id: str) -> Task:
    """The task's row once it shows the held decision (the hold activity has run)."""
    deadline = asyncio.get_running_loop().time() + WAIT_LIMIT_S
    while (row := await task_row(engine, task_id)).held_by is None:
        assert asyncio.get_running_loop().time() < deadline, "the hold never reached the read-model"
        await asyncio.sleep(0.05)
    return row


def held_decision(task_id: str, outcome: str = "approve", *, comment: str | None = None) -> Decision:
    """p1 of Planning deciding the task, held for the undo window."""
    return Decision(
        task_id=task_id,
        outcome=outcome,
        user="p1",
        roles=["planning"],
        comment=comment,
        undo_seconds=UNDO_SECONDS,
    )


async def hold(
    handle: WorkflowHandle, task_id: str, outcome: str = "approve", *, comment: str | None = None
) -> WorkflowUpdateHandle[DecisionResult]:
    """Send a decision held for the undo window; returns once the workflow has accepted it."""
    return await handle.start_update(
        names.UPDATE_DECIDE,
        held_decision(task_id, outcome, comment=comment),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        result_type=DecisionResult,
    )


async def withdraw(handle: WorkflowHandle, task_id: str, *, user: str = "p1") -> TaskView:
    return await handle.execute_update(
        names.UPDATE_WITHDRAW,
        Withdrawal(task_id=task_id, user=user, roles=["planning"]),
        result_type=TaskView,
    )


async def test_an_undo_within_the_window_withdraws_the_decision(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    request = await factories.requested_deployment(engine)
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        handle = await start(temporal_client, task_queue, request)
        planning = (await open_tasks_by_role(handle, 3))["planning"]
        decision = await hold(handle, planning, "reject", comment="Not this quarter")
        row = await held_row(engine, planning)
        assert (row.status, row.held_by, row.held_outcome) == ("open", "p1", "reject")

        reopened = await withdraw(handle, planning)
        assert (reopened.status, reopened.outcome) == ("open", None)
        answered = await decision.result()
        assert (answered.task.status, answered.stage) == ("open", Stage.APPROVAL)
        row = await task_row(engine, planning)
        assert (row.status, row.held_by, row.held_outcome, row.held_until) == ("open", None, None, None)
        withdrawn = [
            e for e in await db_events(engine, request.deployment_id) if e.kind == "decision.withdrawn"
        ]
        assert [(e.actor, e.message) for e in withdrawn] == [
            ("p1", f"p1 withdrew their decision to reject: {row.title}")
        ]

        # The task takes a new decision, which takes effect at once.
        result = await decide(handle, planning, "approve", user="p1", roles=["planning"])
        assert (result.task.status, result.task.outcome) == ("completed", "approve")
        assert (await task_row(engine, planning)).status == "completed"
        kinds = [e.kind for e in await db_events(engine, request.deployment_id)]
        assert "rejected" not in kinds and kinds.count("approved") == 1


async def test_after_the_window_the_decision_stands_and_undo_is_refused(
    engine: AsyncEngine, temporal_client: Client, temporal_env: WorkflowEnvironment, task_queue: str
) -> None:
    request = await factories.requested_deployment(engine)
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        handle = await start(temporal_client, task_queue, request)
        planning = (await open_tasks_by_role(handle, 3))["planning"]
        decision = await hold(handle, planning)
        await held_row(engine, planning)

        await temporal_env.sleep(timedelta(seconds=UNDO_SECONDS + 1))
        answered = await decision.result()
        assert (answered.task.status, answered.task.outcome) == ("completed", "approve")
        row = await task_row(engine, planning)
        assert (row.status, row.outcome, row.completed_by) == ("completed", "approve", "p1")
        assert (row.held_by, row.held_outcome, row.held_until) == (None, None, None)

        late = await refusal(withdraw(handle, planning))
        assert (late.type, late.message) == (names.ERR_NOT_HELD, "the decision has already taken effect")


async def test_nobody_else_decides_or_undoes_a_held_decision(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    request = await factories.requested_deployment(engine)
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        handle = await start(temporal_client, task_queue, request)
        planning = (await open_tasks_by_role(handle, 3))["planning"]
        nothing = await refusal(withdraw(handle, planning))
        assert (nothing.type, nothing.message) == (
            names.ERR_NOT_HELD,
            "there is no decision on this task to undo",
        )

        decision = await hold(handle, planning)
        other = await refusal(decide(handle, planning, "reject", user="p2", roles=["planning"], comment="No"))
        assert (other.type, other.message) == (names.ERR_TASK_HELD, "p1 decided this task a moment ago")
        # A double click: the same decision again.
        again = await refusal(
            handle.execute_update(names.UPDATE_DECIDE, held_decision(planning), result_type=DecisionResult)
        )
        assert (again.type, again.message) == (names.ERR_TASK_HELD, "p1 decided this task a moment ago")
        not_theirs = await refusal(withdraw(handle, planning, user="p2"))
        assert (not_theirs.type, not_theirs.message) == (
            names.ERR_NOT_HOLDER,
            "only p1 may undo their decision",
        )

        await withdraw(handle, planning)
        assert (await decision.result()).task.status == "open"
        kinds = [e.kind for e in await db_events(engine, request.deployment_id)]
        assert kinds.count("decision.withdrawn") == 1 and "approved" not in kinds


async def test_a_cancellation_during_the_hold_leaves_nothing_half_done(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    request = await factories.requested_deployment(engine)
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        handle = await start(temporal_client, task_queue, request)
        planning = (await open_tasks_by_role(handle, 3))["planning"]
        decision = await hold(handle, planning)
        await held_row(engine, planning)

        cancelled = await handle.execute_update(
            names.UPDATE_CANCEL,
            CancelRequest(user="req.user", roles=["requester"], reason="No longer needed"),
            result_type=DeploymentStatus,
        )
        assert cancelled.stage == Stage.CANCELLED
        refused = await refusal(decision.result())
        assert (refused.type, refused.message) == (
            names.ERR_TASK_NOT_OPEN,
            "the task was cancelled before the decision took effect",
        )
        row = await task_row(engine, planning)
        assert (row.status, row.outcome, row.held_by, row.held_until) == ("cancelled", None, None, None)
        kinds = [e.kind for e in await db_events(engine, request.deployment_id)]
        assert "approved" not in kinds and "decision.withdrawn" not in kinds
        assert (await handle.result()).stage == Stage.CANCELLED
        await wait_until(handle, lambda s: s.stage == Stage.CANCELLED)


@pytest.mark.parametrize("same_update_id", [False, True])
async def test_a_double_click_decides_once(
    engine: AsyncEngine, temporal_client: Client, task_queue: str, same_update_id: bool
) -> None:
    request = await factories.requested_deployment(engine)
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        handle = await start(temporal_client, task_queue, request)
        planning = (await open_tasks_by_role(handle, 3))["planning"]
        decision = Decision(task_id=planning, outcome="approve", user="p1", roles=["planning"])
        ids = ["click", "click"] if same_update_id else ["click-1", "click-2"]
        answers = await asyncio.gather(
            *(
                handle.execute_update(names.UPDATE_DECIDE, decision, id=i, result_type=DecisionResult)
                for i in ids
            ),
            return_exceptions=True,
        )
        decided = [a for a in answers if isinstance(a, DecisionResult)]
        assert [a.task.status for a in decided] == ["completed"] * len(decided)
        if same_update_id:
            assert len(decided) == 2  # the same update, answered twice
        else:
            assert len(decided) == 1
            refused = await refusal(_raise(next(a for a in answers if isinstance(a, BaseException))))
            assert (refused.type, refused.message) == (
                names.ERR_TASK_NOT_OPEN,
                "the task is already completed",
            )
        kinds = [e.kind for e in await db_events(engine, request.deployment_id)]
        assert kinds.count("approved") == 1


async def _raise(err: BaseException) -> None:
    raise err
