"""POST /api/v1/posts/{code}/threat-level: who may change a post's threat level (403), what it
refuses (422 naming the field, 404), the change logged, and each open deployment told of it."""

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.db import session_factory
from crc.tables import Post
from crc.watchlist_tables import PostThreatChange
from tests.web_helpers import World, count_rows, csrf_of, web_world

CHANGE = {
    "threat_level": "critical",
    "reason": "Fighting reached the capital",
    "clearance_required": "top_secret",
    "danger_pay_pct": "50",
}


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


async def change(world: World, username: str, body: dict[str, Any], code: str | None = None) -> Any:
    """POST a threat-level change for the world's post (or `code`) as a user; the response."""
    return await world.http.post(
        f"/api/v1/posts/{code or world.post.code}/threat-level",
        json=body,
        headers=await world.headers(username),
    )


async def post_row(world: World) -> Post:
    async with session_factory(world.engine)() as session:
        row = await session.get(Post, world.post.code)
        assert row is not None
        return row


async def test_operations_raise_the_threat_and_each_open_deployment_hears_of_it(world: World) -> None:
    deployment = await world.submit()
    await world.open_tasks(deployment["id"], 3)
    priced = await world.deployment(deployment["id"])
    response = await change(world, "operations", CHANGE)
    assert response.status_code == 200, response.text
    changed = response.json()
    assert {k: changed[k] for k in ("previous", "threat_level", "clearance_before", "clearance_after")} == {
        "previous": "high",
        "threat_level": "critical",
        "clearance_before": "secret",
        "clearance_after": "top_secret",
    }
    assert (Decimal(changed["danger_pay_before"]), Decimal(changed["danger_pay_after"])) == (
        Decimal("35"),
        Decimal("50"),
    )
    assert (changed["changed_by"], changed["deployments_told"]) == ("operations", 1)
    row = await post_row(world)
    assert (row.threat_level, row.clearance_required, row.danger_pay_pct) == (
        "critical",
        "top_secret",
        Decimal("50"),
    )
    # At APPROVAL nothing is decided yet that the change asks again: the estimate is re-priced.
    told = await world.wait_for(
        deployment["id"], lambda d: any(e["kind"] == "threat_changed" for e in d["timeline"])
    )
    [event] = [e for e in told["timeline"] if e["kind"] == "threat_changed"]
    assert event["message"].startswith(
        f"Threat level at {world.post.code} changed from high to critical by Operations: "
        "Fighting reached the capital; cost estimate now $"
    )
    assert Decimal(told["cost_estimate_usd"]) > Decimal(priced["cost_estimate_usd"])
    listed = await world.http.get(
        f"/api/v1/posts/{world.post.code}/threat-changes", headers=await world.headers("planning")
    )
    assert [c["id"] for c in listed.json()["items"]] == [changed["id"]]


@pytest.mark.parametrize("username", ["director", "admin"])
async def test_directors_and_admins_change_it_too(world: World, username: str) -> None:
    response = await change(world, username, {"threat_level": "low", "reason": "Ceasefire holds"})
    assert response.status_code == 200, response.text
    assert (response.json()["deployments_told"], (await post_row(world)).threat_level) == (0, "low")


@pytest.mark.parametrize("username", ["planning", "logistics", "requester", "conflict_prevention", "member"])
async def test_other_offices_may_not(world: World, username: str) -> None:
    assert (await change(world, username, CHANGE)).status_code == 403
    assert (await post_row(world)).threat_level == "high"
    assert await count_rows(world.engine, select(PostThreatChange)) == 0


@pytest.mark.parametrize(
    ("body", "loc", "msg"),
    [
        (
            {"threat_level": "severe", "reason": "x"},
            ["body", "threat_level"],
            "must be one of: low, medium, high, critical",
        ),
        ({"threat_level": "low", "reason": " "}, ["body", "reason"], "must not be empty"),
        (
            {"threat_level": "low", "reason": "x", "clearance_required": "cosmic"},
            ["body", "clearance_required"],
            "must be one of: none, confidential, secret, top_secret",
        ),
        (
            {"threat_level": "high", "reason": "Reviewed"},
            ["body", "threat_level"],
            "is already high, and nothing else given changes",
        ),
    ],
)
async def test_bad_changes_name_the_field(
    world: World, body: dict[str, Any], loc: list[str], msg: str
) -> None:
    response = await change(world, "operations", body)
    assert response.status_code == 422, response.text
    assert [(e["loc"], e["msg"]) for e in response.json()["detail"]] == [(loc, msg)]
    assert await count_rows(world.engine, select(PostThreatChange)) == 0


async def test_an_unknown_post_is_404(world: World) -> None:
    response = await change(world, "operations", CHANGE, code="NOPE")
    assert (response.status_code, response.json()["detail"]) == (404, "no post has this code")


async def test_the_admin_post_form_logs_and_tells_a_change_too(world: World) -> None:
    deployment = await world.submit()
    await world.open_tasks(deployment["id"], 3)
    url = f"/posts/{world.post.code}/edit"
    async with world.signed_in("admin") as browser:
        form = await browser.get(url)
        data = {
            "csrf_token": csrf_of(form.text),
            "country": world.post.country,
            "city": world.post.city,
            "threat_level": "medium",
            "clearance_required": "secret",
            "per_diem_usd": str(world.post.per_diem_usd),
            "danger_pay_pct": "35",
            "post_differential_pct": str(world.post.post_differential_pct),
            "clearance_lead_days": "10",
        }
        saved = await browser.post(url, data=data)
        assert saved.status_code == 303
        unchanged = await browser.post(url, data={**data, "clearance_lead_days": "12"})
        assert unchanged.status_code == 303  # no rule deployments depend on: nothing to tell
    async with session_factory(world.engine)() as session:
        [row] = (await session.exec(select(PostThreatChange))).all()
    assert (row.previous, row.threat_level, row.reason, row.changed_by, row.deployments_told) == (
        "high",
        "medium",
        "Changed on the post form",
        "admin",
        1,
    )
    told = await world.wait_for(
        deployment["id"], lambda d: any(e["kind"] == "threat_changed" for e in d["timeline"])
    )
    [event] = [e for e in told["timeline"] if e["kind"] == "threat_changed"]
    assert event["message"] == (
        f"Threat level at {world.post.code} changed from high to medium by Admin: Changed on the post form"
    )
