"""A deployment's whole life through the HTTP API, as the demo users would drive it."""

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from crc.domain import SKU_BALLISTIC_VEST, SKU_HELMET, SKU_INDIVIDUAL_KIT
from crc.tables import Member
from tests import factories
from tests.lifecycle_world import STOCK, add_world, enrolments, seats_taken, skip_to, stock_levels
from tests.test_stage_counts import counted, kept_counts
from tests.web_helpers import World, csrf_of, user, web_world

FULL_STOCK = {SKU_INDIVIDUAL_KIT: STOCK, SKU_BALLISTIC_VEST: STOCK, SKU_HELMET: STOCK}


class Life:
    """A world with a member who passes vetting, linked to the `avery` user, and courses and kit."""

    def __init__(self, world: World, member: Member, env: WorkflowEnvironment) -> None:
        self.w = world
        self.member = member
        self.env = env

    async def submit(self, **overrides: Any) -> str:
        deployment = await self.w.submit(member=self.member, duration_days=60, **overrides)
        return str(deployment["id"])

    async def task(self, deployment_id: str, kind: str, username: str) -> dict[str, Any]:
        """The first open task of `kind` in `username`'s GET /tasks, once the workflow opened it."""
        headers = await self.w.headers(username)
        params = {"deployment_id": deployment_id, "kind": kind}

        current: list[dict[str, Any]] = []
        await self.w.wait_for(deployment_id, lambda d: any(t["kind"] == kind for t in d["open_tasks"]))
        for _ in range(100):
            response = await self.w.http.get("/api/v1/tasks", params=params, headers=headers)
            current = response.json()["items"]
            if current:
                return current[0]
            await asyncio.sleep(0.05)
        raise AssertionError(f"{username} never saw a {kind} task")

    async def do(self, deployment_id: str, kind: str, username: str, outcome: str, **body: Any) -> None:
        task = await self.task(deployment_id, kind, username)
        response = await self.w.complete(task["id"], username, outcome, **body)
        assert response.status_code == 200, response.text

    async def post(self, path: str, username: str, body: dict[str, Any]) -> Any:
        return await self.w.http.post(path, json=body, headers=await self.w.headers(username))

    async def pass_training(self, deployment_id: str) -> None:
        """Both courses of a 60-day stay (CRC orientation, the post's briefing), each from its last day."""
        for _ in range(2):
            task = await self.task(deployment_id, "training_result", "training")
            await skip_to(self.env, date.fromisoformat(task["opens_on"]))
            await self.do(deployment_id, "training_result", "training", "pass")

    async def to_booked(self, deployment_id: str) -> None:
        """Approvals, training, kit and clearance, then the start date: the member can check in."""
        for office in ("planning", "resource_management", "chief_of_mission"):
            await self.do(deployment_id, "approval", office, "approve")
        await self.pass_training(deployment_id)
        await self.do(deployment_id, "kit_receipt", "avery", "acknowledge")
        await self.do(deployment_id, "country_clearance", "chief_of_mission", "approve")
        booked = await self.w.wait_for(deployment_id, lambda d: d["waiting_for"] == "arrival")
        await skip_to(self.env, date.fromisoformat(booked["arrival_opens_on"]))


@pytest.fixture
async def life(
    engine: AsyncEngine, temporal_env: WorkflowEnvironment, task_queue: str
) -> AsyncIterator[Life]:
    async with web_world(engine, temporal_env.client, task_queue) as world:
        member = factories.member(name="Avery Quinn")
        await world.add(member)
        await world.add(user("avery", ["member"], member_id=member.id))
        await add_world(engine, world.post.code)
        yield Life(world, member, temporal_env)


async def test_full_life_with_early_return_reaches_completed(life: Life) -> None:
    w = life.w
    deployment_id = await life.submit()
    await life.to_booked(deployment_id)
    assert await stock_levels(w.engine) == {k: STOCK - 1 for k in FULL_STOCK}

    arrival = await life.post(
        f"/api/v1/deployments/{deployment_id}/check-ins", "avery", {"status": "ok", "location": "Juba"}
    )
    assert arrival.status_code == 201, arrival.text
    assert (arrival.json()["arrival"], arrival.json()["stage"]) == (True, "DEPLOYED")
    regular = await life.post(
        f"/api/v1/deployments/{deployment_id}/check-ins", "operations", {"status": "ok"}
    )
    assert (regular.status_code, regular.json()["arrival"]) == (201, False)

    early = await life.post(f"/api/v1/deployments/{deployment_id}/cancel", "requester", {"reason": "Unrest"})
    assert early.status_code == 200, early.text
    assert early.json()["stage"] == "REDEPLOYMENT"
    await life.do(deployment_id, "kit_return", "logistics", "returned")
    missing_report = await w.complete(
        (await life.task(deployment_id, "after_action_report", "avery"))["id"], "avery", "done"
    )
    assert missing_report.status_code == 422
    await life.do(deployment_id, "after_action_report", "avery", "done", data={"report": "Courts reopened."})
    await life.do(deployment_id, "medical_out_processing", "medical", "done")

    final = await w.wait_for(deployment_id, lambda d: d["stage"] == "COMPLETED")
    assert final["status"].startswith("Completed: 1 day in country")
    assert final["cost_actual_usd"] == final["status"].split("$")[1].replace(",", "")
    assert await stock_levels(w.engine) == FULL_STOCK
    # Seats of the courses taken stay taken; none is left held by the deployment.
    assert await seats_taken(w.engine) == 2
    assert [s for _, _, s in await enrolments(w.engine, deployment_id)] == ["passed", "passed"]
    kinds = [e["kind"] for e in final["timeline"]]
    in_order = [
        "requested",
        "approved",
        "training_result.pass",
        "kit_receipt.acknowledge",
        "country_clearance.approve",
        "travel_booked",
        "arrival_check_in",
        "arrived",
        "check_in",
        "curtailed",
        "kit_return.returned",
        "after_action_report.done",
        "medical_out_processing.done",
        "released",
        "completed",
    ]
    positions = [kinds.index(k) for k in in_order]
    assert positions == sorted(positions), kinds
    assert final["open_tasks"] == []
    # The dashboard's counts, kept by the database through every write of the lifecycle.
    assert await kept_counts(w.engine) == await counted(w.engine) == {("COMPLETED", w.post.code): 1}
    # The report is a lesson for anyone signed in, and shows on the deployment page with its author.
    lessons = await w.http.get("/api/v1/lessons", params={"q": "court"}, headers=await w.headers("logistics"))
    assert [(x["deployment_id"], x["report"]) for x in lessons.json()["items"]] == [
        (deployment_id, "Courts reopened.")
    ]
    async with w.signed_in("requester") as browser:
        page = await browser.get(f"/deployments/{deployment_id}")
    assert '<p class="report-text">Courts reopened.</p>' in page.text


async def test_cancel_before_deployed_undoes_and_is_refused_twice(life: Life) -> None:
    deployment_id = await life.submit()
    for office in ("planning", "resource_management", "chief_of_mission"):
        await life.do(deployment_id, "approval", office, "approve")
    await life.task(deployment_id, "training_result", "training")
    path = f"/api/v1/deployments/{deployment_id}/cancel"
    assert (await life.post(path, "planning", {"reason": "no"})).status_code == 403
    assert (await life.post(path, "requester", {"reason": ""})).status_code == 422
    cancelled = await life.post(path, "requester", {"reason": "Post closed"})
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["stage"], cancelled.json()["status"]) == (
        "CANCELLED",
        "Cancelled by Requester: Post closed",  # the full name
    )
    assert await seats_taken(life.w.engine) == 0
    again = await life.post(path, "director", {"reason": "again"})
    assert (again.status_code, again.json()["detail"]) == (409, "the deployment is already at CANCELLED")


async def test_check_ins_are_refused_before_booking_and_to_others(life: Life) -> None:
    deployment_id = await life.submit()
    await life.w.wait_for(deployment_id, lambda d: d["stage"] == "APPROVAL")
    path = f"/api/v1/deployments/{deployment_id}/check-ins"
    early = await life.post(path, "avery", {"status": "ok"})
    assert (early.status_code, early.json()["detail"]) == (
        409,
        "no check-in is expected at APPROVAL: check-ins start once travel is booked and end with the stay",
    )
    assert (await life.post(path, "planning", {"status": "ok"})).status_code == 403
    assert (await life.post(path, "avery", {"status": "fine"})).status_code == 422
    missing = await life.w.http.post(path, json={"status": "ok"})
    assert missing.status_code == 401


async def test_extension_needs_planning_and_resource_management(life: Life) -> None:
    deployment_id = await life.submit()
    await life.to_booked(deployment_id)
    await life.post(f"/api/v1/deployments/{deployment_id}/check-ins", "avery", {"status": "ok"})
    before = date.fromisoformat((await life.w.deployment(deployment_id))["end_date"])
    path = f"/api/v1/deployments/{deployment_id}/extensions"
    assert (await life.post(path, "planning", {"days": 30, "justification": "x"})).status_code == 403
    asked = await life.post(path, "avery", {"days": 25, "justification": "Elections slipped three weeks"})
    assert asked.status_code == 201, asked.text
    twice = await life.post(path, "requester", {"days": 5, "justification": "more"})
    assert (twice.status_code, twice.json()["detail"]) == (409, "an extension is already awaiting approval")
    await life.do(deployment_id, "extension", "planning", "approve")
    await life.do(deployment_id, "extension", "resource_management", "approve")
    extended = await life.w.wait_for(deployment_id, lambda d: d["end_date"] != before.isoformat())
    assert extended["end_date"] == (before + timedelta(days=25)).isoformat()


async def test_travel_orders_are_a_document_of_the_deployment(life: Life) -> None:
    deployment_id = await life.submit()
    await life.to_booked(deployment_id)
    detail = await life.w.deployment(deployment_id)
    booked = next(e for e in detail["timeline"] if e["kind"] == "travel_booked")
    document_id = booked["data"]["document_id"]
    response = await life.w.http.get(
        f"/api/v1/deployments/{deployment_id}/documents/{document_id}", headers=await life.w.headers("travel")
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "Avery Quinn" in response.text
    other = await life.w.http.get(
        f"/api/v1/deployments/not-this-one/documents/{document_id}", headers=await life.w.headers("travel")
    )
    assert other.status_code == 404


async def test_a_member_sees_only_their_own_tasks(life: Life) -> None:
    deployment_id = await life.submit()
    for office in ("planning", "resource_management", "chief_of_mission"):
        await life.do(deployment_id, "approval", office, "approve")
    await life.pass_training(deployment_id)
    receipt = await life.task(deployment_id, "kit_receipt", "avery")
    listed = await life.w.http.get("/api/v1/tasks", headers=await life.w.headers("member"))
    # The demo `member` is someone else.
    assert listed.json() == {"items": [], "total": 0, "next_cursor": None}
    refused = await life.w.complete(receipt["id"], "member", "acknowledge")
    assert refused.status_code == 403


async def test_timeline_names_the_member_who_asked_for_an_extension(life: Life) -> None:
    deployment_id = await life.submit()
    await life.to_booked(deployment_id)
    await life.post(f"/api/v1/deployments/{deployment_id}/check-ins", "avery", {"status": "ok"})
    async with life.w.signed_in("avery") as member:
        page = await member.get(f"/deployments/{deployment_id}")
        asked = await member.post(
            f"/deployments/{deployment_id}/extension",
            data={"days": "14", "justification": "Elections slipped", "csrf_token": csrf_of(page.text)},
        )
        assert asked.status_code == 303, asked.text
    detail = await life.w.wait_for(
        deployment_id, lambda d: any(t["kind"] == "extension" for t in d["open_tasks"])
    )
    requested = next(e for e in detail["timeline"] if e["kind"] == "extension_requested")
    assert (requested["actor"], requested["message"]) == (
        "avery",
        "Avery Quinn asked for a 14-day extension: Elections slipped",
    )
    async with life.w.signed_in("requester") as requester:
        timeline = (await requester.get(f"/deployments/{deployment_id}")).text
    assert (
        "<strong>Extension requested</strong> Avery Quinn asked for a 14-day extension: "
        'Elections slipped <span class="text-base">by Avery Quinn</span>'
    ) in timeline
    assert 'Arrival check-in: OK <span class="text-base">by Avery Quinn</span>' in timeline
    assert "by system" not in timeline
    assert "<dt>Requested by</dt><dd>Requester on " in timeline
    assert '<span class="text-base">by CRC system</span>' in timeline
