"""The submit-and-approve flow against the real Temporal dev server (not the test server)."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from crc.stages import Stage
from tests.conftest import start_dev_server, temporal_cli_env, venv_binary
from tests.web_helpers import web_world
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
