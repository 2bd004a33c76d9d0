"""No Temporal error text reaches a client: each RPC error answers in our words, Temporal's go to the log."""

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from crc.stages import Stage
from crc.tables import Deployment
from tests import factories
from tests.web_helpers import World, count_rows, csrf_of, open_task, request_body, web_world
from web.services.errors import Conflict, ServiceError, Unavailable
from web.services.workflow_client import ENGINE_REFUSED, NOT_ANSWERING, rpc_refusal

LOGGER = "web.services.workflow_client"
# What the server says of a payload over its blob size limit: a limit and an id no client needs.
BLOB_TOO_LARGE = "Blob data size exceeds limit. WorkflowId=deployment-7f3c, Size=3145728, Limit=2097152"


@pytest.mark.parametrize(
    ("status", "message", "refusal", "status_code", "detail"),
    [
        (RPCStatusCode.INVALID_ARGUMENT, BLOB_TOO_LARGE, ServiceError, 400, ENGINE_REFUSED),
        (RPCStatusCode.INTERNAL, "persistence: sql: database is locked", ServiceError, 400, ENGINE_REFUSED),
        (RPCStatusCode.CANCELLED, "Timeout expired", Unavailable, 503, NOT_ANSWERING),
        (RPCStatusCode.RESOURCE_EXHAUSTED, "namespace rate limit exceeded", Unavailable, 503, NOT_ANSWERING),
        (RPCStatusCode.UNAVAILABLE, "tcp connect error: 127.0.0.1:7233", Unavailable, 503, NOT_ANSWERING),
        (
            RPCStatusCode.NOT_FOUND,
            "Execution not found in mutable state: WorkflowId{namespace='default'}",
            Conflict,
            409,
            "the deployment's workflow is no longer running",
        ),
    ],
    ids=lambda value: value.name if isinstance(value, RPCStatusCode) else None,
)
def test_rpc_errors_answer_in_our_words_and_log_temporals(
    caplog: pytest.LogCaptureFixture,
    status: RPCStatusCode,
    message: str,
    refusal: type[ServiceError],
    status_code: int,
    detail: str,
) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        error = rpc_refusal(RPCError(message, status, b""))
    assert (type(error), error.status_code, error.detail) == (refusal, status_code, detail)
    assert [r.getMessage() for r in caplog.records] == [f"Temporal refused a call ({status.name}): {message}"]


class RefusingTemporal:
    """A Temporal client (and workflow handle) that refuses every call as a server would."""

    def __init__(self, error: RPCError) -> None:
        self.error = error

    def get_workflow_handle(self, workflow_id: str) -> "RefusingTemporal":
        return self

    async def start_workflow(self, *args: Any, **kwargs: Any) -> None:
        raise self.error

    async def execute_update(self, *args: Any, **kwargs: Any) -> None:
        raise self.error

    async def start_update(self, *args: Any, **kwargs: Any) -> None:
        """A page's decision, held for its undo window, starts its update."""
        raise self.error


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        w.app.state.temporal_client = RefusingTemporal(
            RPCError(BLOB_TOO_LARGE, RPCStatusCode.INVALID_ARGUMENT, b"")
        )
        yield w


async def test_a_refused_start_answers_in_our_words_and_leaves_no_row(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = await world.http.post(
            "/api/v1/deployments",
            json=request_body(world.member, world.post),
            headers=await world.headers("requester"),
        )
    assert (response.status_code, response.json()) == (400, {"detail": ENGINE_REFUSED})
    assert "Blob" not in response.text
    assert BLOB_TOO_LARGE in caplog.text
    assert await count_rows(world.engine, select(Deployment)) == 0


async def test_a_refused_decision_answers_in_our_words_on_the_api_and_the_page(world: World) -> None:
    assert world.member.id is not None
    [deployment_id] = await factories.deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code, stage=Stage.APPROVAL
    )
    task = open_task(deployment_id)
    await world.add(task)
    api = await world.complete(task.id, "planning", "approve")
    assert (api.status_code, api.json()) == (400, {"detail": ENGINE_REFUSED})
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        page = await browser.post(f"/inbox/tasks/{task.id}", data={"outcome": "approve", "csrf_token": token})
    assert page.status_code == 400
    assert f'<p class="usa-alert__text" role="alert">{ENGINE_REFUSED}</p>' in page.text
    assert "Blob" not in page.text
