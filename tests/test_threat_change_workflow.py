"""A post's threat level changes under running deployments (the threat_level_changed signal, patch
crc-threat-change): each new need becomes a task, danger pay is re-priced, and what is still to be
decided reads the post as it then is. Time-skipping server, real activities, both databases."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from crc import names
from crc.db import session_factory
from crc.domain import COURSE_FACT, SKU_BALLISTIC_VEST, SKU_HELMET, ClearanceLevel, ThreatLevel
from crc.stages import Stage
from crc.tables import Deployment, Post
from crc.threat import ThreatChange
from crc.types import DeploymentOutcome, DeploymentRequest, DeploymentStatus
from tests import factories
from tests.lifecycle_world import Driver, add_world, kit
from tests.workflow_helpers import db_events, start, wait_until
from worker import build_worker
from workflows.deployment import DeploymentWorkflow


async def _set_post(engine: AsyncEngine, code: str, **fields: Any) -> None:
    async with session_factory(engine).begin() as session:
        post = await session.get(Post, code)
        assert post is not None
        for name, value in fields.items():
            setattr(post, name, value)


def _change(request: DeploymentRequest, previous: str, threat: str, **overrides: Any) -> ThreatChange:
    fields: dict[str, Any] = {
        "key": str(uuid.uuid4()),
        "post_code": request.post_code,
        "previous": previous,
        "threat_level": threat,
        "changed_by": "ops.officer",
        "changed_by_name": "Ops Officer",
        "reason": "Fighting reached the capital",
        "at": datetime.now(UTC),
    }
    fields.update(overrides)
    return ThreatChange(**fields)


@pytest.fixture
async def driver(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> AsyncIterator[Driver]:
    """A 60-day deployment (no FACT for its length) of a SECRET-cleared, untrained member at a
    post of medium threat (individual kit only)."""
    request = await factories.requested_deployment(engine, duration_days=60)
    await _set_post(engine, request.post_code, threat_level=ThreatLevel.MEDIUM.value)
    await add_world(engine, request.post_code)
    async with build_worker(temporal_env.client, engine, task_queue=task_queue):
        await start(temporal_env.client, task_queue, request)
        handle = temporal_env.client.get_workflow_handle(
            names.deployment_workflow_id(request.deployment_id), result_type=DeploymentOutcome
        )
        yield Driver(handle=handle, request=request, env=temporal_env)


async def _open(driver: Driver, count: int) -> DeploymentStatus:
    return await wait_until(driver.handle, lambda s: len(s.open_tasks) == count)


async def _estimate(engine: AsyncEngine, deployment_id: str) -> Decimal | None:
    async with session_factory(engine)() as session:
        row = await session.get(Deployment, deployment_id, populate_existing=True)
        assert row is not None
        return row.cost_estimate_usd


async def _replays(handle: WorkflowHandle[Any, Any]) -> None:
    history = await handle.fetch_history()
    replayer = Replayer(workflows=[DeploymentWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_a_raised_threat_after_equipping_opens_a_task_for_each_new_need(
    driver: Driver, engine: AsyncEngine
) -> None:
    await driver.to_travel()  # orientation and the post briefing passed, individual kit issued
    assert sorted(await kit(engine, driver.request.deployment_id)) == ["KIT-INDIVIDUAL"]
    await _open(driver, 1)  # the country clearance
    before = await _estimate(engine, driver.request.deployment_id)
    assert before is not None

    await _set_post(
        engine,
        driver.request.post_code,
        threat_level=ThreatLevel.CRITICAL.value,
        clearance_required=ClearanceLevel.TOP_SECRET.value,
        danger_pay_pct=Decimal("50"),
    )
    change = _change(driver.request, "medium", "critical", clearance_raised=True, danger_pay_changed=True)
    await driver.handle.signal(names.SIGNAL_THREAT_CHANGE, change)

    current = await _open(driver, 4)
    new = {str(t.kind): t for t in current.open_tasks if t.kind != "country_clearance"}
    member, post = driver.request.member_name, driver.request.post_code
    assert {k: (t.role, t.title, t.outcomes) for k, t in new.items()} == {
        "kit_upgrade": (
            "logistics",
            f"Issue 1 x {SKU_HELMET}, 1 x {SKU_BALLISTIC_VEST} to {member} for {post}: "
            "the threat level is now critical",
            ["done"],
        ),
        "training_needed": (
            "training",
            f"Enrol {member} in {COURSE_FACT} before travel to {post}: the threat level is now critical",
            ["done"],
        ),
        "vetting_review": (
            "security",
            f"Vetting: Security clearance is secret; post {post} requires top secret",
            ["clear"],
        ),
    }
    assert new["kit_upgrade"].context == {"skus": [SKU_HELMET, SKU_BALLISTIC_VEST]}
    assert new["vetting_review"].context == {"check": "clearance", "required_level": "top_secret"}
    # Danger pay from 35% to 50% of the $300 daily salary, for 60 days: $2,700 more.
    after = await _estimate(engine, driver.request.deployment_id)
    assert after == before + Decimal("2700.00")
    assert current.cost_estimate_usd == after
    [event] = [e for e in await db_events(engine, driver.request.deployment_id) if e.kind == "threat_changed"]
    assert event.actor == "ops.officer"
    assert event.message == (
        f"Threat level at {post} changed from medium to critical by Ops Officer: "
        "Fighting reached the capital; "
        f"cost estimate now ${after:,.2f}; "
        f"Logistics: {new['kit_upgrade'].title}; Training: {new['training_needed'].title}; "
        f"Security: {new['vetting_review'].title}"
    )

    # The new tasks are decided like any other, and the deployment goes on meanwhile.
    await driver.decide(new["kit_upgrade"], "done")
    await driver.decide(new["training_needed"], "done")
    renewal = {"level": "top_secret", "valid_until": "2099-01-01"}
    await driver.decide(new["vetting_review"], "clear", data=renewal)
    arrival = await driver.arrive()
    assert arrival.stage == Stage.DEPLOYED

    # Not checked here: the same change told again (a new key) sometimes opens a second clearance
    # review (about 2 runs in 5), because the cleared review's upgrade is not written to the roster
    # before the next vetting check reads it; see README's Known limits.
    await _replays(driver.handle)


async def test_a_change_before_equipping_opens_no_task_the_stages_read_the_post_then(
    driver: Driver, engine: AsyncEngine
) -> None:
    await driver.tasks("approval", 3)
    await _set_post(engine, driver.request.post_code, threat_level=ThreatLevel.CRITICAL.value)
    await driver.handle.signal(names.SIGNAL_THREAT_CHANGE, _change(driver.request, "medium", "critical"))
    logged = await wait_until(driver.handle, lambda s: any(t.kind == "threat_changed" for t in s.timeline))
    assert [t.kind for t in logged.open_tasks] == ["approval"] * 3
    await driver.approve_all()
    # The plan made now asks for FACT (a critical post), and the kit reserved has the vest and helmet.
    await driver.pass_training(3)
    await driver.complete("kit_receipt", "acknowledge")
    assert sorted(await kit(engine, driver.request.deployment_id)) == sorted(
        ["KIT-INDIVIDUAL", SKU_BALLISTIC_VEST, SKU_HELMET]
    )
    await driver.wait_stage(Stage.TRAVEL)
    await _replays(driver.handle)


async def test_a_lowered_threat_asks_for_nothing(driver: Driver, engine: AsyncEngine) -> None:
    await driver.to_travel()
    await _open(driver, 1)
    await _set_post(engine, driver.request.post_code, threat_level=ThreatLevel.LOW.value)
    await driver.handle.signal(names.SIGNAL_THREAT_CHANGE, _change(driver.request, "medium", "low"))
    logged = await wait_until(driver.handle, lambda s: any(t.kind == "threat_changed" for t in s.timeline))
    assert [t.kind for t in logged.open_tasks] == ["country_clearance"]
    assert logged.timeline[-1].message == (
        f"Threat level at {driver.request.post_code} changed from medium to low by Ops Officer: "
        "Fighting reached the capital"
    )
