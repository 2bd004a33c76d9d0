"""GET /api/v1/operations/{id}/positions/{position_id}/candidates: the roster ranked for a position."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.candidates import long_date
from crc.domain import COURSE_FACT, COURSE_ORIENTATION, ClearanceLevel, WindowKind
from crc.tables import AvailabilityWindow
from tests import factories
from tests.operation_helpers import START_IN_DAYS, approved, operations_world, post, trained_member
from tests.web_helpers import World
from web.services.requests import today_utc


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with operations_world(engine, temporal_client, task_queue) as w:
        yield w


async def candidates(world: World, path: str, username: str = "planning", **params: Any) -> Any:
    return await world.http.get(
        f"/api/v1/operations{path}/candidates", params=params, headers=await world.headers(username)
    )


async def test_candidates_best_first_with_reasons_and_gaps(world: World) -> None:
    await world.add(factories.course(COURSE_FACT), factories.course(COURSE_ORIENTATION))
    best = await trained_member(world, name="Amal Haddad")
    low = await trained_member(world, name="Cora Lowe", clearance_level=ClearanceLevel.CONFIDENTIAL.value)
    away = await trained_member(world, name="Bea Away")
    retired = await trained_member(world, name="Rita Retired", retired_on=today_utc())
    start = today_utc() + timedelta(days=START_IN_DAYS)
    await world.add(
        AvailabilityWindow(member_id=away, kind=WindowKind.LEAVE, starts_on=start, ends_on=start, note="")
    )
    operation = await approved(world, world.post.code)
    position = operation["positions"][0]
    path = f"/{operation['id']}/positions/{position['id']}"

    response = await candidates(world, path)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(c["member_id"], c["score"]) for c in items] == [
        (best, 144),
        (low, 124),
        (world.member.id, 100),
        (world.standby.id, 85),
    ]
    assert {retired, away}.isdisjoint(c["member_id"] for c in items)
    by = long_date(start)
    assert items[0]["name"] == "Amal Haddad"
    assert items[0]["gaps"] == []
    assert items[0]["reasons"][:2] == ["works in rule of law", "speaks ar at ILR 4"]
    assert items[1]["gaps"] == ["clearance Secret needed, holds Confidential"]
    assert items[2]["gaps"] == ["does not speak ar", f"needs FACT by {by}", f"needs CRC-ORIENT by {by}"]
    assert items[3]["gaps"] == [
        "does not speak ar",
        f"needs FACT by {by}",
        f"needs CRC-ORIENT by {by}",
        "Standby member; the position prefers Active",
    ]
    limited = await candidates(world, path, limit=2)
    assert [c["member_id"] for c in limited.json()["items"]] == [best, low]
    # Operations sees operations too.
    assert (await candidates(world, path, "operations")).json() == response.json()

    filled = await post(world, f"{path}/fill", "planning", {"member_ids": [best]})
    assert filled.status_code == 200, filled.text
    after = (await candidates(world, path)).json()["items"]
    assert [c["member_id"] for c in after] == [low, world.member.id, world.standby.id]


async def test_candidates_refusals(world: World) -> None:
    operation = await approved(world, world.post.code)
    path = f"/{operation['id']}/positions/{operation['positions'][0]['id']}"
    assert (await candidates(world, path, "requester")).status_code == 403
    unknown_position = await candidates(world, f"/{operation['id']}/positions/nope")
    assert (unknown_position.status_code, unknown_position.json()["detail"]) == (
        404,
        "the operation has no position with this id",
    )
    unknown_operation = await candidates(world, "/nope/positions/nope")
    assert (unknown_operation.status_code, unknown_operation.json()["detail"]) == (
        404,
        "no operation has this id",
    )
    too_many = await candidates(world, path, limit=101)
    assert too_many.status_code == 422
    assert [e["loc"] for e in too_many.json()["detail"]] == [["query", "limit"]]
