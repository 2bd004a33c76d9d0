"""A member without a login: Logistics and Operations complete the member's steps on their behalf."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from crc import names
from crc.progress import WaitingFor
from crc.stages import Stage
from crc.types import Decision, DecisionResult, DeploymentOutcome
from tests import factories
from tests.lifecycle_world import Driver, add_world
from tests.workflow_helpers import db_events, db_tasks, refusal, start, wait_until
from worker import build_worker

MEMBER_NAME = "Ruth Okafor"


@pytest.fixture
async def driver(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> AsyncIterator[Driver]:
    """A 60-day deployment of a roster member who has no login (no user names their member id)."""
    request = await factories.requested_deployment(engine, duration_days=60, name=MEMBER_NAME)
    await add_world(engine, request.post_code)
    async with build_worker(temporal_env.client, engine, task_queue=task_queue):
        await start(temporal_env.client, task_queue, request)
        handle = temporal_env.client.get_workflow_handle(
            names.deployment_workflow_id(request.deployment_id), result_type=DeploymentOutcome
        )
        yield Driver(handle=handle, request=request, env=temporal_env)


def _as(user: str, roles: list[str], *, user_name: str = "") -> dict[str, object]:
    return {"user": user, "roles": roles, "user_name": user_name}


async def _decide(
    driver: Driver, kind: str, outcome: str, who: dict[str, object], **extra: object
) -> DecisionResult:
    task = await driver.task(kind)
    return await driver.handle.execute_update(
        names.UPDATE_DECIDE,
        Decision.model_validate({"task_id": task.id, "outcome": outcome, **who, **extra}),
        result_type=DecisionResult,
    )


async def test_logistics_and_operations_take_a_member_without_a_login_to_completed(
    driver: Driver, engine: AsyncEngine
) -> None:
    await driver.approve_all()
    await driver.pass_training(2)
    # Neither a requester nor another office may acknowledge the kit for the member.
    refused = await refusal(_decide(driver, "kit_receipt", "acknowledge", _as("req.user2", ["requester"])))
    assert (refused.type, refused.message) == (
        names.ERR_WRONG_ROLE,
        "this task is for the deployed member or Logistics on their behalf",
    )
    refused = await refusal(_decide(driver, "kit_receipt", "acknowledge", _as("ops", ["operations"])))
    assert refused.type == names.ERR_WRONG_ROLE
    # Logistics who also asked for this deployment may not act for its member either.
    refused = await refusal(
        _decide(driver, "kit_receipt", "acknowledge", _as("req.user", ["logistics", "requester"]))
    )
    assert (refused.type, refused.message) == (
        names.ERR_OWN_REQUEST,
        "nobody acts on a member's behalf on their own request",
    )
    await _decide(driver, "kit_receipt", "acknowledge", _as("logistics", ["logistics"], user_name="Lee Park"))
    await driver.wait_stage(Stage.TRAVEL)
    await driver.complete("country_clearance", "approve")
    booked = await wait_until(driver.handle, lambda s: s.waiting_for == WaitingFor.ARRIVAL)
    assert booked.arrival_opens_on is not None
    await driver.until(booked.arrival_opens_on)
    arrival = await driver.check_in(location="Juba airport", as_operations=True)
    assert (arrival.arrival, arrival.stage) == (True, Stage.DEPLOYED)
    while await driver.stage() == Stage.DEPLOYED:
        await driver.env.sleep(timedelta(days=7))
        if await driver.stage() == Stage.DEPLOYED:
            await driver.check_in(as_operations=True)
    await driver.wait_stage(Stage.REDEPLOYMENT)
    await driver.complete("kit_return", "returned")
    refused = await refusal(
        _decide(driver, "after_action_report", "done", _as("logistics", ["logistics"]), data={"report": "x"})
    )
    assert refused.message == "this task is for the deployed member or Operations on their behalf"
    await _decide(
        driver,
        "after_action_report",
        "done",
        _as("operations", ["operations"], user_name="Omar Said"),
        data={"report": "Courts reopened in two districts."},
    )
    await driver.complete("medical_out_processing", "done")
    assert (await driver.handle.result()).stage == Stage.COMPLETED

    events = await db_events(engine, driver.request.deployment_id)
    behalf = [(e.kind, e.actor, e.message, e.data) for e in events if e.data and "on_behalf_of" in e.data]
    named = {"on_behalf_of": {"member_id": driver.request.member_id, "name": MEMBER_NAME}}
    kit_title = await _title(engine, driver, "kit_receipt")
    assert behalf[0] == (
        "kit_receipt.acknowledge",
        "logistics",
        f"{kit_title}: acknowledged by Lee Park on behalf of {MEMBER_NAME}",
        named,
    )
    assert behalf[1] == (
        "arrival_check_in",
        "ops.officer",
        f"Arrival check-in at Juba airport: OK, by ops.officer on behalf of {MEMBER_NAME}",
        named,
    )
    assert behalf[-1] == (
        "after_action_report.done",
        "operations",
        f"After-action report for South Sudan: done by Omar Said on behalf of {MEMBER_NAME}",
        named,
    )
    check_ins = [e for e in behalf if e[0] == "check_in"]
    assert len(check_ins) == len(behalf) - 3
    assert all(
        m == f"Check-in at Juba: OK, by ops.officer on behalf of {MEMBER_NAME}" for _, _, m, _ in check_ins
    )


async def _title(engine: AsyncEngine, driver: Driver, kind: str) -> str:
    return next(t.title for t in await db_tasks(engine, driver.request.deployment_id) if t.kind == kind)
