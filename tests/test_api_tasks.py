"""Tasks through the API with the real workflow and worker: the approval stage end to end."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from crc.stages import Stage
from crc.tables import Task, TaskClaim
from tests import factories
from tests.web_helpers import World, count_rows, open_task, user, web_world

OFFICES = ["chief_of_mission", "planning", "resource_management"]


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


def kinds(deployment: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in deployment["timeline"]]


def held_at_vetting(deployment: dict[str, Any]) -> bool:
    """Approved and waiting at VETTING for a review (the test members' passports fail it)."""
    return deployment["stage"] == Stage.VETTING and any(
        t["kind"] == "vetting_review" for t in deployment["open_tasks"]
    )


async def test_all_offices_approve_moves_to_vetting(world: World) -> None:
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    assert sorted(tasks) == OFFICES
    for task in tasks.values():
        assert task["kind"] == "approval"
        assert task["stage"] == Stage.APPROVAL
        assert task["outcomes"] == ["approve", "reject", "request_changes"]
        assert task["status"] == "open"
        assert task["due_at"] is not None
    for role, task in tasks.items():
        response = await world.complete(task["id"], role, "approve", comment=f"{role} agrees")
        assert response.status_code == 200, response.text
        done = response.json()
        assert (done["status"], done["outcome"], done["completed_by"]) == (
            "completed",
            "approve",
            role,
        )
        assert done["comment"] == f"{role} agrees"
    final = await world.wait_for(created["id"], held_at_vetting)
    assert kinds(final)[:6] == [
        "requested",
        "approval_opened",
        "approved",
        "approved",
        "approved",
        "stage_changed",
    ]
    assert final["timeline"][5]["message"] == "All offices approved; vetting next"
    assert [e["actor"] for e in final["timeline"] if e["kind"] == "approved"] == list(tasks)


async def test_standby_member_needs_home_agency_too(world: World) -> None:
    created = await world.submit(member=world.standby)
    tasks = await world.open_tasks(created["id"], 4)
    assert sorted(tasks) == sorted([*OFFICES, "home_agency"])
    for role in OFFICES:
        assert (await world.complete(tasks[role]["id"], role, "approve")).status_code == 200
    waiting = await world.deployment(created["id"])
    assert waiting["stage"] == Stage.APPROVAL
    assert [t["role"] for t in waiting["open_tasks"]] == ["home_agency"]
    response = await world.complete(tasks["home_agency"]["id"], "home_agency", "approve")
    assert response.status_code == 200
    await world.wait_for(created["id"], held_at_vetting)


async def test_one_rejection_rejects(world: World) -> None:
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    assert (await world.complete(tasks["planning"]["id"], "planning", "approve")).status_code == 200
    response = await world.complete(
        tasks["chief_of_mission"]["id"], "chief_of_mission", "reject", comment="No clearance"
    )
    assert response.status_code == 200
    # The decision is recorded when the answer comes; the run rejects the request right after.
    final = await world.wait_for(created["id"], lambda d: d["stage"] == Stage.REJECTED)
    assert final["open_tasks"] == []
    late = await world.complete(tasks["resource_management"]["id"], "resource_management", "approve")
    assert late.status_code == 409


async def test_request_changes_amend_and_approve(world: World) -> None:
    created = await world.submit()
    first = await world.open_tasks(created["id"], 3)
    response = await world.complete(
        first["resource_management"]["id"],
        "resource_management",
        "request_changes",
        comment="Shorten the stay",
    )
    assert response.status_code == 200
    returned = await world.wait_for(created["id"], lambda d: d["status"] != "Awaiting approvals")
    assert returned["stage"] == Stage.APPROVAL
    assert returned["status"].startswith("Changes requested")
    assert returned["open_tasks"] == []
    statuses = {}
    async with world.app.state.sessionmaker() as session:
        for task in first.values():
            row = await session.get(Task, task["id"])
            assert row is not None
            statuses[row.role] = row.status
    assert statuses == {
        "planning": "cancelled",
        "chief_of_mission": "cancelled",
        "resource_management": "completed",
    }

    amended = await world.http.post(
        f"/api/v1/deployments/{created['id']}/amend",
        json={"duration_days": 60, "justification": "Shorter, as asked.", "comment": "Done"},
        headers=await world.headers("requester"),
    )
    assert amended.status_code == 200, amended.text
    body = amended.json()
    assert (body["duration_days"], body["justification"], body["revision"]) == (
        60,
        "Shorter, as asked.",
        2,
    )
    second = await world.open_tasks(created["id"], 3)
    assert not set(t["id"] for t in second.values()) & set(t["id"] for t in first.values())
    for role, task in second.items():
        assert (await world.complete(task["id"], role, "approve")).status_code == 200
    final = await world.wait_for(created["id"], held_at_vetting)
    assert final["end_date"] == body["end_date"]
    assert kinds(final)[:11] == [
        "requested",
        "approval_opened",
        "changes_requested",
        "tasks_withdrawn",
        "returned_for_changes",
        "amended",
        "approval_opened",
        "approved",
        "approved",
        "approved",
        "stage_changed",
    ]


async def test_amend_refusals(world: World) -> None:
    created = await world.submit()
    await world.open_tasks(created["id"], 3)
    path = f"/api/v1/deployments/{created['id']}/amend"
    not_waiting = await world.http.post(
        path, json={"comment": "early"}, headers=await world.headers("requester")
    )
    assert not_waiting.status_code == 409
    not_theirs = await world.http.post(
        path, json={"comment": "mine now"}, headers=await world.headers("admin")
    )
    assert not_theirs.status_code == 403
    early = await world.http.post(path, json={"duration_days": 30}, headers=await world.headers("requester"))
    assert (early.status_code, early.json()) == (409, {"detail": "the request is not waiting for changes"})
    invalid = await world.http.post(path, json={"duration_days": 0}, headers=await world.headers("requester"))
    assert invalid.status_code == 422
    assert [e["loc"] for e in invalid.json()["detail"]] == [["body", "duration_days"]]
    missing = await world.http.post(
        "/api/v1/deployments/nope/amend", json={}, headers=await world.headers("requester")
    )
    assert missing.status_code == 404


async def test_complete_refusals_before_the_workflow(world: World) -> None:
    both = user("planner_requester", ["planning", "requester"])
    await world.add(both)
    created = await world.submit("planner_requester")
    tasks = await world.open_tasks(created["id"], 3, "planner_requester")
    planning = tasks["planning"]["id"]

    unknown = await world.complete("no-such-task", "planning", "approve")
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "no task has this id"})
    wrong_role = await world.complete(planning, "resource_management", "approve")
    assert wrong_role.status_code == 403
    assert wrong_role.json() == {"detail": "this task is for the planning role"}
    own = await world.complete(planning, "planner_requester", "approve")
    assert (own.status_code, own.json()) == (403, {"detail": "nobody may decide on their own request"})
    bad_outcome = await world.complete(planning, "planning", "maybe")
    assert bad_outcome.status_code == 422
    assert [e["loc"] for e in bad_outcome.json()["detail"]] == [["body", "outcome"]]
    assert (await world.complete(planning, "planning", "approve")).status_code == 200
    again = await world.complete(planning, "planning", "approve")
    assert (again.status_code, again.json()) == (409, {"detail": "the task is already completed"})
    no_body = await world.http.post(
        f"/api/v1/tasks/{planning}/complete", json={}, headers=await world.headers("planning")
    )
    assert no_body.status_code == 422


async def test_workflow_validator_has_the_last_word(world: World) -> None:
    """When the read-model would allow a decision, the workflow still refuses it."""
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    planning = tasks["planning"]["id"]
    async with world.app.state.sessionmaker() as session:
        row = await session.get(Task, planning)
        assert row is not None
        row.role = "resource_management"
        row.outcomes = ["approve", "reject", "request_changes", "maybe"]
        await session.commit()
    wrong_role = await world.complete(planning, "resource_management", "approve")
    assert wrong_role.status_code == 403
    assert wrong_role.json() == {"detail": "this task is for the planning role"}
    bad_outcome = await world.complete(planning, "planning", "maybe")
    assert bad_outcome.status_code == 403  # the read-model's role check comes first
    async with world.app.state.sessionmaker() as session:
        row = await session.get(Task, planning)
        assert row is not None
        row.role = "planning"
        await session.commit()
    bad_outcome = await world.complete(planning, "planning", "maybe")
    assert bad_outcome.status_code == 422
    assert [e["loc"] for e in bad_outcome.json()["detail"]] == [["body", "outcome"]]


async def test_task_list_for_the_callers_roles(world: World) -> None:
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)

    async def listed(username: str, query: str = "") -> list[str]:
        response = await world.http.get(f"/api/v1/tasks{query}", headers=await world.headers(username))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return [t["id"] for t in body["items"]]

    assert await listed("planning") == [tasks["planning"]["id"]]
    assert await listed("requester") == []
    assert await listed("director") == []
    assert await listed("planning", f"?deployment_id={created['id']}") == [tasks["planning"]["id"]]
    assert await listed("planning", "?deployment_id=other") == []
    assert await listed("planning", "?kind=approval") == [tasks["planning"]["id"]]
    assert await listed("planning", "?kind=vetting_review") == []
    unknown = await world.http.get("/api/v1/tasks?kind=vetting", headers=await world.headers("planning"))
    assert (unknown.status_code, [e["loc"] for e in unknown.json()["detail"]]) == (422, [["query", "kind"]])
    assert await listed("planning", "?overdue=true") == []
    async with world.app.state.sessionmaker() as session:
        row = await session.get(Task, tasks["planning"]["id"])
        assert row is not None
        row.due_at = datetime.now(UTC) - timedelta(minutes=1)
        row.escalated = True
        await session.commit()
    assert await listed("planning", "?overdue=true") == [tasks["planning"]["id"]]
    assert await listed("director") == [tasks["planning"]["id"]]


async def test_director_decides_an_escalated_task(world: World, temporal_env: WorkflowEnvironment) -> None:
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    planning = tasks["planning"]["id"]
    refused = await world.complete(planning, "director", "approve")
    assert refused.status_code == 403
    # Let the workflow's own timer escalate: skip just past the due time (Active: 24 h).
    due = world.app.state.settings.CRC_APPROVAL_DUE_ACTIVE_HOURS * 3600
    await temporal_env.sleep(due + 60)
    await world.wait_for(created["id"], lambda d: all(t["escalated"] for t in d["open_tasks"]))
    response = await world.complete(planning, "director", "approve")
    assert response.status_code == 200, response.text
    assert response.json()["completed_by"] == "director"
    remaining = (await world.deployment(created["id"]))["open_tasks"]
    assert sorted(t["role"] for t in remaining) == ["chief_of_mission", "resource_management"]


async def test_a_decision_releases_the_deciders_claim(world: World) -> None:
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    task_id = tasks["planning"]["id"]
    now = datetime.now(UTC)
    await world.add(
        TaskClaim(task_id=task_id, username="planning", claimed_at=now, expires_at=now + timedelta(hours=4))
    )
    response = await world.complete(task_id, "planning", "approve")
    assert response.status_code == 200, response.text
    assert await count_rows(world.engine, select(TaskClaim)) == 0


async def test_deployment_says_what_it_waits_for_and_what_is_open(world: World) -> None:
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    current = await world.deployment(created["id"])
    assert (current["waiting_for"], current["due_at"]) == ("approvals", tasks["planning"]["due_at"])
    actions = {a["action"]: a for a in current["actions"]}
    assert [name for name, a in actions.items() if a["open"]] == ["cancel"]
    assert actions["cancel"] == {
        "action": "cancel",
        "open": True,
        "reason": None,
        "roles": ["admin", "director"],
        "requester": True,
        "member": False,
    }
    assert actions["amend"]["reason"] == "the request is not waiting for changes"
    response = await world.complete(tasks["planning"]["id"], "planning", "request_changes", comment="Shorter")
    assert response.status_code == 200, response.text
    returned = await world.wait_for(created["id"], lambda d: d["waiting_for"] == "amendment")
    assert (returned["due_at"], [a["action"] for a in returned["actions"] if a["open"]]) == (
        None,
        ["cancel", "amend"],
    )


async def test_the_task_list_counts_every_match_and_pages_by_cursor(world: World) -> None:
    assert world.member.id is not None
    [deployment_id] = await factories.deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code
    )
    now = datetime.now(UTC)
    # More than the old cap of 500, some with no due time (they come last).
    tasks = [
        open_task(deployment_id, due_at=None if i % 97 == 0 else now + timedelta(minutes=i % 300))
        for i in range(520)
    ]
    await world.add(*tasks)
    headers = await world.headers("planning")
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        # Pasted into the URL as it is, as a shell script would: the cursor needs no escaping.
        url = "/api/v1/tasks?limit=200" + (f"&cursor={cursor}" if cursor else "")
        answer = (await world.http.get(url, headers=headers)).json()
        assert answer["total"] == 520
        seen += [t["id"] for t in answer["items"]]
        pages += 1
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    expected = sorted(tasks, key=lambda t: (t.due_at is None, t.due_at or now, t.created_at, t.id))
    assert (pages, seen) == (3, [t.id for t in expected])
    first = (await world.http.get("/api/v1/tasks", headers=headers)).json()
    assert (len(first["items"]), first["total"]) == (50, 520)
    approvals = await world.http.get("/api/v1/tasks", params={"kind": "kit_receipt"}, headers=headers)
    assert approvals.json() == {"items": [], "total": 0, "next_cursor": None}
    bad = await world.http.get("/api/v1/tasks", params={"cursor": "x~y"}, headers=headers)
    assert bad.status_code == 422
    assert "must be a place in the list, as its page links give it" in bad.text
    too_many = await world.http.get("/api/v1/tasks", params={"limit": 201}, headers=headers)
    assert too_many.status_code == 422
