"""POST /api/v1/operations/{id}/surge: the best ranked ready Active members called up for every open
place, to start within 48 hours, as the operation's child deployments; what cannot be filled is said."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from temporalio.client import Client

from crc.db import session_factory
from crc.domain import COURSE_FACT, COURSE_ORIENTATION, Component
from crc.operation_tables import OperationEvent
from crc.tables import Deployment
from tests import factories
from tests.operation_helpers import approved, operations_world, position_body, post, read, trained_member
from tests.web_helpers import World, csrf_of
from web.services.requests import today_utc


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with operations_world(engine, temporal_client, task_queue) as w:
        yield w


async def _ready(world: World, name: str, sector: str, **overrides: Any) -> int:
    """An Active member ready for a call-up in the sector (tests.operation_helpers.trained_member)."""
    return await trained_member(world, name=name, sectors=[sector], **overrides)


async def _surge(world: World, operation_id: str, username: str = "planning", **body: Any) -> Any:
    return await post(world, f"/{operation_id}/surge", username, body)


async def test_a_surge_calls_up_ready_active_members_for_every_open_place(world: World) -> None:
    await world.add(factories.course(COURSE_FACT), factories.course(COURSE_ORIENTATION))
    judges = [await _ready(world, f"Judge {i}", "rule_of_law") for i in range(3)]
    # Ready but Standby, or Active without a passport valid long enough: never called up.
    await _ready(world, "Sam Standby", "rule_of_law", component=Component.STANDBY.value)
    await _ready(world, "Pat Passport", "rule_of_law", passport_expires=today_utc() + timedelta(days=10))
    economist = await _ready(world, "Eve Economist", "economic_stabilization")
    operation = await approved(
        world,
        world.post.code,
        positions=[
            position_body(count=2),
            position_body(sector="economic_stabilization", role_title="Budget adviser", count=2),
        ],
    )
    courts, budget = operation["positions"]

    response = await _surge(world, operation["id"])

    assert response.status_code == 200, response.text
    answer = response.json()
    start = (today_utc() + timedelta(days=2)).isoformat()
    assert answer["start_date"] == start
    # Best first (the same score: the lower id), each member once, only the ready Active ones.
    assert answer["called_up"] == [
        {"position_id": courts["id"], "member_ids": judges[:2]},
        {"position_id": budget["id"], "member_ids": [economist]},
    ]
    assert answer["shortfalls"] == [
        {"position_id": budget["id"], "role_title": "Budget adviser", "missing": 1}
    ]
    assert [p["filled"] for p in answer["operation"]["positions"]] == [2, 1]
    assert answer["operation"]["status"] == "STAFFING"
    async with session_factory(world.engine)() as session:
        rows = (await session.exec(select(Deployment).order_by(col(Deployment.member_id)))).all()
        audit = (
            await session.exec(select(OperationEvent.message).where(OperationEvent.kind == "position_filled"))
        ).all()
    assert [(d.member_id, d.start_date.isoformat(), d.requested_by) for d in rows] == [
        (judges[0], start, "planning"),
        (judges[1], start, "planning"),
        (economist, start, "planning"),
    ]
    assert sorted(audit) == sorted(
        [f"Rule of law adviser: member {m} called up in a surge for {start}" for m in judges[:2]]
        + [f"Budget adviser: member {economist} called up in a surge for {start}"]
    )

    # Only the budget adviser's place is open now, and nobody ready is left for it.
    again = await _surge(world, operation["id"])
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "no Active member is ready to start within 48 hours for any open position",
    )
    assert [p["filled"] for p in (await read(world, operation["id"]))["positions"]] == [2, 1]


async def test_surge_refusals(world: World) -> None:
    operation = await approved(world, world.post.code)
    today = today_utc()
    assert (await _surge(world, operation["id"], "requester")).status_code == 403
    assert (await _surge(world, operation["id"], "operations")).status_code == 403
    late = await _surge(world, operation["id"], start_date=(today + timedelta(days=3)).isoformat())
    assert late.status_code == 422
    assert late.json()["detail"] == [
        {
            "loc": ["body", "start_date"],
            "msg": f"a surge starts within 48 hours: from {today} to {today + timedelta(days=2)}",
            "type": "value_error",
        }
    ]
    past = await _surge(world, operation["id"], start_date=(today - timedelta(days=1)).isoformat())
    assert past.status_code == 422
    unknown = await _surge(world, "nope")
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no operation has this id")
    # The world's own members are not ready (no FACT): nothing is called up, nothing written.
    nobody = await _surge(world, operation["id"])
    assert (nobody.status_code, nobody.json()["detail"]) == (
        409,
        "no Active member is ready to start within 48 hours for any open position",
    )
    async with session_factory(world.engine)() as session:
        assert (await session.exec(select(Deployment))).all() == []


async def test_the_board_surges_and_says_what_stays_open(world: World) -> None:
    await world.add(factories.course(COURSE_FACT), factories.course(COURSE_ORIENTATION))
    ready = await _ready(world, "Judge Ready", "rule_of_law")
    operation = await approved(world, world.post.code)
    board_path = f"/operations/{operation['id']}"
    async with world.signed_in("planning") as browser:
        board = await browser.get(board_path)
        assert f'action="{board_path}/surge"' in board.text
        token = csrf_of(board.text)
        assert (await browser.post(f"{board_path}/surge")).status_code == 403  # no CSRF
        done = await browser.post(f"{board_path}/surge", data={"csrf_token": token})
        assert (done.status_code, done.headers["location"]) == (303, board_path)
        after = await browser.get(board_path)
        start = today_utc() + timedelta(days=2)
        assert (
            f"Surge: 1 Active member called up to start on {start}. "
            "No ready member for: Rule of law adviser (1 place)." in after.text
        )
        nobody = await browser.post(f"{board_path}/surge", data={"csrf_token": token})
        assert nobody.status_code == 409
        assert "no Active member is ready to start within 48 hours for any open position" in nobody.text
    async with session_factory(world.engine)() as session:
        assert [d.member_id for d in (await session.exec(select(Deployment))).all()] == [ready]
    async with world.signed_in("operations") as browser:
        assert f'action="{board_path}/surge"' not in (await browser.get(board_path)).text
