"""PostDepartureWorkflow on the time-skipping server with the real activities and the web API: an
ordered departure of a post with ten members at it and one not yet travelling, which ends only
when every member is accounted for and out; and who may order one (403/404/409/422)."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from crc import names
from crc.departures import DepartureOutcome, DepartureStatus
from crc.stages import Stage
from crc.types import Decision, DecisionResult, DeploymentStatus
from tests.departure_helpers import order, read, resumed_at, roll_call_until
from tests.lifecycle_world import add_world
from tests.web_helpers import World, user, web_world
from tests.workflow_helpers import db_events, decide, wait_until

MEMBERS = 10
REASON = "Fighting in the capital"


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


def by_deployment(departure: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["deployment_id"]: row for row in departure["roll_call"]}


async def accountability_task(world: World, deployment_id: str) -> str:
    """The deployment's open roll-call task, once its return travel is booked."""
    detail = await world.wait_for(
        deployment_id,
        lambda d: (
            d["stage"] == "REDEPLOYMENT"
            and any(t["kind"] == "departure_accountability" for t in d["open_tasks"])
        ),
        username="operations",
    )
    (task,) = [t for t in detail["open_tasks"] if t["kind"] == "departure_accountability"]
    return str(task["id"])


async def test_an_ordered_departure_ends_only_when_every_member_is_accounted_for_and_out(
    world: World, task_queue: str, temporal_env: WorkflowEnvironment
) -> None:
    code = world.post.code
    await add_world(world.engine, code)  # kit in stock for the member still equipping
    now = await temporal_env.get_current_time()
    deployed = await resumed_at(world, task_queue, Stage.DEPLOYED, MEMBERS, now=now)
    (equipping,) = await resumed_at(world, task_queue, Stage.EQUIPPING, 1, now=now)
    held = world.temporal.get_workflow_handle(names.deployment_workflow_id(equipping))
    receipt = await wait_until(held, lambda s: [t.kind for t in s.open_tasks] == ["kit_receipt"])

    ordered = await order(world, code)
    assert ordered.status_code == 201, ordered.text
    body = ordered.json()
    assert (body["post_code"], body["kind"], body["status"], body["ordered_by"]) == (
        code,
        "ordered",
        "UNDER_WAY",
        "director",
    )
    assert body["workflow_id"] == f"post-departure-{code}-1"
    again = await order(world, code, kind="authorized")
    assert (again.status_code, again.json()["detail"]) == (409, f"a departure of {code} is already under way")

    # The member not yet travelling, told of the order, finishes equipping, then waits before TRAVEL.
    await wait_until(held, lambda s: any(t.kind == "departure_ordered" for t in s.timeline))
    await decide(held, receipt.open_tasks[0].id, "acknowledge", user="logistics", roles=["logistics"])
    waiting = await wait_until(held, lambda s: s.status.startswith("Held"))
    assert (waiting.stage, waiting.status) == (Stage.EQUIPPING, f"Held: ordered departure of {code}")

    # Every member at the post: an urgent task to account for them, and return travel booked.
    tasks = {d: await accountability_task(world, d) for d in deployed}
    departure = await roll_call_until(
        world,
        code,
        lambda d: all(r["return_booked_at"] for r in d["roll_call"] if r["deployment_id"] in tasks),
    )
    rows = by_deployment(departure)
    assert {d: (rows[d]["standing"], rows[d]["settled"]) for d in deployed} == {
        d: ("in_transit", False) for d in deployed
    }
    assert (rows[equipping]["standing"], rows[equipping]["settled"]) == ("held", True)
    assert all(rows[d]["departed_at"] is not None for d in deployed)

    first, *others, last = deployed
    # The member answers for themselves; Operations for the others, on their behalf.
    member_handle = world.temporal.get_workflow_handle(names.deployment_workflow_id(first))
    by_member = Decision(
        task_id=tasks[first],
        outcome="accounted_for",
        user="member.self",
        roles=["member"],
        member_id=rows[first]["member_id"],
    )
    await member_handle.execute_update(names.UPDATE_DECIDE, by_member, result_type=DecisionResult)
    for deployment_id in others:
        done = await world.complete(tasks[deployment_id], "operations", "accounted_for")
        assert done.status_code == 200, done.text
    departure = await roll_call_until(
        world, code, lambda d: sum(r["settled"] for r in d["roll_call"]) == MEMBERS
    )
    assert departure["status"] == "UNDER_WAY"
    assert [r["deployment_id"] for r in departure["roll_call"] if not r["settled"]] == [last]
    handle = world.temporal.get_workflow_handle(body["workflow_id"], result_type=DepartureOutcome)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert (await held.query(names.QUERY_STATUS, result_type=DeploymentStatus)).status.startswith("Held")

    done = await world.complete(tasks[last], "operations", "accounted_for")
    assert done.status_code == 200, done.text
    outcome = await handle.result()
    assert (outcome.status, outcome.members) == (DepartureStatus.COMPLETED, MEMBERS + 1)
    final = await roll_call_until(world, code, lambda d: d["status"] == "COMPLETED")
    assert final["ended_at"] is not None
    assert all(r["settled"] for r in final["roll_call"])
    assert {r["accounted_by"] for r in final["roll_call"] if r["deployment_id"] in tasks} == {
        "member.self",
        "operations",
    }
    assert final["audit"][-1]["message"] == (
        f"Every member accounted for and out ({MEMBERS} brought out); "
        f"the ordered departure of {code} is complete"
    )
    # The departure over, the held member goes on to TRAVEL.
    await wait_until(held, lambda s: s.stage == Stage.TRAVEL)

    kinds = [e.kind for e in await db_events(world.engine, last)]
    assert kinds.count("departure_ordered") == 2  # the order, and the task it opened
    assert "curtailed" in kinds and "departure_accountability.accounted_for" in kinds
    events = await db_events(world.engine, last)
    (curtailed,) = [e for e in events if e.kind == "curtailed"]
    assert curtailed.message == f"Early return ordered by Director: Ordered departure of {code}: {REASON}"


async def test_only_the_operations_director_orders_with_a_kind_and_a_reason(world: World) -> None:
    code = world.post.code
    assert (await order(world, code, username="operations")).status_code == 403
    await world.add(user("director_planning", ["director"], scopes={"director": ["planning"]}))
    scoped = await order(world, code, username="director_planning")
    assert (scoped.status_code, scoped.json()["detail"]) == (
        403,
        "only the Operations director may order a post's departure",
    )
    bad_kind = await order(world, code, kind="voluntary")
    assert bad_kind.status_code == 422
    assert [e["loc"] for e in bad_kind.json()["detail"]] == [["body", "kind"]]
    no_reason = await order(world, code, reason="  ")
    assert [e["loc"] for e in no_reason.json()["detail"]] == [["body", "reason"]]
    unknown = await order(world, "NOWHERE")
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no post has this code")
    never = await world.http.get(f"/api/v1/posts/{code}/departure", headers=await world.headers("operations"))
    assert (never.status_code, never.json()["detail"]) == (404, f"{code} has had no departure")
    hidden = await world.http.get(f"/api/v1/posts/{code}/departure", headers=await world.headers("requester"))
    assert hidden.status_code == 403

    # A post with nobody at it: the departure is over at once.
    await world.add(user("director_operations", ["director"], scopes={"director": ["operations"]}))
    ordered = await order(world, code, username="director_operations", kind="authorized")
    assert ordered.status_code == 201, ordered.text
    done = await roll_call_until(world, code, lambda d: d["status"] == "COMPLETED")
    assert (done["kind"], done["roll_call"]) == ("authorized", [])
    assert [e["kind"] for e in (await read(world, code))["audit"]] == ["ordered", "completed"]
