"""Helpers for operation tests: a valid body, members for it, and calls of the operations API."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.db import session_factory
from crc.domain import COURSE_FACT, COURSE_ORIENTATION
from crc.operation_tables import Operation
from tests import factories
from tests.web_helpers import World, web_world
from tests.workflow_helpers import eventually
from web.services.requests import today_utc

START_IN_DAYS = 45
DURATION_DAYS = 60


def day(n: int) -> str:
    """The ISO date `n` days from today."""
    return (today_utc() + timedelta(days=n)).isoformat()


def position_body(**overrides: Any) -> dict[str, Any]:
    """A valid position: two rule-of-law advisers for 60 days from 45 days ahead."""
    body: dict[str, Any] = {
        "sector": "rule_of_law",
        "role_title": "Rule of law adviser",
        "languages": ["ar"],
        "component": "active",
        "start_date": day(START_IN_DAYS),
        "duration_days": DURATION_DAYS,
        "count": 2,
    }
    body.update(overrides)
    return body


def operation_body(post_code: str, **overrides: Any) -> dict[str, Any]:
    """A valid operation at one post with one position of two places."""
    body: dict[str, Any] = {
        "name": "Juba stabilization",
        "post_codes": [post_code],
        "objective": "Reopen the courts of Central Equatoria",
        "start_date": day(START_IN_DAYS),
        "end_date": day(START_IN_DAYS + 90),
        "positions": [position_body()],
    }
    body.update(overrides)
    return body


async def cleared_members(world: World, count: int) -> list[int]:
    """`count` Active members cleared for a SECRET post (they pass vetting by themselves)."""
    members = [factories.member(name=f"Member {i}", email=f"m{i}@example.gov") for i in range(count)]
    await world.add(*members)
    return [m.id for m in members if m.id is not None]


async def trained_member(world: World, **overrides: Any) -> int:
    """An Active member speaking Arabic at ILR 4 with FACT and orientation valid for years."""
    fields: dict[str, Any] = {"languages": ["ar"], "language_levels": {"ar": 4}, **overrides}
    member = factories.member(**fields)
    await world.add(member)
    assert member.id is not None
    today = today_utc()
    await world.add(
        factories.certificate(member.id, COURSE_FACT, today, today + timedelta(days=2000)),
        factories.certificate(member.id, COURSE_ORIENTATION, today, None),
    )
    return member.id


@asynccontextmanager
async def operations_world(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> AsyncIterator[World]:
    """The web world, which also ends the operation workflows its test started."""
    async with web_world(engine, temporal_client, task_queue) as world:
        try:
            yield world
        finally:
            async with session_factory(engine)() as session:
                workflow_ids = (await session.exec(select(Operation.workflow_id))).all()
            for workflow_id in workflow_ids:
                with suppress(Exception):  # already finished
                    await temporal_client.get_workflow_handle(workflow_id).terminate("test finished")


async def create(
    world: World, post_code: str, username: str = "planning", **overrides: Any
) -> dict[str, Any]:
    """POST an operation and return it (201 expected)."""
    response = await world.http.post(
        "/api/v1/operations",
        json=operation_body(post_code, **overrides),
        headers=await world.headers(username),
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def post(world: World, path: str, username: str, body: dict[str, Any]) -> Any:
    """POST to the operations API as a user; the response."""
    return await world.http.post(
        f"/api/v1/operations{path}", json=body, headers=await world.headers(username)
    )


async def read(world: World, operation_id: str, username: str = "planning") -> dict[str, Any]:
    """GET one operation."""
    response = await world.http.get(
        f"/api/v1/operations/{operation_id}", headers=await world.headers(username)
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def wait_status(world: World, operation_id: str, status: str) -> dict[str, Any]:
    """Poll the operation until its read-model shows `status`."""

    async def current() -> dict[str, Any]:
        return await read(world, operation_id)

    return await eventually(current, lambda o: o["status"] == status)


async def approved(world: World, post_code: str, **overrides: Any) -> dict[str, Any]:
    """An operation approved by Resource Management and the Planning director."""
    created = await create(world, post_code, **overrides)
    for username in ("resource_management", "director"):
        response = await post(world, f"/{created['id']}/approve", username, {})
        assert response.status_code == 200, response.text
    return await wait_status(world, created["id"], "APPROVED")
