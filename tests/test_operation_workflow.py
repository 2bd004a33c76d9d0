"""OperationWorkflow on the time-skipping server with the real activities and the web API:
approvals, fills that start child deployments, the dates, and a cancel that cascades."""

from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from crc import names
from crc.db import session_factory
from crc.operation_tables import OperationDeployment, OperationEvent
from crc.operations import OperationOutcome, OperationStatus, operation_workflow_id
from crc.stages import Stage
from crc.tables import Deployment
from crc.types import DeploymentOutcome
from tests.lifecycle_world import add_world, seats_taken
from tests.operation_helpers import (
    approved,
    cleared_members,
    create,
    operations_world,
    position_body,
    post,
    read,
    wait_status,
)
from tests.web_helpers import World
from tests.workflow_helpers import db_events, decide, eventually, wait_until


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with operations_world(engine, temporal_client, task_queue) as w:
        yield w


async def audit_kinds(engine: AsyncEngine, operation_id: str) -> list[str]:
    async with session_factory(engine)() as session:
        rows = await session.exec(
            select(OperationEvent)
            .where(OperationEvent.operation_id == operation_id)
            .order_by(col(OperationEvent.id))
        )
        return [r.kind for r in rows.all()]


async def stage_of(engine: AsyncEngine, deployment_id: str) -> str:
    async with session_factory(engine)() as session:
        row = await session.get(Deployment, deployment_id, populate_existing=True)
        assert row is not None
        return row.stage


async def test_both_offices_approve_then_a_fill_starts_child_deployments(world: World) -> None:
    created = await create(world, world.post.code)
    operation_id = created["id"]
    assert created["status"] == "DRAFT"
    position = created["positions"][0]
    members = await cleared_members(world, 2)
    fill = f"/{operation_id}/positions/{position['id']}/fill"

    early = await post(world, fill, "planning", {"member_ids": members})
    assert (early.status_code, early.json()["detail"]) == (409, "the operation is DRAFT")
    first = await post(world, f"/{operation_id}/approve", "resource_management", {})
    assert (first.status_code, first.json()["status"]) == (200, "DRAFT")
    again = await post(world, f"/{operation_id}/approve", "resource_management", {})
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "your office has already approved this operation",
    )
    second = await post(world, f"/{operation_id}/approve", "director", {})
    assert second.status_code == 200
    await wait_status(world, operation_id, "APPROVED")

    filled = await post(world, fill, "planning", {"member_ids": members})
    assert filled.status_code == 200, filled.text
    body = filled.json()
    assert body["status"] == "STAFFING"
    (staffed,) = body["positions"]
    assert (staffed["count"], staffed["filled"], len(staffed["deployment_ids"])) == (2, 2, 2)
    assert sorted(d["member_id"] for d in staffed["deployments"]) == sorted(members)

    for deployment_id in staffed["deployment_ids"]:
        # A child of the operation, seen by the read-model and the API like any request.
        described = await world.temporal.get_workflow_handle(
            names.deployment_workflow_id(deployment_id)
        ).describe()
        assert (described.workflow_type, described.parent_id) == (
            names.WORKFLOW_NAME,
            operation_workflow_id(operation_id),
        )
        tasks = await world.open_tasks(deployment_id, 3, username="planning")
        assert sorted(tasks) == ["chief_of_mission", "planning", "resource_management"]
        detail = await world.deployment(deployment_id, username="planning")
        assert (detail["requested_by"], detail["post_code"], detail["duration_days"]) == (
            "planning",
            world.post.code,
            60,
        )
    async with session_factory(world.engine)() as session:
        links = (await session.exec(select(OperationDeployment))).all()
        assert sorted(link.deployment_id for link in links) == sorted(staffed["deployment_ids"])
        assert {link.position_id for link in links} == {position["id"]}

    full = await post(world, fill, "planning", {"member_ids": await cleared_members(world, 1)})
    assert (full.status_code, full.json()["detail"]) == (409, "the position has 0 of 2 places left")
    assert await audit_kinds(world.engine, operation_id) == [
        "approved",
        "approved",
        "status_changed",
        "position_filled",
        "position_filled",
        "status_changed",
    ]


async def test_the_dates_move_it_to_active_then_closing_and_closed(
    world: World, temporal_env: WorkflowEnvironment
) -> None:
    operation = await approved(world, world.post.code)
    await temporal_env.sleep(timedelta(days=46))
    assert (await wait_status(world, operation["id"], "ACTIVE"))[
        "note"
    ] == f"Started on {operation['start_date']}"
    await temporal_env.sleep(timedelta(days=91))  # past the end date: no deployment keeps it open
    await wait_status(world, operation["id"], "CLOSED")
    handle = world.temporal.get_workflow_handle(
        operation_workflow_id(operation["id"]), result_type=OperationOutcome
    )
    outcome = await handle.result()
    assert (outcome.status, outcome.reason) == (OperationStatus.CLOSED, "")
    assert await audit_statuses(world.engine, operation["id"]) == ["APPROVED", "ACTIVE", "CLOSING", "CLOSED"]


async def audit_statuses(engine: AsyncEngine, operation_id: str) -> list[str]:
    async with session_factory(engine)() as session:
        rows = await session.exec(
            select(OperationEvent)
            .where(OperationEvent.operation_id == operation_id, OperationEvent.kind == "status_changed")
            .order_by(col(OperationEvent.id))
        )
        return [str((r.data or {})["status"]) for r in rows.all()]


async def test_cancel_cascades_to_the_deployments_with_their_compensation(
    world: World, temporal_env: WorkflowEnvironment
) -> None:
    await add_world(world.engine, world.post.code)
    operation = await approved(world, world.post.code)
    position = operation["positions"][0]
    members = await cleared_members(world, 2)
    fill = f"/{operation['id']}/positions/{position['id']}/fill"
    staffed = (await post(world, fill, "planning", {"member_ids": members})).json()["positions"][0]
    training, waiting = staffed["deployment_ids"]
    # One deployment is approved and enrolled in its two courses; the other still waits for approvals.
    handle = world.temporal.get_workflow_handle(names.deployment_workflow_id(training))
    approvals = await wait_until(handle, lambda s: len(s.open_tasks) == 3)
    for task in approvals.open_tasks:
        await decide(handle, task.id, "approve", user=f"{task.role}.officer", roles=[task.role])
    await wait_until(handle, lambda s: [t.kind for t in s.open_tasks] == ["training_result"] * 2)
    assert await seats_taken(world.engine) == 2

    refused = await post(world, f"/{operation['id']}/cancel", "requester", {"reason": "Ceasefire collapsed"})
    assert refused.status_code == 403
    cancelled = await post(world, f"/{operation['id']}/cancel", "planning", {"reason": "Ceasefire collapsed"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CLOSING"

    for deployment_id in (training, waiting):
        outcome = await world.temporal.get_workflow_handle(
            names.deployment_workflow_id(deployment_id), result_type=DeploymentOutcome
        ).result()
        assert outcome.stage == Stage.CANCELLED
        assert outcome.reason == (
            "Cancelled by operation Juba stabilization: cancelled by planning: Ceasefire collapsed"
        )
    assert await seats_taken(world.engine) == 0  # the training deployment's compensation ran
    kinds = [e.kind for e in await db_events(world.engine, training)]
    assert kinds[-2:] == ["compensated", "cancelled"]
    assert [e.kind for e in await db_events(world.engine, waiting)][-1] == "cancelled"

    result = await world.temporal.get_workflow_handle(
        operation_workflow_id(operation["id"]), result_type=OperationOutcome
    ).result()
    assert (result.status, result.reason) == (OperationStatus.CANCELLED, "Ceasefire collapsed")
    final = await wait_status(world, operation["id"], "CANCELLED")
    assert [(p["filled"], sorted(d["stage"] for d in p["deployments"])) for p in final["positions"]] == [
        (0, ["CANCELLED", "CANCELLED"])
    ]
    assert await audit_statuses(world.engine, operation["id"]) == [
        "APPROVED",
        "STAFFING",
        "CLOSING",
        "CANCELLED",
    ]
    again = await post(world, f"/{operation['id']}/cancel", "planning", {"reason": "twice"})
    assert again.status_code == 409


async def test_cutting_a_position_cancels_its_deployments_and_frees_nothing_else(world: World) -> None:
    operation = await approved(
        world,
        world.post.code,
        positions=[{**position_body(), "role_title": "Judge"}, {**position_body(), "count": 1}],
    )
    judges, other = operation["positions"]
    members = await cleared_members(world, 2)
    await post(
        world, f"/{operation['id']}/positions/{judges['id']}/fill", "planning", {"member_ids": members[:1]}
    )
    await post(
        world, f"/{operation['id']}/positions/{other['id']}/fill", "planning", {"member_ids": members[1:]}
    )
    cut = await post(
        world, f"/{operation['id']}/positions/{judges['id']}/cut", "planning", {"reason": "Courts closed"}
    )
    assert cut.status_code == 200, cut.text
    assert [p["cut"] for p in cut.json()["positions"]] == [True, False]
    after = await read(world, operation["id"])
    cut_deployment = after["positions"][0]["deployment_ids"][0]
    kept = after["positions"][1]["deployment_ids"][0]
    await eventually(partial(stage_of, world.engine, cut_deployment), lambda s: s == "CANCELLED")
    assert await stage_of(world.engine, kept) == "APPROVAL"
    gone = await post(
        world, f"/{operation['id']}/positions/{judges['id']}/fill", "planning", {"member_ids": [1]}
    )
    assert gone.status_code == 404
