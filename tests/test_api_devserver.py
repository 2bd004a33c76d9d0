"""The submit-and-approve flow against the real Temporal dev server (not the test server)."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from crc.domain import COURSE_FACT, COURSE_ORIENTATION
from crc.stages import Stage
from tests import factories
from tests.conftest import start_dev_server, temporal_cli_env, venv_binary
from tests.lifecycle_world import add_world
from tests.web_helpers import World, user, web_world
from web.services.requests import today_utc

pytestmark = pytest.mark.devserver


@pytest.fixture
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    try:
        yield env
    finally:
        await env.shutdown()


async def test_submit_and_approve(
    engine: AsyncEngine, dev_server: WorkflowEnvironment, task_queue: str
) -> None:
    async with web_world(engine, dev_server.client, task_queue) as world:
        health = await world.http.get("/healthz")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        headers = await world.headers("requester") | {"Idempotency-Key": "dev-1"}
        body: dict[str, Any] = {
            "member_id": world.member.id,
            "post_code": world.post.code,
            "sector": "rule_of_law",
            "role_title": "Rule of law adviser",
            "start_date": (today_utc() + timedelta(days=45)).isoformat(),
            "duration_days": 90,
            "justification": "The court reform programme needs an adviser.",
        }
        first = await world.http.post("/api/v1/deployments", json=body, headers=headers)
        second = await world.http.post("/api/v1/deployments", json=body, headers=headers)
        assert (first.status_code, second.status_code) == (201, 200)
        created = first.json()
        assert second.json()["id"] == created["id"]
        tasks = await world.open_tasks(created["id"], 3)
        for role, task in tasks.items():
            response = await world.complete(task["id"], role, "approve")
            assert response.status_code == 200, response.text
        final = await world.wait_for(
            created["id"],
            lambda d: (
                d["stage"] == Stage.VETTING and any(t["kind"] == "vetting_review" for t in d["open_tasks"])
            ),
        )
        assert [e["kind"] for e in final["timeline"]][:6] == [
            "requested",
            "approval_opened",
            "approved",
            "approved",
            "approved",
            "stage_changed",
        ]
        query = f"WorkflowId = '{created['workflow_id']}'"
        runs: list[Any] = []
        async with asyncio.timeout(10):  # visibility catches up a moment after the start
            while not runs:
                runs = [w async for w in dev_server.client.list_workflows(query)]
                await asyncio.sleep(0.2)
        assert len(runs) == 1


async def temporal_workflow_list(address: str, query: str) -> list[str]:
    """The workflow ids the real `temporal workflow list --query` prints."""
    cli = await asyncio.create_subprocess_exec(
        venv_binary("temporal"),
        *("workflow", "list", "--address", address, "--namespace", "default"),
        *("--query", query, "--output", "json"),
        env=temporal_cli_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await cli.communicate()
    assert cli.returncode == 0, err.decode()
    return [w["execution"]["workflowId"] for w in json.loads(out)]


async def test_operators_find_deployments_by_search_attribute(
    engine: AsyncEngine, dev_server: WorkflowEnvironment, task_queue: str
) -> None:
    address = dev_server.client.service_client.config.target_host
    async with web_world(engine, dev_server.client, task_queue) as world:
        created = await world.submit()
        workflow_id = created["workflow_id"]
        await world.open_tasks(created["id"], 3)  # the workflow is at APPROVAL
        found: list[str] = []
        async with asyncio.timeout(10):  # visibility catches up a moment after the upsert
            while not found:
                found = await temporal_workflow_list(address, 'CrcStage="APPROVAL"')
                await asyncio.sleep(0.2)
        assert found == [workflow_id]
        post, member = world.post.code, world.member.id
        assert await temporal_workflow_list(address, f'CrcPostCode="{post}"') == [workflow_id]
        assert await temporal_workflow_list(address, f"CrcMemberId={member}") == [workflow_id]
        both = f'CrcComponent="active" AND CrcMemberId={member} AND CrcStage="APPROVAL"'
        assert await temporal_workflow_list(address, both) == [workflow_id]
        assert await temporal_workflow_list(address, 'CrcStage="REQUESTED"') == []
        assert await temporal_workflow_list(address, f'CrcPostCode="{post}X"') == []


async def test_an_active_call_up_starting_today_completes_through_the_api(
    engine: AsyncEngine, dev_server: WorkflowEnvironment, task_queue: str
) -> None:
    """The 48-hour call-up, in real time: deployed the same day, then home early, then closed."""
    today = today_utc()
    async with web_world(engine, dev_server.client, task_queue) as world:
        ready = factories.member(name="Rita Ready")
        await world.add(ready)
        assert ready.id is not None
        await add_world(engine, world.post.code)  # the courses (and kit) first: certificates name them
        await world.add(
            user("rita", ["member"], member_id=ready.id),
            factories.certificate(
                ready.id, COURSE_FACT, today - timedelta(days=100), today + timedelta(days=900)
            ),
            factories.certificate(ready.id, COURSE_ORIENTATION, today - timedelta(days=100), None),
        )
        created = await world.submit(member=ready, start_date=today.isoformat(), duration_days=30)
        life = ApiLife(world, created["id"])
        tasks = await world.open_tasks(created["id"], 3)
        for task in tasks.values():  # a call-up's approvals are due in four hours
            due, opened = (datetime.fromisoformat(task[k]) for k in ("due_at", "created_at"))
            assert due - opened == timedelta(hours=4)
        for role, task in tasks.items():
            assert (await world.complete(task["id"], role, "approve")).status_code == 200
        briefing = await life.task("training_result", "training")
        assert (briefing["opens_on"], briefing["title"]) == (
            today.isoformat(),
            f"Result of {world.post.code} briefing: {today.isoformat()} to {today.isoformat()}",
        )
        await life.do("training_result", "training", "pass")
        await life.do("kit_receipt", "rita", "acknowledge")
        clearance = await life.task("country_clearance", "chief_of_mission")
        assert clearance["title"].startswith("EXPEDITED, inside the lead time")
        await life.do("country_clearance", "chief_of_mission", "approve")
        await world.wait_for(created["id"], lambda d: d["waiting_for"] == "arrival")
        arrival = await life.post("check-ins", "rita", {"status": "ok", "location": "Juba airport"})
        assert (arrival.status_code, arrival.json()["stage"]) == (201, "DEPLOYED")
        early = await life.post("cancel", "requester", {"reason": "Mission scaled back"})
        assert early.status_code == 200, early.text
        await life.do("kit_return", "logistics", "returned")
        await life.do("after_action_report", "rita", "done", data={"report": "A day in Juba."})
        await life.do("medical_out_processing", "medical", "done")
        done = await world.wait_for(created["id"], lambda d: d["stage"] == Stage.COMPLETED)
    assert (done["start_date"], done["end_date"], done["duration_days"]) == (
        today.isoformat(),
        (today + timedelta(days=29)).isoformat(),
        30,
    )
    assert (done["arrived_on"], done["left_on"], done["extension_days"]) == (
        today.isoformat(),
        today.isoformat(),
        0,
    )
    assert done["status"].startswith("Completed: 1 day in country")


class ApiLife:
    """One deployment driven through the API by the users of its tasks."""

    def __init__(self, world: World, deployment_id: str) -> None:
        self.world = world
        self.deployment_id = deployment_id

    async def task(self, kind: str, username: str) -> dict[str, Any]:
        """The deployment's open task of `kind` as `username` lists it, once it is open."""
        headers = await self.world.headers(username)
        params = {"deployment_id": self.deployment_id, "kind": kind}
        async with asyncio.timeout(20):
            while True:
                items = (await self.world.http.get("/api/v1/tasks", params=params, headers=headers)).json()
                if items["items"]:
                    return dict(items["items"][0])
                await asyncio.sleep(0.1)

    async def do(self, kind: str, username: str, outcome: str, **body: Any) -> None:
        """Complete the open task of `kind` as `username`."""
        task = await self.task(kind, username)
        response = await self.world.complete(task["id"], username, outcome, **body)
        assert response.status_code == 200, response.text

    async def post(self, action: str, username: str, body: dict[str, Any]) -> Any:
        """POST to one of the deployment's action routes."""
        path = f"/api/v1/deployments/{self.deployment_id}/{action}"
        return await self.world.http.post(path, json=body, headers=await self.world.headers(username))
