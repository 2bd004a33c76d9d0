"""GET /api/v1/members, /api/v1/posts and /healthz."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.db import create_engine
from tests.web_helpers import World, active_member, web_world
from web.services.requests import today_utc


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


async def _members(world: World, query: str = "") -> list[dict[str, Any]]:
    response = await world.http.get(f"/api/v1/members{query}", headers=await world.headers("requester"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    items: list[dict[str, Any]] = body["items"]
    return items


async def test_members_and_filters(world: World) -> None:
    health = active_member(name="Casey Health", agency="HHS", sectors=["essential_services"])
    await world.add(health)
    everyone = await _members(world)
    assert sorted(m["name"] for m in everyone) == sorted(
        [world.member.name, world.standby.name, "Casey Health"]
    )
    assert set(everyone[0]) >= {
        "id",
        "name",
        "agency",
        "component",
        "sectors",
        "languages",
        "clearance_level",
        "available",
    }
    assert [m["name"] for m in await _members(world, "?component=standby")] == [world.standby.name]
    assert [m["name"] for m in await _members(world, "?agency=HHS")] == ["Casey Health"]
    assert [m["name"] for m in await _members(world, "?sector=essential_services")] == ["Casey Health"]
    assert await _members(world, "?agency=Treasury") == []


async def test_member_held_by_a_deployment_is_not_available(world: World) -> None:
    start = today_utc() + timedelta(days=10)
    await world.submit(start_date=start.isoformat(), duration_days=30)
    by_id = {m["id"]: m for m in await _members(world)}
    assert by_id[world.member.id]["available"] is False
    assert by_id[world.standby.id]["available"] is True
    after = (start + timedelta(days=30)).isoformat()
    during = (start + timedelta(days=29)).isoformat()
    assert world.member.id in {m["id"] for m in await _members(world, f"?available_from={after}")}
    assert world.member.id not in {m["id"] for m in await _members(world, f"?available_from={during}")}


async def test_posts(world: World) -> None:
    response = await world.http.get("/api/v1/posts", headers=await world.headers("member"))
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1
    (post,) = body["items"]
    assert post["code"] == world.post.code
    assert post["threat_level"] == "high"
    assert post["clearance_lead_days"] == 10
    assert post["per_diem_usd"] == "250.00"


async def test_healthz_ok(world: World) -> None:
    response = await world.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


class _Unreachable:
    class service_client:  # mimics the attribute of temporalio's Client
        @staticmethod
        async def check_health(**_: Any) -> bool:
            raise RuntimeError("connection refused")


async def test_healthz_503_names_what_failed(world: World) -> None:
    world.app.state.temporal_client = _Unreachable()
    response = await world.http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["temporal"]
    await world.engine.dispose()
    world.app.state.engine = create_engine("sqlite:////nonexistent/dir/crc.db")
    response = await world.http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database", "temporal"]
