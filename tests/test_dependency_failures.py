"""A dependency that fails is a 503 with Retry-After, never a 500, and /healthz knows a database
that refuses writes."""

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from temporalio.client import Client

from crc.db import async_url
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
