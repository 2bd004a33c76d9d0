"""POST/GET /api/v1/deployments: validation, idempotency, and no half-written requests."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from crc.dates import add_months
from crc.names import WORKFLOW_NAME, deployment_workflow_id
from crc.stages import Stage
from crc.tables import Deployment
from tests import factories
from tests.request_cases import LOOKED_UP, STATIC, BadField
from tests.web_helpers import (
    World,
    a_post,
    active_member,
    count_rows,
    gather,
    request_body,
    web_world,
)
from web.services.requests import today_utc


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


def days_ahead(n: int) -> str:
    return (today_utc() + timedelta(days=n)).isoformat()


async def test_submit_then_read(world: World) -> None:
    created = await world.submit(start_date=days_ahead(10), duration_days=30)
    assert created["stage"] == Stage.REQUESTED
    assert created["status"] == "Submitted"
    assert created["requested_by"] == "requester"
    assert created["end_date"] == days_ahead(39)
    assert created["workflow_id"] == deployment_workflow_id(created["id"])

    headers = await world.headers("planning")
    listed = (await world.http.get("/api/v1/deployments", headers=headers)).json()
    assert listed["total"] == 1
    assert [d["id"] for d in listed["items"]] == [created["id"]]
    await world.open_tasks(created["id"], 3)  # the worker has started the approval round
    detail = await world.deployment(created["id"], username="planning")
    assert detail["justification"] == created["justification"]
    assert detail["stage"] == Stage.APPROVAL
    assert [e["kind"] for e in detail["timeline"]] == ["requested", "approval_opened"]
    assert sorted(t["role"] for t in detail["open_tasks"]) == [
        "chief_of_mission",
        "planning",
        "resource_management",
    ]

    handle = world.temporal.get_workflow_handle(created["workflow_id"])
    description = await handle.describe()
    assert description.workflow_type == WORKFLOW_NAME
    assert description.task_queue == world.app.state.settings.TEMPORAL_TASK_QUEUE


async def test_admin_may_submit(world: World) -> None:
    created = await world.submit("admin")
    assert created["requested_by"] == "admin"


@pytest.mark.parametrize("bad", [*STATIC, *LOOKED_UP])
async def test_each_invalid_field_is_named(world: World, bad: BadField) -> None:
    response = await world.http.post(
        "/api/v1/deployments",
        json=request_body(world.member, world.post, **{bad.field: bad.json_value()}),
        headers=await world.headers("requester"),
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [(e["loc"], e["type"], e["msg"]) for e in detail] == [(["body", bad.field], bad.type, bad.msg)]
    assert await count_rows(world.engine, select(Deployment)) == 0


async def test_every_bad_field_reported_at_once(world: World) -> None:
    body = request_body(
        world.member,
        world.post,
        member_id=0,
        post_code="",
        sector="",
        role_title="",
        justification=" ",
        start_date="soon",
        duration_days=400,
    )
    response = await world.http.post(
        "/api/v1/deployments", json=body, headers=await world.headers("requester")
    )
    assert response.status_code == 422
    fields = sorted(e["loc"][1] for e in response.json()["detail"])
    assert fields == sorted(
        [
            "member_id",
            "post_code",
            "sector",
            "role_title",
            "justification",
            "start_date",
            "duration_days",
        ]
    )


async def test_every_looked_up_field_reported_at_once(world: World) -> None:
    body = request_body(
        world.member, world.post, member_id=999_999, post_code="NOWHERE", start_date=days_ahead(-3)
    )
    headers = await world.headers("requester")
    looked_up = await world.http.post("/api/v1/deployments", json=body, headers=headers)
    assert looked_up.status_code == 422
    fields = sorted(e["loc"][1] for e in looked_up.json()["detail"])
    assert fields == ["member_id", "post_code", "start_date"]
    # The lookups wait until the model's own rules pass: these answer only for the sector.
    mixed = await world.http.post(
        "/api/v1/deployments", json=body | {"sector": "basket_weaving"}, headers=headers
    )
    assert mixed.status_code == 422
    assert [e["loc"] for e in mixed.json()["detail"]] == [["body", "sector"]]


async def test_wrong_types_answer_fastapi_422(world: World) -> None:
    body = request_body(world.member, world.post, start_date="soon", duration_days="long")
    response = await world.http.post(
        "/api/v1/deployments", json=body, headers=await world.headers("requester")
    )
    assert response.status_code == 422
    locs = sorted(tuple(e["loc"]) for e in response.json()["detail"])
    assert locs == [("body", "duration_days"), ("body", "start_date")]


async def test_standby_within_30_days_needs_urgent_justification(world: World) -> None:
    response = await world.http.post(
        "/api/v1/deployments",
        json=request_body(world.standby, world.post, start_date=days_ahead(29)),
        headers=await world.headers("requester"),
    )
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "urgent_justification"]]

    created = await world.submit(
        member=world.standby,
        start_date=days_ahead(29),
        urgent_justification="Elections in three weeks.",
    )
    assert created["urgent_justification"] == "Elections in three weeks."
    assert created["member_id"] == world.standby.id


async def test_standby_30_days_ahead_needs_no_urgent_justification(world: World) -> None:
    created = await world.submit(member=world.standby, start_date=days_ahead(30))
    assert created["urgent_justification"] is None


async def test_overlapping_deployment_refused(world: World) -> None:
    first = await world.submit(start_date=days_ahead(10), duration_days=30)
    clash = await world.http.post(
        "/api/v1/deployments",
        json=request_body(world.member, world.post, start_date=days_ahead(39), duration_days=5),
        headers=await world.headers("requester"),
    )
    assert clash.status_code == 422
    detail = clash.json()["detail"]
    assert [e["loc"] for e in detail] == [["body", "member_id"]]
    assert first["id"] in detail[0]["msg"]
    # The day after the first one ends is free.
    await world.submit(start_date=days_ahead(40), duration_days=5)
    # A rejected deployment no longer holds the member.
    tasks = await world.open_tasks(first["id"], 3)
    rejected = await world.complete(tasks["planning"]["id"], "planning", "reject", comment="Not this quarter")
    assert rejected.status_code == 200
    # The decision answers once recorded; the run rejects the request right after.
    await world.wait_for(first["id"], lambda d: d["stage"] == Stage.REJECTED)
    await world.submit(start_date=days_ahead(10), duration_days=30)


@pytest.mark.parametrize(("left_on_day", "free"), [(19, True), (20, False)])
async def test_an_early_return_frees_the_rest_of_its_dates(
    world: World, left_on_day: int, free: bool
) -> None:
    # Approved for days 0 to 89, but home on `left_on_day`: a request from day 20 needs it gone.
    assert world.member.id is not None
    today = today_utc()
    await factories.deployment_rows(
        world.engine,
        1,
        member_id=world.member.id,
        post_code=world.post.code,
        start=today,
        duration_days=90,
        stage=Stage.REDEPLOYMENT,
        arrived_on=today,
        left_on=today + timedelta(days=left_on_day),
    )
    response = await world.http.post(
        "/api/v1/deployments",
        json=request_body(world.member, world.post, start_date=days_ahead(20), duration_days=10),
        headers=await world.headers("requester"),
    )
    assert response.status_code == (201 if free else 422), response.text


async def test_same_idempotency_key_returns_same_deployment(world: World) -> None:
    headers = await world.headers("requester") | {"Idempotency-Key": "req-42"}
    body = request_body(world.member, world.post)
    first = await world.http.post("/api/v1/deployments", json=body, headers=headers)
    second = await world.http.post("/api/v1/deployments", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert await count_rows(world.engine, select(Deployment)) == 1


async def test_overlong_idempotency_key_is_refused(world: World) -> None:
    response = await world.http.post(
        "/api/v1/deployments",
        json=request_body(world.member, world.post),
        headers=await world.headers("requester") | {"Idempotency-Key": "k" * 201},
    )
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["header", "idempotency-key"]]


async def test_idempotency_keys_are_per_user(world: World) -> None:
    other = active_member(name="Robin Other")
    await world.add(other)
    key = {"Idempotency-Key": "shared-key"}
    mine = await world.http.post(
        "/api/v1/deployments",
        json=request_body(world.member, world.post),
        headers=await world.headers("requester") | key,
    )
    theirs = await world.http.post(
        "/api/v1/deployments",
        json=request_body(other, world.post),
        headers=await world.headers("admin") | key,
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


async def test_twenty_parallel_posts_with_one_key_make_one_deployment(world: World) -> None:
    headers = await world.headers("requester") | {"Idempotency-Key": "burst-1"}
    body = request_body(world.member, world.post)
    responses = await gather(
        *(world.http.post("/api/v1/deployments", json=body, headers=headers) for _ in range(20))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 19 + [201], [r.text for r in responses if r.status_code >= 300]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    rows = await count_rows(world.engine, select(Deployment))
    assert rows == 1
    (deployment_id,) = ids
    workflow_id = deployment_workflow_id(deployment_id)
    description = await world.temporal.get_workflow_handle(workflow_id).describe()
    assert description.id == workflow_id
    # One run: the first run's id is the only run the workflow id ever had.
    assert description.run_id == description.raw_description.workflow_execution_info.first_run_id


class _TemporalDown:
    """A client whose every call fails as when the Temporal server is unreachable."""

    async def start_workflow(self, *args: Any, **kwargs: Any) -> None:
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")


async def test_temporal_down_leaves_no_row(world: World) -> None:
    world.app.state.temporal_client = _TemporalDown()
    response = await world.http.post(
        "/api/v1/deployments",
        json=request_body(world.member, world.post),
        headers=await world.headers("requester") | {"Idempotency-Key": "k-down"},
    )
    assert response.status_code == 503
    assert "Temporal" in response.json()["detail"]
    assert await count_rows(world.engine, select(Deployment)) == 0
    # Once Temporal is back, the same key makes the request for real.
    world.app.state.temporal_client = world.temporal
    retried = await world.http.post(
        "/api/v1/deployments",
        json=request_body(world.member, world.post),
        headers=await world.headers("requester") | {"Idempotency-Key": "k-down"},
    )
    assert retried.status_code == 201


async def test_list_filters_and_pages_newest_first(world: World) -> None:
    second_post = a_post(country="Haiti")
    others = [active_member(name=f"Member {i}") for i in range(3)]
    await world.add(second_post, *others)
    made = [await world.submit(member=m) for m in others[:2]]
    made.append(
        (
            await world.http.post(
                "/api/v1/deployments",
                json=request_body(others[2], second_post),
                headers=await world.headers("requester"),
            )
        ).json()
    )
    headers = await world.headers("planning")

    async def ids(query: str) -> tuple[list[str], int]:
        response = await world.http.get(f"/api/v1/deployments{query}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return [d["id"] for d in body["items"]], body["total"]

    newest_first = [d["id"] for d in reversed(made)]
    assert await ids("") == (newest_first, 3)
    assert await ids("?limit=2") == (newest_first[:2], 3)
    assert await ids("?limit=2&offset=2") == (newest_first[2:], 3)
    assert await ids(f"?post_code={second_post.code}") == ([made[2]["id"]], 1)
    assert await ids(f"?member_id={others[0].id}") == ([made[0]["id"]], 1)
    for d in made:
        await world.open_tasks(d["id"], 3)
    assert await ids("?stage=APPROVAL") == (newest_first, 3)
    assert await ids("?stage=REQUESTED") == ([], 0)
    assert await ids("?stage=VETTING") == ([], 0)
    for bad in ("?limit=0", "?limit=201", "?offset=-1"):
        assert (await world.http.get(f"/api/v1/deployments{bad}", headers=headers)).status_code == 422


async def test_unknown_deployment_is_404(world: World) -> None:
    response = await world.http.get("/api/v1/deployments/no-such-id", headers=await world.headers("planning"))
    assert response.status_code == 404
    assert response.json() == {"detail": "no deployment has this id"}


async def test_a_new_request_opens_only_cancel_before_its_workflow_writes(world: World) -> None:
    created = await world.submit()  # the answer is the row as the web wrote it
    assert (created["stage"], created["waiting_for"]) == ("REQUESTED", "workflow")
    assert [a["action"] for a in created["actions"] if a["open"]] == ["cancel"]


@pytest.mark.parametrize(("start_in_days", "call_up"), [(2, True), (3, False)])
async def test_an_active_call_up_must_be_ready_when_requested(
    world: World, start_in_days: int, call_up: bool
) -> None:
    # The world's Active member holds no FACT or orientation, and their passport runs out in 30 days.
    today = today_utc()
    response = await world.http.post(
        "/api/v1/deployments",
        json=request_body(
            world.member, world.post, start_date=today + timedelta(days=start_in_days), duration_days=10
        ),
        headers=await world.headers("requester"),
    )
    if not call_up:  # 48 hours is the limit: from the third day it is an ordinary request
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 422
    [error] = response.json()["detail"]
    end = today + timedelta(days=start_in_days + 9)
    passport_until = add_months(end, 6)
    assert (error["loc"], error["msg"]) == (
        ["body", "member_id"],
        "an Active call-up (starting within 48 hours) cannot wait for vetting or training: "
        f"Passport expires {world.member.passport_expires}; it must be valid until {passport_until}, "
        f"six months past the end date {end}; No FACT certificate; No CRC-ORIENT certificate",
    )
