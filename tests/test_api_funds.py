"""/api/v1/funds and the budget approvals that draw on them: who may keep funds (403), fields
named in 422s, and, through the real workflows, an approval that obligates, one refused with the
figures (409, the task left open), and a cancellation that gives the money back."""

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from crc import names
from crc.funds import fiscal_year_of
from crc.types import Decision
from tests.operation_helpers import approved, cleared_members, create, operations_world, post
from tests.web_helpers import World, csrf_of
from tests.workflow_helpers import eventually
from web.services.requests import today_utc


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with operations_world(engine, temporal_client, task_queue) as w:
        yield w


def this_fy() -> int:
    return fiscal_year_of(today_utc())


def fund_body(operation: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Juba stabilization",
        "fiscal_year": this_fy(),
        "amount_usd": "250000.00",
        "operation_id": operation,
    }
    body.update(overrides)
    return body


async def add_fund(
    world: World, operation: str, username: str = "resource_management", **overrides: Any
) -> Any:
    return await world.http.post(
        "/api/v1/funds", json=fund_body(operation, **overrides), headers=await world.headers(username)
    )


async def read_fund(world: World, fund_id: str) -> dict[str, Any]:
    response = await world.http.get(
        f"/api/v1/funds/{fund_id}", headers=await world.headers("resource_management")
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def figures(fund: dict[str, Any]) -> tuple[str, str, str, str]:
    return fund["amount_usd"], fund["obligated_usd"], fund["spent_usd"], fund["remaining_usd"]


async def test_resource_management_records_a_fund_and_reads_where_it_stands(world: World) -> None:
    operation = await create(world, world.post.code)
    created = await add_fund(world, operation["id"], amount_usd=250000)
    assert created.status_code == 201, created.text
    fund = created.json()
    assert {k: fund[k] for k in ("name", "fiscal_year", "operation_id", "operation_name", "created_by")} == {
        "name": "Juba stabilization",
        "fiscal_year": this_fy(),
        "operation_id": operation["id"],
        "operation_name": "Juba stabilization",
        "created_by": "resource_management",
    }
    assert figures(fund) == ("250000.00", "0.00", "0.00", "250000.00")
    assert await read_fund(world, fund["id"]) == fund
    next_year = (await add_fund(world, operation["id"], username="admin", fiscal_year=this_fy() + 1)).json()

    async def listed(**params: Any) -> list[str]:
        response = await world.http.get(
            "/api/v1/funds", params=params, headers=await world.headers("resource_management")
        )
        assert response.status_code == 200, response.text
        return [f["id"] for f in response.json()["items"]]

    assert await listed() == [next_year["id"], fund["id"]]
    assert await listed(fiscal_year=this_fy()) == [fund["id"]]
    assert await listed(operation_id=operation["id"], fiscal_year=this_fy() + 1) == [next_year["id"]]
    assert await listed(operation_id="nope") == []


@pytest.mark.parametrize("username", ["planning", "requester", "director", "member"])
async def test_only_resource_management_and_admins_keep_funds(world: World, username: str) -> None:
    operation = await create(world, world.post.code)
    fund = (await add_fund(world, operation["id"])).json()
    headers = await world.headers(username)
    refused = await add_fund(world, operation["id"], username=username, name="Other")
    assert refused.status_code == 403
    assert (await world.http.get("/api/v1/funds", headers=headers)).status_code == 403
    assert (await world.http.get(f"/api/v1/funds/{fund['id']}", headers=headers)).status_code == 403


async def test_each_bad_field_is_named(world: World) -> None:
    operation = await create(world, world.post.code)

    async def problems(**overrides: Any) -> list[tuple[list[Any], str]]:
        response = await add_fund(world, operation["id"], **overrides)
        assert response.status_code == 422, response.text
        return [(e["loc"], e["msg"]) for e in response.json()["detail"]]

    money = "must be an amount in dollars and cents, more than 0 and at most $999,999,999,999.99"
    for amount in (0, "-5", "1.234", "lots", 10**13):
        assert await problems(amount_usd=amount) == [(["body", "amount_usd"], money)]
    assert await problems(name=" ") == [(["body", "name"], "must not be empty")]
    first, last = this_fy() - 5, this_fy() + 5
    assert await problems(fiscal_year=this_fy() + 6, operation_id="nope") == [
        (["body", "fiscal_year"], f"must be a fiscal year from {first} to {last}"),
        (["body", "operation_id"], "no operation has this id"),
    ]
    assert await problems(fiscal_year=1999) == [
        (["body", "fiscal_year"], "must be a fiscal year such as 2027")
    ]
    assert (await add_fund(world, operation["id"])).status_code == 201
    twice = await add_fund(world, operation["id"])
    assert (twice.status_code, twice.json()["detail"]) == (
        409,
        f"a fund named Juba stabilization already exists for FY{this_fy()}",
    )
    missing = await world.http.get("/api/v1/funds/nope", headers=await world.headers("resource_management"))
    assert (missing.status_code, missing.json()["detail"]) == (404, "no fund has this id")


async def _budget_tasks(world: World, count: int) -> tuple[dict[str, Any], list[tuple[str, str, Decimal]]]:
    """An approved operation with `count` filled places; each deployment's (id, budget task, estimate)."""
    operation = await approved(world, world.post.code)
    position = operation["positions"][0]
    members = await cleared_members(world, count)
    fill = f"/{operation['id']}/positions/{position['id']}/fill"
    filled = await post(world, fill, "planning", {"member_ids": members})
    assert filled.status_code == 200, filled.text
    found = []
    for deployment_id in filled.json()["positions"][0]["deployment_ids"]:
        tasks = await world.open_tasks(deployment_id, 3, "resource_management")
        deployment = await world.deployment(deployment_id, "resource_management")
        budget = tasks["resource_management"]["id"]
        found.append((deployment_id, budget, Decimal(deployment["cost_estimate_usd"])))
    return operation, found


async def test_budget_approvals_obligate_until_the_fund_runs_out_and_cancellation_gives_back(
    world: World,
) -> None:
    operation, ((first, first_task, estimate), (second, second_task, _)) = await _budget_tasks(world, 2)
    cushion = Decimal("50.00")
    fund = (await add_fund(world, operation["id"], amount_usd=str(estimate + cushion))).json()
    # Both wait for their budget approval: the forecast holds them as pending.
    assert (fund["pending_usd"], fund["forecast_usd"]) == (f"{estimate * 2:.2f}", f"{estimate * 2:.2f}")
    facts = await _facts(world, second_task)
    assert f"Juba stabilization (FY{this_fy()}): ${estimate + cushion:,.2f} left" in facts

    async with world.signed_in("resource_management") as browser:
        page = await browser.get(f"/deployments/{second}")
    assert f"Fund Juba stabilization (FY{this_fy()}): ${estimate + cushion:,.2f} left</p>" in page.text

    approve = await world.complete(first_task, "resource_management", "approve")
    assert approve.status_code == 200, approve.text
    after = await read_fund(world, fund["id"])
    assert figures(after)[1:] == (f"{estimate:.2f}", "0.00", f"{cushion:.2f}")
    assert (after["pending_usd"], after["forecast_usd"]) == (f"{estimate:.2f}", f"{estimate * 2:.2f}")

    refusal = f"the fund Juba stabilization has ${cushion:,.2f} left; this estimate is ${estimate:,.2f}"
    async with world.signed_in("resource_management") as browser:
        inbox = await browser.get("/inbox")
    assert (
        f"Fund Juba stabilization (FY{this_fy()}): ${cushion:,.2f} left: not enough for this estimate "
        f"of ${estimate:,.2f}</span>"
    ) in inbox.text
    refused = await world.complete(second_task, "resource_management", "approve")
    assert (refused.status_code, refused.json()["detail"]) == (409, refusal)
    async with world.signed_in("resource_management") as browser:
        inbox = await browser.get("/inbox")
        row = await browser.post(
            f"/inbox/tasks/{second_task}",
            data={"outcome": "approve", "csrf_token": csrf_of(inbox.text)},
            headers={"HX-Request": "true"},
        )
    assert row.status_code == 409
    assert refusal in row.text
    # The workflow judges the fund itself too (its activity's one conditional UPDATE).
    handle = world.temporal.get_workflow_handle(names.deployment_workflow_id(second))
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(
            names.UPDATE_DECIDE,
            Decision(
                task_id=second_task, outcome="approve", user="rm.officer", roles=["resource_management"]
            ),
        )
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.message) == (names.ERR_OVERDRAWN, refusal)
    still = await world.deployment(second, "resource_management")
    assert [t["id"] for t in still["open_tasks"] if t["role"] == "resource_management"] == [second_task]
    assert still["timeline"][-1]["message"] == f"Budget approval by rm.officer refused: {refusal}"
    assert figures(await read_fund(world, fund["id"]))[1:] == (f"{estimate:.2f}", "0.00", f"{cushion:.2f}")

    cancelled = await world.http.post(
        f"/api/v1/deployments/{first}/cancel",
        json={"reason": "Post closed"},
        headers=await world.headers("admin"),
    )
    assert cancelled.status_code == 200, cancelled.text

    async def current() -> dict[str, Any]:
        return await read_fund(world, fund["id"])

    given_back = await eventually(current, lambda f: f["obligated_usd"] == "0.00")
    assert figures(given_back) == (f"{estimate + cushion:.2f}", "0.00", "0.00", f"{estimate + cushion:.2f}")
    assert (await world.complete(second_task, "resource_management", "approve")).status_code == 200


async def _facts(world: World, task_id: str) -> str:
    async with world.signed_in("resource_management") as browser:
        response = await browser.get(f"/inbox/tasks/{task_id}/facts", headers={"HX-Request": "true"})
    assert response.status_code == 200, response.text
    return response.text
