"""Two requests for one member and the same dates at once: the overlap check holds on PostgreSQL."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, select
from temporalio.client import Client

from crc.db import create_engine
from crc.tables import Deployment
from tests.web_helpers import World, count_rows, gather, request_body, web_world


@pytest.fixture
async def pg_engine(postgres_url: str, pg_schema: str) -> AsyncIterator[AsyncEngine]:
    """PostgreSQL only: SQLite's driver begins its transaction at the first write, so its reads
    cannot be made to wait (a known limit of the dev database, see README)."""
    engine = create_engine(postgres_url, schema=pg_schema)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def world(pg_engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(pg_engine, temporal_client, task_queue) as w:
        yield w


async def test_racing_requests_for_one_member_make_one_deployment(world: World) -> None:
    body = request_body(world.member, world.post)
    headers = await world.headers("requester")
    responses = await gather(
        *(
            world.http.post("/api/v1/deployments", json=body, headers=headers | {"Idempotency-Key": f"k{i}"})
            for i in range(5)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 422, 422, 422, 422], [r.text for r in responses]
    refusal = next(r for r in responses if r.status_code == 422).json()["detail"]
    assert [e["loc"] for e in refusal] == [["body", "member_id"]]
    assert await count_rows(world.engine, select(Deployment)) == 1
