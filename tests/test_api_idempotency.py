"""Safe retries: a state-changing POST sent again with its Idempotency-Key gets the first answer."""

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from temporalio.testing import WorkflowEnvironment

from crc.lifecycle_tables import CheckIn
from crc.tables import IdempotentResponse, Task, utcnow
from tests import factories
from tests.lifecycle_world import add_world
from tests.test_api_lifecycle import Life
from tests.web_helpers import count_rows, gather, user, web_world
from web.idempotency import IN_PROGRESS, REUSED, request_fingerprint

KEY = "6f1c2a4e-retry"


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


async def _post(life: Life, path: str, username: str, body: dict[str, Any], key: str = KEY) -> httpx.Response:
    headers = await life.w.headers(username) | {"Idempotency-Key": key}
    return await life.w.http.post(path, json=body, headers=headers)


def _same_answer(first: httpx.Response, retry: httpx.Response) -> None:
    assert (retry.status_code, retry.json()) == (first.status_code, first.json())
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


async def _stored(life: Life, path: str, body: dict[str, Any], *, status: int | None, age: timedelta) -> None:
    """A stored answer for KEY as the requester, `age` old (status None: still in progress)."""
    row = IdempotentResponse(
        username="requester",
        key=KEY,
        method_path=f"POST {path}",
        request_hash=request_fingerprint("POST", path, json.dumps(body).encode()),
        status_code=status,
        body=None if status is None else '{"stored": true}',
        created_at=utcnow() - age,
    )
    await life.w.add(row)


async def test_a_check_in_retried_after_a_5xx_is_recorded_once(life: Life) -> None:
    """A 5xx keeps no answer, so the retry runs again: the workflow knows it by its update id."""
    deployment_id = await life.submit()
    await life.to_booked(deployment_id)
    check_ins = f"/api/v1/deployments/{deployment_id}/check-ins"
    arrival = await _post(life, check_ins, "avery", {"status": "ok", "location": "Juba"})
    assert arrival.status_code == 201, arrival.text
    regular = await _post(life, check_ins, "avery", {"status": "ok", "location": "Wau"}, "regular-1")
    assert regular.status_code == 201, regular.text
    # As after a 503 that came once the workflow had the check-in: nothing kept under the key.
    async with life.w.engine.begin() as conn:
        await conn.execute(sa.delete(IdempotentResponse).where(col(IdempotentResponse.key) == "regular-1"))

    retry = await _post(life, check_ins, "avery", {"status": "ok", "location": "Wau"}, "regular-1")

    assert (retry.status_code, retry.json()) == (201, regular.json())
    assert "Idempotent-Replayed" not in retry.headers  # answered by the workflow, not the table
    assert await count_rows(life.w.engine, select(CheckIn)) == 2
    # Another key is another check-in.
    third = await _post(life, check_ins, "avery", {"status": "ok", "location": "Wau"}, "regular-2")
    assert third.status_code == 201, third.text
    assert await count_rows(life.w.engine, select(CheckIn)) == 3


async def test_a_retried_check_in_and_extension_are_recorded_once(life: Life) -> None:
    deployment_id = await life.submit()
    await life.to_booked(deployment_id)
    check_ins = f"/api/v1/deployments/{deployment_id}/check-ins"

    arrival = await _post(life, check_ins, "avery", {"status": "ok", "location": "Juba"})
    assert arrival.status_code == 201, arrival.text
    # The answer was lost on the way; the client sends the same request again.
    retry = await _post(life, check_ins, "avery", {"location": "Juba", "status": "ok"})
    _same_answer(arrival, retry)
    assert await count_rows(life.w.engine, select(CheckIn)) == 1
    # Five copies at once: one is done, each other waits for nothing (409) or gets its answer.
    copies = await gather(*(_post(life, check_ins, "avery", {"status": "ok"}, "regular-1") for _ in range(5)))
    assert {r.status_code for r in copies} <= {201, 409}, [r.text for r in copies]
    assert len({r.text for r in copies if r.status_code == 201}) == 1
    assert await count_rows(life.w.engine, select(CheckIn)) == 2

    extensions = f"/api/v1/deployments/{deployment_id}/extensions"
    asked = await _post(
        life, extensions, "avery", {"days": 25, "justification": "Elections slipped"}, "ext-1"
    )
    assert asked.status_code == 201, asked.text
    again = await _post(
        life, extensions, "avery", {"days": 25, "justification": "Elections slipped"}, "ext-1"
    )
    _same_answer(asked, again)
    # A new key is a new request: the extension already awaiting approval refuses it.
    other = await _post(
        life, extensions, "avery", {"days": 25, "justification": "Elections slipped"}, "ext-2"
    )
    assert (other.status_code, other.json()["detail"]) == (409, "an extension is already awaiting approval")

    early = await _post(
        life, f"/api/v1/deployments/{deployment_id}/cancel", "requester", {"reason": "Unrest"}
    )
    assert (early.status_code, early.json()["stage"]) == (200, "REDEPLOYMENT")
    _same_answer(
        early,
        await _post(life, f"/api/v1/deployments/{deployment_id}/cancel", "requester", {"reason": "Unrest"}),
    )


async def test_a_retried_decision_and_amendment_answer_as_the_first(life: Life) -> None:
    deployment_id = await life.submit()
    task = await life.task(deployment_id, "approval", "planning")
    complete = f"/api/v1/tasks/{task['id']}/complete"
    decided = await _post(life, complete, "planning", {"outcome": "request_changes", "comment": "Shorter"})
    assert decided.status_code == 200, decided.text
    _same_answer(
        decided, await _post(life, complete, "planning", {"outcome": "request_changes", "comment": "Shorter"})
    )
    async with life.w.app.state.sessionmaker() as session:
        row = await session.get(Task, task["id"])
    assert row is not None and (row.status, row.outcome) == ("completed", "request_changes")

    amend = f"/api/v1/deployments/{deployment_id}/amend"
    changes = {"duration_days": 45, "justification": "Shorter, as asked.", "comment": "Done"}
    amended = await _post(life, amend, "requester", changes)
    assert (amended.status_code, amended.json()["revision"]) == (200, 2), amended.text
    _same_answer(amended, await _post(life, amend, "requester", changes))
    assert (await life.w.deployment(deployment_id))["revision"] == 2


async def test_a_key_sent_with_another_request_is_refused(life: Life) -> None:
    deployment_id = await life.submit()
    cancel = f"/api/v1/deployments/{deployment_id}/cancel"
    first = await _post(life, cancel, "requester", {"reason": "Post closed"})
    assert first.status_code == 200, first.text
    other_body = await _post(life, cancel, "requester", {"reason": "Budget cut"})
    other_path = await _post(
        life, f"/api/v1/deployments/{deployment_id}/check-ins", "requester", {"status": "ok"}
    )
    for refused in (other_body, other_path):
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"] == [
            {"loc": ["header", "idempotency-key"], "msg": REUSED, "type": "value_error"}
        ]
    # Keys are the user's own: the director's same key is another request, refused on its merits.
    director = await _post(life, cancel, "director", {"reason": "Budget cut"})
    assert (director.status_code, director.json()["detail"]) == (
        409,
        "the deployment is already at CANCELLED",
    )


async def test_a_retry_while_the_first_is_in_progress_is_a_conflict(life: Life) -> None:
    deployment_id = await life.submit()
    await life.w.wait_for(deployment_id, lambda d: d["stage"] == "APPROVAL")
    cancel = f"/api/v1/deployments/{deployment_id}/cancel"
    body = {"reason": "Post closed"}
    await _stored(life, cancel, body, status=None, age=timedelta(minutes=1))
    busy = await _post(life, cancel, "requester", body)
    assert (busy.status_code, busy.json()["detail"]) == (409, IN_PROGRESS)
    assert (await life.w.deployment(deployment_id))["stage"] == "APPROVAL"


async def test_a_reservation_whose_request_died_is_taken_over(life: Life) -> None:
    deployment_id = await life.submit()
    cancel = f"/api/v1/deployments/{deployment_id}/cancel"
    body = {"reason": "Post closed"}
    await _stored(life, cancel, body, status=None, age=timedelta(minutes=6))
    cancelled = await _post(life, cancel, "requester", body)
    assert (cancelled.status_code, cancelled.json()["stage"]) == (200, "CANCELLED"), cancelled.text
    _same_answer(cancelled, await _post(life, cancel, "requester", body))


async def test_a_stored_answer_is_kept_for_24_hours(life: Life) -> None:
    deployment_id = await life.submit()
    await life.w.wait_for(deployment_id, lambda d: d["stage"] == "APPROVAL")
    cancel = f"/api/v1/deployments/{deployment_id}/cancel"
    body = {"reason": "Post closed"}
    await _stored(life, cancel, body, status=201, age=timedelta(hours=23, minutes=59))
    kept = await _post(life, cancel, "requester", body)
    assert (kept.status_code, kept.json()) == (201, {"stored": True})
    assert (await life.w.deployment(deployment_id))["stage"] == "APPROVAL"

    async with life.w.app.state.sessionmaker() as session:
        row = (await session.exec(select(IdempotentResponse))).one()
        row.created_at = utcnow() - timedelta(hours=24, minutes=1)
        session.add(row)
        await session.commit()
    expired = await _post(life, cancel, "requester", body)
    assert (expired.status_code, expired.json()["stage"]) == (200, "CANCELLED"), expired.text
    assert await count_rows(life.w.engine, select(IdempotentResponse)) == 1


async def test_openapi_documents_the_header_on_every_state_changing_post(life: Life) -> None:
    spec = (await life.w.http.get("/openapi.json")).json()
    documented = {
        path
        for path, operations in spec["paths"].items()
        for parameter in operations.get("post", {}).get("parameters", [])
        if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key"
    }
    assert documented == {
        "/api/v1/deployments",
        "/api/v1/deployments/{deployment_id}/amend",
        "/api/v1/deployments/{deployment_id}/cancel",
        "/api/v1/deployments/{deployment_id}/check-ins",
        "/api/v1/deployments/{deployment_id}/extensions",
        "/api/v1/tasks/{task_id}/complete",
        "/api/v1/tasks/{task_id}/undo",
    }
