"""Through the API and pages: Logistics and Operations act for a member who has no login."""

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from crc.tables import Member
from tests import factories
from tests.lifecycle_world import add_world, skip_to
from tests.web_helpers import World, csrf_of, web_world

NAME = "Ruth Okafor"


class NoLogin:
    """A world whose member passes vetting and has no user of their own."""

    def __init__(self, world: World, member: Member, env: WorkflowEnvironment) -> None:
        self.w = world
        self.member = member
        self.env = env

    async def task(self, deployment_id: str, kind: str, username: str) -> dict[str, Any]:
        """The open task of `kind` in `username`'s GET /tasks, once the workflow opened it."""
        await self.w.wait_for(deployment_id, lambda d: any(t["kind"] == kind for t in d["open_tasks"]))
        headers = await self.w.headers(username)
        for _ in range(100):
            response = await self.w.http.get(
                "/api/v1/tasks", params={"deployment_id": deployment_id, "kind": kind}, headers=headers
            )
            if response.json()["items"]:
                return dict(response.json()["items"][0])
            await asyncio.sleep(0.05)
        raise AssertionError(f"{username} never saw a {kind} task")

    async def do(self, deployment_id: str, kind: str, username: str, outcome: str, **body: Any) -> None:
        task = await self.task(deployment_id, kind, username)
        response = await self.w.complete(task["id"], username, outcome, **body)
        assert response.status_code == 200, response.text

    async def post(self, path: str, username: str, body: dict[str, Any]) -> Any:
        return await self.w.http.post(path, json=body, headers=await self.w.headers(username))


@pytest.fixture
async def world(
    engine: AsyncEngine, temporal_env: WorkflowEnvironment, task_queue: str
) -> AsyncIterator[NoLogin]:
    async with web_world(engine, temporal_env.client, task_queue) as w:
        member = factories.member(name=NAME)
        await w.add(member)
        await add_world(engine, w.post.code)
        yield NoLogin(w, member, temporal_env)


async def test_coordinators_take_a_member_without_a_login_to_completed(world: NoLogin) -> None:
    w = world.w
    submitted = await w.submit(member=world.member, duration_days=60)
    deployment_id = str(submitted["id"])
    for office in ("planning", "resource_management", "chief_of_mission"):
        await world.do(deployment_id, "approval", office, "approve")
    for _ in range(2):
        task = await world.task(deployment_id, "training_result", "training")
        await skip_to(world.env, date.fromisoformat(task["opens_on"]))
        await world.do(deployment_id, "training_result", "training", "pass")

    kit = await world.task(deployment_id, "kit_receipt", "logistics")
    # Operations sees every deployment, but the kit is Logistics' to acknowledge for the member.
    ops_tasks = await w.http.get(
        "/api/v1/tasks", params={"kind": "kit_receipt"}, headers=await w.headers("operations")
    )
    assert ops_tasks.json() == {"items": [], "total": 0, "next_cursor": None}
    refused = await w.complete(kit["id"], "operations", "acknowledge")
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "this task is for the deployed member or Logistics on their behalf",
    )
    assert (await w.complete(kit["id"], "requester", "acknowledge")).status_code == 403
    async with w.signed_in("logistics") as browser:
        inbox = await browser.get("/inbox")
        assert f'<span class="task-why">On behalf of {NAME}</span>' in inbox.text
        done = await browser.post(
            f"/inbox/tasks/{kit['id']}",
            data={"outcome": "acknowledge", "csrf_token": csrf_of(inbox.text)},
            headers={"HX-Request": "true"},
        )
        assert done.status_code == 200, done.text

    await world.do(deployment_id, "country_clearance", "chief_of_mission", "approve")
    booked = await w.wait_for(deployment_id, lambda d: d["waiting_for"] == "arrival")
    await skip_to(world.env, date.fromisoformat(booked["arrival_opens_on"]))
    path = f"/api/v1/deployments/{deployment_id}/check-ins"
    assert (await world.post(path, "requester", {"status": "ok"})).status_code == 403
    async with w.signed_in("operations") as browser:
        page = await browser.get(f"/deployments/{deployment_id}")
        arrived = await browser.post(
            f"/deployments/{deployment_id}/check-in",
            data={"status": "ok", "location": "Juba", "note": "", "csrf_token": csrf_of(page.text)},
        )
        assert arrived.status_code == 303, arrived.text
    await w.wait_for(deployment_id, lambda d: d["stage"] == "DEPLOYED")

    early = await world.post(f"/api/v1/deployments/{deployment_id}/cancel", "requester", {"reason": "Unrest"})
    assert early.status_code == 200, early.text
    await world.do(deployment_id, "kit_return", "logistics", "returned")
    report = await world.task(deployment_id, "after_action_report", "operations")
    body = {"data": {"report": "Courts reopened."}}
    refused = await w.complete(report["id"], "logistics", "done", **body)
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "this task is for the deployed member or Operations on their behalf",
    )
    assert (await w.complete(report["id"], "requester", "done", **body)).status_code == 403
    async with w.signed_in("operations") as browser:
        inbox = await browser.get("/inbox")
        assert f'<span class="task-why">On behalf of {NAME}</span>' in inbox.text
        done = await browser.post(
            f"/inbox/tasks/{report['id']}",
            data={"outcome": "done", "report": "Courts reopened.", "csrf_token": csrf_of(inbox.text)},
            headers={"HX-Request": "true"},
        )
        assert done.status_code == 200, done.text
    await world.do(deployment_id, "medical_out_processing", "medical", "done")

    final = await w.wait_for(deployment_id, lambda d: d["stage"] == "COMPLETED")
    behalf = [
        (e["kind"], e["actor"], e["message"], e["on_behalf_of"])
        for e in final["timeline"]
        if e["on_behalf_of"]
    ]
    named = {"member_id": world.member.id, "name": NAME}
    assert behalf == [
        (
            "kit_receipt.acknowledge",
            "logistics",
            f"{kit['title']}: acknowledged by Logistics on behalf of {NAME}",
            named,
        ),
        (
            "arrival_check_in",
            "operations",
            f"Arrival check-in at Juba: OK, by Operations on behalf of {NAME}",
            named,
        ),
        (
            "after_action_report.done",
            "operations",
            f"{report['title']}: done by Operations on behalf of {NAME}",
            named,
        ),
    ]
    assert all(e["on_behalf_of"] is None for e in final["timeline"] if e["kind"] == "requested")
    async with w.signed_in("logistics") as browser:
        page = await browser.get(f"/deployments/{deployment_id}")
        assert page.status_code == 200
        assert f"{kit['title']}: acknowledged by Logistics on behalf of {NAME}</li>" not in page.text
        assert f"acknowledged by Logistics on behalf of {NAME}\n" in page.text
