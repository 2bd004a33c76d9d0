"""Record DeploymentWorkflow histories for the replay test: `python -m tests.record_histories`.

Run it after a deliberate change to the workflow's commands (guarded with workflow.patched) to
add histories of the new code beside the old ones; never rewrite the old ones, since they stand
for workflows already running in production. Name scenarios to record only those
(`python -m tests.record_histories escalated_then_rejected`).
"""

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import SQLModel
from temporalio.client import Client, WorkflowUpdateStage
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import crc.auth_tables  # registers the sign-in tables too
import crc.departure_tables  # registers the departure tables too
import crc.fund_tables  # and the funds
import crc.lifecycle_tables  # registers the lifecycle tables too
import crc.operation_tables  # registers the operation tables too
import crc.tables  # registers the tables
import crc.watchlist_tables  # noqa: F401 - and the watchlist tables
from crc import names
from crc.db import create_engine
from crc.progress import WaitingFor
from crc.search_attributes import ensure_registered
from crc.stages import Stage
from crc.types import Amendment, Decision, DeploymentOutcome, LifecyclePolicy, Withdrawal
from tests import factories
from tests.lifecycle_world import Driver, RefusesOutboundOnce, add_world
from tests.workflow_helpers import amend, decide, start, wait_until
from worker import build_worker

HISTORIES = Path(__file__).parent / "histories"
Scenario = Callable[[Driver, WorkflowEnvironment], Awaitable[None]]


async def completed_with_early_return(d: Driver, env: WorkflowEnvironment) -> None:
    await d.to_travel()
    await d.arrive()
    await env.sleep(timedelta(days=8, hours=1))
    await d.complete("missed_check_in", "accounted_for")
    await d.check_in()
    await d.extend(10)
    for task in await d.tasks("extension", 2):
        await d.decide(task, "approve")
    await d.cancel("Security deteriorated")
    await d.complete("kit_return", "returned")
    await d.complete("after_action_report", "done", data={"report": "Went well."})
    await d.complete("medical_out_processing", "done")


async def amended_then_cancelled_in_training(d: Driver, env: WorkflowEnvironment) -> None:
    tasks = await d.tasks("approval", 3)
    await decide(
        d.handle, tasks[0].id, "request_changes", user="p1", roles=[tasks[0].role], comment="Shorter"
    )
    await wait_until(d.handle, lambda s: s.waiting_for == WaitingFor.AMENDMENT)
    await amend(d.handle, Amendment(user="req.user", duration_days=50, comment="Shorter"))
    await d.approve_all()
    await d.tasks("training_result", 2)
    await d.cancel("Post closed")


async def year_long_with_continue_as_new(d: Driver, env: WorkflowEnvironment) -> None:
    await d.to_travel(courses=3)
    await d.arrive()
    while await d.stage() == Stage.DEPLOYED:
        await env.sleep(timedelta(days=7))
        if await d.stage() == Stage.DEPLOYED:
            await d.check_in()
    await d.complete("kit_return", "missing")
    await d.complete("after_action_report", "done", data={"report": "A long year."})
    await d.complete("medical_out_processing", "done")


async def rejected_in_approval(d: Driver, env: WorkflowEnvironment) -> None:
    tasks = await d.tasks("approval", 3)
    await decide(d.handle, tasks[1].id, "approve", user="o1", roles=[tasks[1].role])
    await decide(d.handle, tasks[0].id, "reject", user="o2", roles=[tasks[0].role], comment="Not now")


async def escalated_then_rejected(d: Driver, env: WorkflowEnvironment) -> None:
    tasks = await d.tasks("approval", 3)
    await env.sleep(timedelta(seconds=d.request.approval.due_seconds + 60))
    await wait_until(d.handle, lambda s: all(t.escalated for t in s.open_tasks))
    await d.decide(tasks[0], "approve", role="director")
    await decide(d.handle, tasks[1].id, "reject", user="dir", roles=["director"], comment="Too late")


async def stay_with_alerts_and_help(d: Driver, env: WorkflowEnvironment) -> None:
    await d.to_travel()
    await d.arrive()
    await env.sleep(timedelta(days=9, hours=1))  # the alert at 8 days, escalated a day later
    await wait_until(d.handle, lambda s: any(t.escalated for t in s.open_tasks))
    await d.complete("missed_check_in", "accounted_for")
    await d.check_in(status="needs_help", location="Bor")
    help_task = await d.task("needs_help")
    await decide(d.handle, help_task.id, "resolved", user="ops", roles=["operations"], comment="Safe")
    await d.cancel("Security deteriorated")
    await d.complete("kit_return", "returned")
    await d.complete("after_action_report", "done", data={"report": "Eventful."})
    await d.complete("medical_out_processing", "done")


async def no_show_then_arrived(d: Driver, env: WorkflowEnvironment) -> None:
    await d.to_travel()
    await d.complete("country_clearance", "approve")
    await wait_until(d.handle, lambda s: s.waiting_for == WaitingFor.ARRIVAL)
    await d.until(d.request.start_date + timedelta(days=2))
    await d.complete("no_show", "accounted_for")
    await d.check_in(location="Juba airport")
    await d.cancel("Mission ended early")
    await d.complete("kit_return", "returned")
    await d.complete("after_action_report", "done", data={"report": "Late but useful."})
    await d.complete("medical_out_processing", "done")


async def vetting_denied(d: Driver, env: WorkflowEnvironment) -> None:
    await d.approve_all()
    await d.complete("vetting_review", "deny")


async def booking_refused_then_completed(d: Driver, env: WorkflowEnvironment) -> None:
    await d.to_travel()
    await d.complete("country_clearance", "approve")
    await d.complete("booking_refused", "retry")
    await wait_until(d.handle, lambda s: s.waiting_for == WaitingFor.ARRIVAL)
    await d.until(d.request.start_date)
    await d.check_in(location="Juba airport")
    await d.cancel("Mission ended early")
    await d.complete("kit_return", "returned")
    await d.complete("after_action_report", "done", data={"report": "Short and useful."})
    await d.complete("medical_out_processing", "done")


async def decisions_held_withdrawn_and_standing(d: Driver, env: WorkflowEnvironment) -> None:
    tasks = await d.tasks("approval", 3)
    planning = next(t for t in tasks if t.role == "planning")

    def held(outcome: str, comment: str | None = None) -> Decision:
        return Decision(
            task_id=planning.id,
            outcome=outcome,
            user="p1",
            roles=["planning"],
            comment=comment,
            undo_seconds=10,
        )

    first = await d.handle.start_update(
        names.UPDATE_DECIDE, held("approve"), wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    await d.handle.execute_update(
        names.UPDATE_WITHDRAW, Withdrawal(task_id=planning.id, user="p1", roles=["planning"])
    )
    await first.result()
    second = await d.handle.start_update(
        names.UPDATE_DECIDE, held("reject", "Not this quarter"), wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    await env.sleep(timedelta(seconds=11))
    await second.result()


@dataclass(frozen=True)
class Recording:
    """One path through the lifecycle to record: the scenario and the world it needs."""

    scenario: Scenario
    days: int = 60
    policy: LifecyclePolicy = field(default_factory=LifecyclePolicy)
    member: dict[str, Any] = field(default_factory=dict)
    refuse_outbound_once: bool = False


SCENARIOS: dict[str, Recording] = {
    "completed_with_early_return": Recording(completed_with_early_return),
    "amended_then_cancelled_in_training": Recording(amended_then_cancelled_in_training),
    "year_long_with_continue_as_new": Recording(
        year_long_with_continue_as_new, days=365, policy=LifecyclePolicy(history_limit=400)
    ),
    "rejected_in_approval": Recording(rejected_in_approval),
    "vetting_denied": Recording(
        vetting_denied, member={"medical_expires": date.today() + timedelta(days=30)}
    ),
    "booking_refused_then_completed": Recording(booking_refused_then_completed, refuse_outbound_once=True),
    "escalated_then_rejected": Recording(escalated_then_rejected),
    "stay_with_alerts_and_help": Recording(stay_with_alerts_and_help),
    "no_show_then_arrived": Recording(no_show_then_arrived),
    "decisions_held_withdrawn_and_standing": Recording(decisions_held_withdrawn_and_standing),
}


async def record(name: str, path: Recording, folder: Path, label: str) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.prefix) / "bin" / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    await ensure_registered(env.client, env.client.namespace)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/crc.db")
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        request = await factories.requested_deployment(
            engine, duration_days=path.days, lifecycle=path.policy, **path.member
        )
        await add_world(engine, request.post_code)
        client: Client = env.client
        provider = RefusesOutboundOnce(engine) if path.refuse_outbound_once else None
        async with build_worker(client, engine, task_queue=f"record-{name}", travel_provider=provider):
            first = await start(client, f"record-{name}", request)
            workflow_id = names.deployment_workflow_id(request.deployment_id)
            handle = client.get_workflow_handle(workflow_id, result_type=DeploymentOutcome)
            await path.scenario(Driver(handle=handle, request=request, env=env), env)
            await handle.result()
        # Follow the chain of runs that continue-as-new left behind.
        run_id: str | None = first.first_execution_run_id
        number = 0
        while run_id:
            number += 1
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
            (folder / f"{label}_{name}_run{number}.json").write_text(history.to_json())
            last = history.events[-1]
            chained = last.workflow_execution_continued_as_new_event_attributes
            run_id = (
                chained.new_execution_run_id
                if last.HasField("workflow_execution_continued_as_new_event_attributes")
                else None
            )
        await engine.dispose()
    await env.shutdown()


async def main(args: list[str]) -> None:
    """Record the named scenarios (all when none is named) under a label (default: today)."""
    label = f"{date.today():%Y%m%d}"
    if args and args[0].startswith("--label="):
        label, args = args[0].removeprefix("--label="), args[1:]
    assert "_" not in label, "a label names the recording: no underscore"
    HISTORIES.mkdir(exist_ok=True)
    for name in args or list(SCENARIOS):
        await record(name, SCENARIOS[name], HISTORIES, label)
        print(f"recorded {name}")


if __name__ == "__main__":
    # Only the scenarios named, so a second recording on one day rewrites no other history;
    # `--label=20261130b` keeps a second recording of the same day beside the first.
    asyncio.run(main(sys.argv[1:]))
