"""/api/v1/watchlist: countries with their risk history, contingency plans activated into
operations once, who may do what (403), 422s naming the field, 404s."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.operation_tables import Operation
from crc.watchlist_tables import ContingencyPlan, WatchlistCountry, WatchlistEntry
from tests.operation_helpers import operation_body, operations_world, read
from tests.web_helpers import World, count_rows

SUDAN = {
    "code": "sd",
    "name": "Sudan",
    "risk_level": "high",
    "note": "Fighting around El Fasher",
    "sources": [{"title": "UN OCHA situation report", "url": "https://reliefweb.int/report/sudan"}],
}


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with operations_world(engine, temporal_client, task_queue) as w:
        yield w


async def call(world: World, method: str, path: str, username: str, body: Any = None) -> Any:
    """A request to the watchlist API as a user; the response."""
    return await world.http.request(
        method, f"/api/v1/watchlist{path}", json=body, headers=await world.headers(username)
    )


async def watched(world: World) -> dict[str, Any]:
    """Sudan on the watchlist (201 expected)."""
    response = await call(world, "POST", "", "conflict_prevention", SUDAN)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def planned(world: World, username: str = "conflict_prevention") -> dict[str, Any]:
    """A contingency plan for Sudan at the world's post (201 expected)."""
    response = await call(world, "POST", "/SD/plans", username, operation_body(world.post.code))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_conflict_prevention_watches_a_country_and_its_history_grows(world: World) -> None:
    added = await watched(world)
    assert (added["code"], added["name"], added["risk_level"], added["created_by"]) == (
        "SD",
        "Sudan",
        "high",
        "conflict_prevention",
    )
    (first,) = added["history"]
    assert (first["risk_level"], first["note"], first["sources"], first["assessed_by"]) == (
        "high",
        "Fighting around El Fasher",
        SUDAN["sources"],
        "conflict_prevention",
    )
    assessment = {"risk_level": "critical", "note": "Siege of the city", "sources": []}
    response = await call(world, "POST", "/sd/assessments", "conflict_prevention", assessment)
    assert response.status_code == 201, response.text
    assert response.json()["risk_level"] == "critical"
    assert [(h["risk_level"], h["note"]) for h in response.json()["history"]] == [
        ("critical", "Siege of the city"),
        ("high", "Fighting around El Fasher"),
    ]
    for username in ("planning", "director", "admin"):
        listed = await call(world, "GET", "", username)
        assert listed.status_code == 200
        assert [(c["code"], c["risk_level"]) for c in listed.json()["items"]] == [("SD", "critical")]
        detail = await call(world, "GET", "/SD", username)
        assert detail.json() == response.json()
    assert await count_rows(world.engine, select(WatchlistEntry)) == 2


async def test_the_list_puts_the_highest_risk_first(world: World) -> None:
    await watched(world)
    for code, name, risk in (("HT", "Haiti", "critical"), ("ML", "Mali", "low")):
        body = {**SUDAN, "code": code, "name": name, "risk_level": risk}
        assert (await call(world, "POST", "", "conflict_prevention", body)).status_code == 201
    listed = (await call(world, "GET", "", "planning")).json()
    assert [c["code"] for c in listed["items"]] == ["HT", "SD", "ML"]


async def test_a_country_is_added_once(world: World) -> None:
    await watched(world)
    again = await call(world, "POST", "", "conflict_prevention", {**SUDAN, "code": "SD"})
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "SD is on the watchlist already: add an assessment to it instead",
    )
    assert await count_rows(world.engine, select(WatchlistEntry)) == 1


@pytest.mark.parametrize("username", ["planning", "director", "operations", "requester"])
async def test_only_conflict_prevention_or_admin_writes(world: World, username: str) -> None:
    assert (await call(world, "POST", "", username, SUDAN)).status_code == 403
    assert await count_rows(world.engine, select(WatchlistCountry)) == 0
    await watched(world)
    body = {"risk_level": "low", "note": "Calm", "sources": []}
    assert (await call(world, "POST", "/SD/assessments", username, body)).status_code == 403
    assert await count_rows(world.engine, select(WatchlistEntry)) == 1


@pytest.mark.parametrize("username", ["operations", "requester", "resource_management", "member"])
async def test_other_offices_do_not_read_it(world: World, username: str) -> None:
    await watched(world)
    assert (await call(world, "GET", "", username)).status_code == 403
    assert (await call(world, "GET", "/SD", username)).status_code == 403


@pytest.mark.parametrize(
    ("change", "loc", "msg"),
    [
        ({"code": "SDN"}, ["body", "code"], "must be at most 2 characters"),
        ({"code": "1x"}, ["body", "code"], "must be a two-letter ISO 3166 country code, like SD"),
        ({"risk_level": "severe"}, ["body", "risk_level"], "must be one of: low, medium, high, critical"),
        ({"note": " "}, ["body", "note"], "must not be empty"),
        (
            {"sources": [{"title": "A rumour", "url": "javascript:alert(1)"}]},
            ["body", "sources", 0, "url"],
            "must be a web address starting with http:// or https://",
        ),
    ],
)
async def test_bad_fields_are_named(world: World, change: dict[str, Any], loc: list[Any], msg: str) -> None:
    response = await call(world, "POST", "", "conflict_prevention", {**SUDAN, **change})
    assert response.status_code == 422, response.text
    assert [(e["loc"], e["msg"]) for e in response.json()["detail"]] == [(loc, msg)]
    assert await count_rows(world.engine, select(WatchlistCountry)) == 0


async def test_unknown_countries_and_plans_are_404(world: World) -> None:
    missing = await call(world, "GET", "/ZZ", "planning")
    assert (missing.status_code, missing.json()["detail"]) == (404, "no watched country has this code")
    body = {"risk_level": "low", "note": "Calm", "sources": []}
    assert (await call(world, "POST", "/ZZ/assessments", "conflict_prevention", body)).status_code == 404
    await watched(world)
    nope = await call(world, "POST", "/SD/plans/nope/activate", "planning")
    assert (nope.status_code, nope.json()["detail"]) == (
        404,
        "the country has no contingency plan with this id",
    )


async def test_a_plan_is_kept_then_activated_once_into_a_draft_operation(world: World) -> None:
    await watched(world)
    plan = await planned(world)
    assert (plan["status"], plan["operation_id"], plan["created_by"], len(plan["positions"])) == (
        "draft",
        None,
        "conflict_prevention",
        1,
    )
    assert await count_rows(world.engine, select(Operation)) == 0  # kept, not started

    response = await call(world, "POST", f"/SD/plans/{plan['id']}/activate", "planning")
    assert response.status_code == 201, response.text
    operation = response.json()
    assert (operation["status"], operation["lead"], operation["name"]) == ("DRAFT", "planning", plan["name"])
    assert [p["count"] for p in operation["positions"]] == [2]
    assert (await read(world, operation["id"]))["status"] == "DRAFT"
    described = await world.temporal.get_workflow_handle(operation["workflow_id"]).describe()
    assert described.workflow_type == "OperationWorkflow"
    audit = await world.http.get(
        f"/api/v1/operations/{operation['id']}/audit", headers=await world.headers("planning")
    )
    activated = [e for e in audit.json()["items"] if e["kind"] == "activated"]
    assert [(e["actor"], e["message"], e["data"]) for e in activated] == [
        (
            "planning",
            "Activated from the contingency plan for Sudan",
            {"plan_id": plan["id"], "country_code": "SD"},
        )
    ]
    (shown,) = (await call(world, "GET", "/SD", "director")).json()["plans"]
    assert (shown["status"], shown["activated_by"], shown["operation_id"]) == (
        "activated",
        "planning",
        operation["id"],
    )

    again = await call(world, "POST", f"/SD/plans/{plan['id']}/activate", "conflict_prevention")
    assert (again.status_code, again.json()["detail"]) == (409, "the plan has been activated already")
    assert await count_rows(world.engine, select(Operation)) == 1


@pytest.mark.parametrize("username", ["director", "operations", "resource_management", "requester"])
async def test_only_conflict_prevention_planning_or_admin_plan_and_activate(
    world: World, username: str
) -> None:
    await watched(world)
    body = operation_body(world.post.code)
    assert (await call(world, "POST", "/SD/plans", username, body)).status_code == 403
    plan = await planned(world, "planning")
    assert (await call(world, "POST", f"/SD/plans/{plan['id']}/activate", username)).status_code == 403
    assert await count_rows(world.engine, select(ContingencyPlan)) == 1
    assert await count_rows(world.engine, select(Operation)) == 0


async def test_a_plan_names_its_bad_fields(world: World) -> None:
    await watched(world)
    body = operation_body("NOPE")
    response = await call(world, "POST", "/SD/plans", "conflict_prevention", body)
    assert response.status_code == 422, response.text
    assert [(e["loc"], e["msg"]) for e in response.json()["detail"]] == [
        (["body", "post_codes", "0"], "no post has this code")
    ]
    assert await count_rows(world.engine, select(ContingencyPlan)) == 0
