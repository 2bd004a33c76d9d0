"""Deployment search attributes: registration, the web's start, the workflow's stage upserts."""

import asyncio
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesResponse
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from crc.search_attributes import (
    DEPLOYMENT_KEYS,
    SearchAttributeConflict,
    dev_server_args,
    ensure_registered,
    registration_commands,
)
from crc.settings import Settings
from crc.stages import Stage
from crc.types import DeploymentOutcome, LifecyclePolicy
from tests import factories
from tests.conftest import start_dev_server, start_test_server
from tests.lifecycle_world import Driver, add_world
from tests.workflow_helpers import start
from web.services.errors import Unavailable
from web.services.workflow_client import start_deployment_workflow
from worker import build_worker, register_search_attributes

ALL_NAMES = ["CrcStage", "CrcPostCode", "CrcMemberId", "CrcComponent"]


def crc_attributes(description: WorkflowExecutionDescription) -> dict[str, Any]:
    """The deployment search attributes of a described workflow, by name."""
    return {key.name: description.typed_search_attributes.get(key) for key in DEPLOYMENT_KEYS}


def upserted_stages(history: WorkflowHistory) -> list[str]:
    """The CrcStage values a run upserted, in order."""
    decode = DataConverter.default.payload_converter.from_payload
    fields = (
        e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        for e in history.events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    )
    return [decode(f["CrcStage"], str) for f in fields if "CrcStage" in f]


@pytest.fixture
async def bare_temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server with no custom search attributes (conftest's registers them)."""
    env = await start_test_server()
    yield env
    await env.shutdown()


def test_dev_server_args_and_manual_commands_name_every_attribute() -> None:
    assert dev_server_args() == [
        "--search-attribute",
        "CrcStage=Keyword",
        "--search-attribute",
        "CrcPostCode=Keyword",
        "--search-attribute",
        "CrcMemberId=Int",
        "--search-attribute",
        "CrcComponent=Keyword",
    ]
    assert registration_commands("crc") == [
        "temporal operator search-attribute create --namespace crc"
        " --name CrcStage --name CrcPostCode --name CrcComponent --type Keyword",
        "temporal operator search-attribute create --namespace crc --name CrcMemberId --type Int",
    ]


async def test_ensure_registered_is_idempotent_and_lets_deployments_start(
    bare_temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    client = bare_temporal_env.client
    request = await factories.requested_deployment(engine)
    # Unregistered, the server refuses the start: an operator's fix, so 503 rather than 400.
    with pytest.raises(Unavailable, match="search attributes"):
        # Another deployment: the test server keeps a trace of a refused start under its id.
        refused = request.model_copy(update={"deployment_id": str(uuid.uuid4())})
        await start_deployment_workflow(client, request=refused, task_queue=task_queue)

    assert await ensure_registered(client, client.namespace) == ALL_NAMES
    assert await ensure_registered(client, client.namespace) == []

    workflow_id = f"deployment-{request.deployment_id}"
    await start_deployment_workflow(client, request=request, task_queue=task_queue)
    described = await client.get_workflow_handle(workflow_id).describe()
    assert crc_attributes(described) == {
        "CrcStage": "REQUESTED",
        "CrcPostCode": request.post_code,
        "CrcMemberId": request.member_id,
        "CrcComponent": "active",
    }


class _Operator:
    """An operator service that lists `custom` and refuses every change."""

    def __init__(self, custom: dict[str, IndexedValueType.ValueType]) -> None:
        self.custom = custom

    async def list_search_attributes(self, *_: Any, **__: Any) -> ListSearchAttributesResponse:
        return ListSearchAttributesResponse(custom_attributes=self.custom)

    async def add_search_attributes(self, *_: Any, **__: Any) -> None:
        raise RPCError("Request unauthorized.", RPCStatusCode.PERMISSION_DENIED, b"")


class _StubClient:
    def __init__(self, operator: _Operator) -> None:
        self.operator_service = operator


async def test_a_refusing_server_is_logged_with_the_manual_commands(caplog: pytest.LogCaptureFixture) -> None:
    client = cast(Client, _StubClient(_Operator({})))
    with caplog.at_level(logging.ERROR, logger="crc.worker"):
        assert await register_search_attributes(client, "crc-prod") is False
    (record,) = caplog.records
    assert "Request unauthorized." in record.getMessage()
    for command in registration_commands("crc-prod"):
        assert command in record.getMessage()


async def test_an_attribute_of_another_type_is_a_conflict_not_a_silent_pass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The real server ignores a re-add with another type, so only the listing can tell.
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    client = cast(Client, _StubClient(_Operator({"CrcStage": keyword, "CrcMemberId": keyword})))
    with pytest.raises(SearchAttributeConflict, match="CrcMemberId is Keyword, not Int"):
        await ensure_registered(client, "default")
    with caplog.at_level(logging.ERROR, logger="crc.worker"):
        assert await register_search_attributes(client, "default") is False
    assert "CrcMemberId is Keyword, not Int" in caplog.records[0].getMessage()


async def test_stage_changes_are_upserted_once_and_survive_continue_as_new(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
) -> None:
    # A short history limit: the stay continues as new soon after arrival.
    request = await factories.requested_deployment(
        engine, duration_days=60, lifecycle=LifecyclePolicy(history_limit=12)
    )
    await add_world(engine, request.post_code)
    client = temporal_env.client
    async with build_worker(client, engine, task_queue=task_queue):
        first = await start(client, task_queue, request)
        latest = client.get_workflow_handle(first.id, result_type=DeploymentOutcome)
        driver = Driver(handle=latest, request=request, env=temporal_env)
        await driver.to_travel()
        assert crc_attributes(await latest.describe())["CrcStage"] == "TRAVEL"
        await driver.arrive()
        for _ in range(5):
            if (await latest.describe()).run_id != first.result_run_id:
                break
            await driver.check_in()
        described = await latest.describe()
        assert described.run_id != first.result_run_id, "the stay never continued as new"
        # The new run set nothing itself: what it shows was carried over from the first.
        assert crc_attributes(described) == {
            "CrcStage": Stage.DEPLOYED.value,
            "CrcPostCode": request.post_code,
            "CrcMemberId": request.member_id,
            "CrcComponent": request.member_component,
        }
        # Status-only changes (set_status) upsert nothing: each stage appears once.
        first_run = client.get_workflow_handle(first.id, run_id=first.first_execution_run_id)
        assert upserted_stages(await first_run.fetch_history()) == [
            "APPROVAL",
            "VETTING",
            "TRAINING",
            "EQUIPPING",
            "TRAVEL",
            "DEPLOYED",
        ]


@pytest.mark.devserver
async def test_crc_search_attributes_registers_them_once(tmp_path: Path) -> None:
    env = await start_dev_server(search_attributes=())
    try:
        # The environment of a production one-shot: only the settings, no dev defaults of ours.
        environ = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
        environ |= {
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "CRC_DATA_DIR": str(tmp_path),
        }
        outputs = []
        for _ in range(2):
            cli = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "cli", "search-attributes"),
                cwd=tmp_path,
                env=environ,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await cli.communicate()
            assert cli.returncode == 0, out.decode()
            outputs.append(out.decode())
        assert "registered search attributes CrcStage, CrcPostCode, CrcMemberId, CrcComponent" in outputs[0]
        assert "registered search attributes" not in outputs[1]
        assert "are registered in namespace default" in outputs[1]
        assert await ensure_registered(env.client, "default") == []
    finally:
        await env.shutdown()
