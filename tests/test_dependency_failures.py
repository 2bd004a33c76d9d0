"""A dependency that fails is a 503 with Retry-After, never a 500, and /healthz knows a database
that refuses writes."""

from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel
from temporalio.client import Client

from crc.db import async_url, create_engine
from crc.settings import Settings
from tests import factories
from tests.web_helpers import http_client, make_app, user
from web.app import create_app
from web.errors import DATABASE_DOWN
from web.security import create_access_token


async def test_healthz_is_503_when_the_database_takes_no_writes(
    engine: AsyncEngine, database_url: tuple[str, str | None], temporal_client: Client, task_queue: str
) -> None:
    app = make_app(engine, temporal_client, task_queue)
    async with http_client(app) as http:
        healthy = await http.get("/healthz")
    assert (healthy.status_code, healthy.json()) == (200, {"status": "ok"})

    url, schema = database_url
    if schema is None:  # SQLite opened read-only
        read_only = create_async_engine(async_url(url).replace("///", "///file:") + "?mode=ro&uri=true")
    else:  # PostgreSQL with every transaction read-only
        options = f"-c search_path={schema} -c default_transaction_read_only=on"
        read_only = create_async_engine(async_url(url), connect_args={"options": options})
    app = make_app(read_only, temporal_client, task_queue)
    async with http_client(app) as http:
        refused = await http.get("/healthz")
    await read_only.dispose()
    assert (refused.status_code, refused.headers["retry-after"]) == (503, "5")
    assert refused.json() == {"status": "unavailable", "failed": ["database"], "detail": "database down"}


@pytest.fixture
def unreachable_engine(tmp_path: Path) -> AsyncEngine:
    """An engine on a SQLite file in a folder that does not exist: every connection fails."""
    return create_async_engine(async_url(f"sqlite:///{tmp_path / 'gone' / 'crc.db'}"))


async def test_a_database_that_does_not_answer_is_a_503_on_the_api_and_the_pages(
    unreachable_engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    app = make_app(unreachable_engine, temporal_client, task_queue)
    token = create_access_token(Settings(CRC_ENV="dev"), "planning")
    async with http_client(app) as http:
        api = await http.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
        page = await http.get("/login")
        signing_in = await http.post("/api/v1/auth/token", data={"username": "planning", "password": "x"})
    assert (api.status_code, api.headers["retry-after"], api.json()) == (503, "5", {"detail": DATABASE_DOWN})
    assert (signing_in.status_code, signing_in.json()) == (503, {"detail": DATABASE_DOWN})
    assert page.status_code == 200  # the sign-in page itself needs no database


async def test_a_temporal_client_not_yet_connected_is_a_503_with_retry_after(engine: AsyncEngine) -> None:
    await factories.add(engine, user("requester", ["requester"]))
    app = create_app(Settings(CRC_ENV="dev"), engine=engine, temporal_client=None)  # lifespan not run
    token = create_access_token(Settings(CRC_ENV="dev"), "requester")
    async with http_client(app) as http:
        response = await http.post(
            "/api/v1/deployments/any/cancel",
            json={"reason": "no longer needed"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert (response.status_code, response.headers["retry-after"], response.json()) == (
        503,
        "5",
        {"detail": "Temporal is not connected; try again shortly"},
    )


@pytest.mark.postgres
async def test_a_connection_terminated_before_the_request_ends_is_no_crash(
    postgres_url: str, pg_schema: str, temporal_client: Client, task_queue: str
) -> None:
    """pg_terminate_backend on a request's connection after its last query: closing the
    session on the dead connection raises nothing once the answer has started."""
    engine = create_engine(postgres_url, schema=pg_schema)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    await factories.add(engine, user("planning", ["planning"]))
    terminated: list[int] = []

    def terminate_once(conn: Any) -> None:
        # Just before the session's closing rollback: the backend dies while the request holds it.
        if not terminated:
            pid = conn.connection.driver_connection.info.backend_pid
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            terminated.append(pid)

    sa.event.listen(engine.sync_engine, "rollback", terminate_once)
    app = make_app(engine, temporal_client, task_queue)
    token = create_access_token(Settings(CRC_ENV="dev"), "planning")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with http_client(app) as http:
            listed = await http.get("/api/v1/tasks", headers=headers)
            nothing = {"items": [], "total": 0, "next_cursor": None}
            assert (listed.status_code, listed.json()) == (200, nothing)
            again = await http.get("/api/v1/tasks", headers=headers)
            assert again.status_code == 200
    finally:
        await engine.dispose()
    assert len(terminated) == 1
