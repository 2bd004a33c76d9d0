"""Deciding through the API with an undo window, and reasons for saying no: the real workflow,
worker and read-model on the time-skipping server."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from crc.tables import Task
from tests.web_helpers import World, user, web_world

UNDO = 10


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


async def undo(world: World, task_id: str, username: str, **headers: str) -> httpx.Response:
    return await world.http.post(
        f"/api/v1/tasks/{task_id}/undo", headers=await world.headers(username) | headers
    )


async def task_row(world: World, task_id: str) -> Task:
    async with world.app.state.sessionmaker() as session:
        row = await session.get(Task, task_id)
        assert row is not None
        return row


async def planning_task(world: World) -> tuple[str, str]:
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    return created["id"], tasks["planning"]["id"]


@pytest.mark.parametrize("outcome", ["reject", "request_changes"])
async def test_saying_no_needs_a_reason(world: World, outcome: str) -> None:
    _, planning = await planning_task(world)
    for body in ({}, {"comment": None}, {"comment": "   "}):
        refused = await world.complete(planning, "planning", outcome, **body)
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["detail"]
        assert (error["loc"], error["msg"]) == (["body", "comment"], "say why in the comment")
    assert (await task_row(world, planning)).status == "open"
    decided = await world.complete(planning, "planning", outcome, comment="Shorter, please")
    assert decided.status_code == 200, decided.text
    assert decided.json()["comment"] == "Shorter, please"


async def test_a_held_decision_answers_202_and_undo_reopens_the_task(world: World) -> None:
    await world.add(user("planner2", ["planning"]))
    deployment_id, planning = await planning_task(world)
    before = datetime.now(UTC)
    held = await world.complete(planning, "planning", "approve", comment="Fine", undo_seconds=UNDO)
    after = datetime.now(UTC)
    assert held.status_code == 202, held.text
    task = held.json()
    assert (task["status"], task["outcome"], task["held_by"], task["held_outcome"]) == (
        "open",
        None,
        "planning",
        "approve",
    )
    held_until = datetime.fromisoformat(task["held_until"])
    assert before + timedelta(seconds=UNDO) <= held_until <= after + timedelta(seconds=UNDO)

    other = await world.complete(planning, "planner2", "reject", comment="No")
    assert (other.status_code, other.json()) == (409, {"detail": "planning decided this task a moment ago"})
    not_theirs = await undo(world, planning, "planner2")
    assert (not_theirs.status_code, not_theirs.json()) == (
        403,
        {"detail": "only planning may undo their decision"},
    )
    unknown = await undo(world, "no-such-task", "planning")
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "no task has this id"})
    unseen = await undo(world, planning, "logistics")  # no work on this deployment: it does not exist
    assert (unseen.status_code, unseen.json()) == (404, {"detail": "no task has this id"})

    undone = await undo(world, planning, "planning")
    assert undone.status_code == 200, undone.text
    reopened = undone.json()
    assert (reopened["status"], reopened["outcome"], reopened["held_by"], reopened["held_until"]) == (
        "open",
        None,
        None,
        None,
    )
    again = await undo(world, planning, "planning")
    assert (again.status_code, again.json()) == (409, {"detail": "there is no decision on this task to undo"})
    timeline = (await world.deployment(deployment_id))["timeline"]
    assert [e["kind"] for e in timeline if e["kind"] in ("approved", "decision.withdrawn")] == [
        "decision.withdrawn"
    ]

    # The task takes a decision again, at once.
    decided = await world.complete(planning, "planner2", "approve")
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["completed_by"]) == ("completed", "planner2")


async def test_undo_after_the_window_is_refused(world: World, temporal_env: WorkflowEnvironment) -> None:
    deployment_id, planning = await planning_task(world)
    held = await world.complete(planning, "planning", "approve", undo_seconds=UNDO)
    assert held.status_code == 202, held.text
    await world.wait_for(deployment_id, lambda d: any(t["held_by"] for t in d["open_tasks"]))
    await temporal_env.sleep(UNDO + 1)
    await world.wait_for(deployment_id, lambda d: planning not in {t["id"] for t in d["open_tasks"]})
    row = await task_row(world, planning)
    assert (row.status, row.outcome, row.held_by, row.held_until) == ("completed", "approve", None, None)
    late = await undo(world, planning, "planning")
    assert (late.status_code, late.json()) == (409, {"detail": "the decision has already taken effect"})


@pytest.mark.parametrize("undo_seconds", [-1, 61, 2.5, "ten"])
async def test_undo_seconds_out_of_range_is_refused(world: World, undo_seconds: object) -> None:
    _, planning = await planning_task(world)
    refused = await world.complete(planning, "planning", "approve", undo_seconds=undo_seconds)
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["detail"]
    assert (error["loc"], error["msg"]) == (["body", "undo_seconds"], "must be a whole number from 0 to 60")
    assert (await task_row(world, planning)).status == "open"


@pytest.mark.parametrize("undo_seconds", [0, UNDO])
async def test_a_double_click_decides_once(world: World, undo_seconds: int) -> None:
    deployment_id, planning = await planning_task(world)
    first, second = await asyncio.gather(
        *(world.complete(planning, "planning", "approve", undo_seconds=undo_seconds) for _ in range(2))
    )
    codes = sorted([first.status_code, second.status_code])
    assert codes == [202 if undo_seconds else 200, 409], (first.text, second.text)
    if undo_seconds:
        assert (await undo(world, planning, "planning")).status_code == 200
    timeline = (await world.deployment(deployment_id))["timeline"]
    decided = [e["kind"] for e in timeline if e["kind"] in ("approved", "decision.withdrawn")]
    assert decided == (["decision.withdrawn"] if undo_seconds else ["approved"])


async def test_an_idempotency_key_holds_and_undoes_once(world: World) -> None:
    _, planning = await planning_task(world)
    key = {"Idempotency-Key": "held-once"}
    body = {"outcome": "approve", "undo_seconds": UNDO}
    url = f"/api/v1/tasks/{planning}/complete"
    first = await world.http.post(url, json=body, headers=await world.headers("planning") | key)
    retry = await world.http.post(url, json=body, headers=await world.headers("planning") | key)
    assert (first.status_code, retry.status_code) == (202, 202)
    assert retry.json() == first.json() and retry.headers["Idempotent-Replayed"] == "true"
    undone = await undo(world, planning, "planning", **{"Idempotency-Key": "undo-once"})
    again = await undo(world, planning, "planning", **{"Idempotency-Key": "undo-once"})
    assert (undone.status_code, again.status_code) == (200, 200)
    assert again.json() == undone.json() and again.headers["Idempotent-Replayed"] == "true"
