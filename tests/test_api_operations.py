"""/api/v1/operations: who may do what (403), fields named in 422s, 404s, and the audited plan."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.db import session_factory
from crc.operation_tables import Operation, OperationPosition
from crc.operations import operation_workflow_id
from tests.operation_helpers import (
    approved,
    cleared_members,
    create,
    day,
    operation_body,
    operations_world,
    position_body,
    post,
    read,
    wait_status,
)
from tests.web_helpers import World, count_rows, user


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with operations_world(engine, temporal_client, task_queue) as w:
        yield w


def fields(response: Any) -> list[tuple[list[Any], str]]:
    """The (loc, msg) of each field a 422 names."""
    assert response.status_code == 422, response.text
    return [(e["loc"], e["msg"]) for e in response.json()["detail"]]


async def test_planning_creates_a_draft_with_its_plan(world: World) -> None:
    created = await create(world, world.post.code)
    assert (created["status"], created["lead"], created["created_by"]) == ("DRAFT", "planning", "planning")
    assert created["workflow_id"] == operation_workflow_id(created["id"])
    (position,) = created["positions"]
    assert {k: position[k] for k in ("count", "filled", "deployment_ids", "post_code", "cut")} == {
        "count": 2,
        "filled": 0,
        "deployment_ids": [],
        "post_code": world.post.code,
        "cut": False,
    }
    described = await world.temporal.get_workflow_handle(created["workflow_id"]).describe()
    assert described.workflow_type == "OperationWorkflow"
    listed = (await world.http.get("/api/v1/operations", headers=await world.headers("operations"))).json()
    assert (listed["total"], [o["id"] for o in listed["items"]]) == (1, [created["id"]])
    assert await read(world, created["id"], "resource_management") == created


@pytest.mark.parametrize("username", ["requester", "resource_management", "member"])
async def test_only_planning_or_admin_creates(world: World, username: str) -> None:
    response = await world.http.post(
        "/api/v1/operations", json=operation_body(world.post.code), headers=await world.headers(username)
    )
    assert response.status_code == 403
    assert await count_rows(world.engine, select(Operation)) == 0


async def test_an_admin_creates_too(world: World) -> None:
    assert (await create(world, world.post.code, username="admin"))["lead"] == "admin"


async def test_offices_without_need_to_know_see_no_operations(world: World) -> None:
    created = await create(world, world.post.code)
    headers = await world.headers("requester")
    assert (await world.http.get("/api/v1/operations", headers=headers)).status_code == 403
    assert (await world.http.get(f"/api/v1/operations/{created['id']}", headers=headers)).status_code == 403
    missing = await world.http.get("/api/v1/operations/nope", headers=await world.headers("planning"))
    assert (missing.status_code, missing.json()["detail"]) == (404, "no operation has this id")


async def test_each_bad_field_is_named(world: World) -> None:
    body = operation_body(
        world.post.code,
        post_codes=[world.post.code, "NOWHERE"],
        start_date=day(-1),
        positions=[position_body(post_code="ELSEWHERE", start_date=day(-2)), position_body(sector="piracy")],
    )
    response = await world.http.post("/api/v1/operations", json=body, headers=await world.headers("planning"))
    assert [loc for loc, _ in fields(response)] == [["body", "positions", 1, "sector"]]
    body["positions"] = [position_body(post_code="ELSEWHERE", start_date=day(-2))]
    response = await world.http.post("/api/v1/operations", json=body, headers=await world.headers("planning"))
    assert fields(response) == [
        (["body", "post_codes", "1"], "no post has this code"),
        (["body", "start_date"], "must be today or later"),
        (["body", "positions", "0", "post_code"], "must be one of the operation's post_codes"),
        (["body", "positions", "0", "start_date"], "must be today or later"),
    ]
    backwards = operation_body(world.post.code, end_date=day(1))
    response = await world.http.post(
        "/api/v1/operations", json=backwards, headers=await world.headers("planning")
    )
    assert fields(response) == [(["body"], "Value error, end_date must be on or after start_date")]
    assert await count_rows(world.engine, select(Operation)) == 0


async def test_approvals_are_the_planning_director_and_resource_management_only(world: World) -> None:
    created = await create(world, world.post.code)
    approve = f"/{created['id']}/approve"
    assert (await post(world, approve, "planning", {})).status_code == 403
    await world.add(user("director_training", ["director"], scopes={"director": ["training"]}))
    out_of_scope = await post(world, approve, "director_training", {})
    assert (out_of_scope.status_code, out_of_scope.json()["detail"]) == (
        403,
        "only the Planning director or Resource Management may approve",
    )
    wrong_office = await post(world, approve, "resource_management", {"office": "planning"})
    assert wrong_office.status_code == 403
    assert (await post(world, approve, "director", {"office": "treasury"})).status_code == 422
    assert (await post(world, "/nope/approve", "director", {})).status_code == 404


async def test_fill_names_members_who_may_not_go_and_refuses_more_than_the_places(world: World) -> None:
    operation = await approved(world, world.post.code)
    position = operation["positions"][0]
    fill = f"/{operation['id']}/positions/{position['id']}/fill"
    (member,) = await cleared_members(world, 1)
    response = await post(world, fill, "planning", {"member_ids": [member, 999_999]})
    assert fields(response) == [(["body", "member_ids", "1"], "no roster member has this id")]
    assert fields(await post(world, fill, "planning", {"member_ids": []})) == [
        (["body", "member_ids"], "List should have at least 1 item after validation, not 0")
    ]
    three = await cleared_members(world, 2)
    too_many = await post(world, fill, "planning", {"member_ids": [member, *three]})
    assert (too_many.status_code, too_many.json()["detail"]) == (409, "the position has 2 of 2 places left")
    assert (await post(world, fill, "requester", {"member_ids": [member]})).status_code == 403
    missing = await post(
        world, f"/{operation['id']}/positions/nope/fill", "planning", {"member_ids": [member]}
    )
    assert missing.status_code == 404
    assert (await read(world, operation["id"]))["positions"][0]["deployment_ids"] == []


async def test_plan_changes_are_audited_with_before_and_after(world: World) -> None:
    created = await create(world, world.post.code)
    operation_id = created["id"]
    position = created["positions"][0]
    added = await post(
        world, f"/{operation_id}/positions", "planning", position_body(role_title="Judge", count=1)
    )
    assert added.status_code == 201, added.text
    assert [(p["role_title"], p["count"]) for p in added.json()["positions"]] == [
        ("Rule of law adviser", 2),
        ("Judge", 1),
    ]
    changed = await world.http.patch(
        f"/api/v1/operations/{operation_id}/positions/{position['id']}",
        json={"count": 4, "languages": ["ar", "en"]},
        headers=await world.headers("planning"),
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["positions"][0]["count"], changed.json()["positions"][0]["languages"]) == (
        4,
        ["ar", "en"],
    )
    far = await world.http.patch(
        f"/api/v1/operations/{operation_id}/positions/{position['id']}",
        json={"start_date": day(800)},
        headers=await world.headers("planning"),
    )
    assert [loc for loc, _ in fields(far)] == [["body", "start_date"]]
    forbidden = await world.http.patch(
        f"/api/v1/operations/{operation_id}/positions/{position['id']}",
        json={"count": 1},
        headers=await world.headers("operations"),
    )
    assert forbidden.status_code == 403
    cut = await post(
        world, f"/{operation_id}/positions/{position['id']}/cut", "planning", {"reason": "Merged"}
    )
    assert [p["cut"] for p in cut.json()["positions"]] == [True, False]
    no_reason = await post(
        world, f"/{operation_id}/positions/{position['id']}/cut", "planning", {"reason": " "}
    )
    assert [loc for loc, _ in fields(no_reason)] == [["body", "reason"]]

    audit = await world.http.get(
        f"/api/v1/operations/{operation_id}/audit", headers=await world.headers("planning")
    )
    entries = [(e["kind"], e["actor"], e["message"], e["data"]) for e in audit.json()["items"]]
    new_id = added.json()["positions"][1]["id"]
    assert [e[:3] for e in entries] == [
        ("position_added", "planning", "Position added: 1 of Judge"),
        ("position_changed", "planning", "Position changed: Rule of law adviser (count, languages)"),
        ("position_cut", "planning", "Position cut: Rule of law adviser: Merged"),
    ]
    assert entries[0][3]["position_id"] == new_id
    assert entries[1][3] == {
        "position_id": position["id"],
        "changes": {
            "count": {"before": 2, "after": 4},
            "languages": {"before": ["ar"], "after": ["ar", "en"]},
        },
    }
    async with session_factory(world.engine)() as session:
        rows = (
            await session.exec(select(OperationPosition).where(OperationPosition.id == position["id"]))
        ).all()
    assert [(r.count, r.cut) for r in rows] == [(4, True)]


async def test_cancel_by_a_planning_user_ends_a_draft(world: World) -> None:
    created = await create(world, world.post.code)
    cancel = f"/{created['id']}/cancel"
    assert (await post(world, cancel, "operations", {"reason": "No"})).status_code == 403
    assert [loc for loc, _ in fields(await post(world, cancel, "planning", {"reason": ""}))] == [
        ["body", "reason"]
    ]
    cancelled = await post(world, cancel, "planning", {"reason": "Funding withdrawn"})
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "CLOSING")
    ended = await wait_status(world, created["id"], "CANCELLED")
    assert ended["note"] == "Cancelled: Funding withdrawn"
    approve = await post(world, f"/{created['id']}/approve", "director", {})
    assert (approve.status_code, approve.json()["detail"]) == (
        409,
        "the operation is CANCELLED",
    )
