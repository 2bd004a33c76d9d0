"""The watchlist pages: countries by risk, a country's history, its assessment form and its plans'
Activate button (CSRF, roles, refusals named), and the navigation link for the offices that read it."""

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.operation_tables import Operation
from crc.watchlist_tables import WatchlistEntry
from tests.operation_helpers import operation_body, operations_world
from tests.web_helpers import World, count_rows, csrf_of

SUDAN = {
    "code": "SD",
    "name": "Sudan",
    "risk_level": "high",
    "note": "Fighting around El Fasher",
    "sources": [{"title": "UN OCHA", "url": "https://reliefweb.int/report/sudan"}],
}


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with operations_world(engine, temporal_client, task_queue) as w:
        yield w


def nav_has_watchlist(html: str) -> bool:
    return re.search(r'<a href="/watchlist" class="usa-nav-link', html) is not None


async def api(world: World, path: str, username: str, body: Any) -> dict[str, Any]:
    response = await world.http.post(
        f"/api/v1/watchlist{path}", json=body, headers=await world.headers(username)
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_conflict_prevention_adds_a_country_and_assesses_it(world: World) -> None:
    async with world.signed_in("conflict_prevention") as browser:
        page = await browser.get("/watchlist")
        assert page.status_code == 200 and nav_has_watchlist(page.text)
        token = csrf_of(page.text)
        form = {
            "code": "sd",
            "name": "Sudan",
            "risk_level": "high",
            "note": "Fighting around El Fasher",
            "sources": "UN OCHA | https://reliefweb.int/report/sudan\n",
        }
        assert (await browser.post("/watchlist", data=form)).status_code == 403  # no CSRF token
        bad = await browser.post(
            "/watchlist", data={**form, "sources": "a rumour | ftp://x", "csrf_token": token}
        )
        assert bad.status_code == 422
        assert "must be a web address starting with http:// or https://" in bad.text
        added = await browser.post("/watchlist", data={**form, "csrf_token": token})
        assert (added.status_code, added.headers["location"]) == (303, "/watchlist/SD")
        country = await browser.get("/watchlist/SD")
        assert "Sudan is on the watchlist." in country.text
        link = '<a class="usa-link" href="https://reliefweb.int/report/sudan" rel="noopener noreferrer">'
        assert f"{link}UN OCHA</a>" in country.text
        again = await browser.post(
            "/watchlist/SD/assessments",
            data={"risk_level": "critical", "note": "<b>Siege</b> of the city", "csrf_token": token},
        )
        assert again.status_code == 303
        after = await browser.get("/watchlist/SD")
        assert "Assessment recorded: Sudan is at critical risk." in after.text
        assert '<span class="usa-tag" id="country-risk">critical</span>' in after.text
        assert "&lt;b&gt;Siege&lt;/b&gt; of the city" in after.text  # autoescaped
        listed = await browser.get("/watchlist")
        assert '<a class="usa-link" href="/watchlist/SD">Sudan (SD)</a>' in listed.text
    assert await count_rows(world.engine, select(WatchlistEntry)) == 2


async def test_planning_reads_and_activates_a_plan_once(world: World) -> None:
    await api(world, "", "conflict_prevention", SUDAN)
    plan = await api(world, "/SD/plans", "conflict_prevention", operation_body(world.post.code))
    path = f"/watchlist/SD/plans/{plan['id']}/activate"
    async with world.signed_in("planning") as browser:
        page = await browser.get("/watchlist/SD")
        assert page.status_code == 200 and nav_has_watchlist(page.text)
        assert f'action="{path}"' in page.text
        assert "/watchlist/SD/assessments" not in page.text  # Planning reads, Conflict Prevention writes
        token = csrf_of(page.text)
        assert (await browser.post(path, data={})).status_code == 403  # no CSRF token
        done = await browser.post(path, data={"csrf_token": token})
        assert done.status_code == 303
        listed = await world.http.get("/api/v1/operations", headers=await world.headers("planning"))
        [operation] = listed.json()["items"]
        assert done.headers["location"] == f"/operations/{operation['id']}"
        board = await browser.get(done.headers["location"])
        assert (
            "Plan activated: the operation waits for the Planning director and Resource Management."
            in board.text
        )
        assert "Activated from the contingency plan for Sudan" in board.text
        twice = await browser.post(path, data={"csrf_token": token})
        assert twice.status_code == 409
        assert "The plan was not activated: the plan has been activated already" in twice.text
    assert await count_rows(world.engine, select(Operation)) == 1


async def test_the_director_reads_but_neither_writes_nor_activates(world: World) -> None:
    await api(world, "", "conflict_prevention", SUDAN)
    plan = await api(world, "/SD/plans", "planning", operation_body(world.post.code))
    async with world.signed_in("director") as browser:
        page = await browser.get("/watchlist/SD")
        assert page.status_code == 200
        assert "/activate" not in page.text and "Not activated." in page.text
        token = csrf_of(page.text)
        refused = await browser.post(f"/watchlist/SD/plans/{plan['id']}/activate", data={"csrf_token": token})
        assert refused.status_code == 403
        form = {"risk_level": "low", "note": "Calm", "csrf_token": token}
        assert (await browser.post("/watchlist/SD/assessments", data=form)).status_code == 403


@pytest.mark.parametrize("username", ["operations", "requester", "logistics"])
async def test_other_offices_have_no_watchlist(world: World, username: str) -> None:
    async with world.signed_in(username) as browser:
        assert (await browser.get("/watchlist")).status_code == 403
        assert not nav_has_watchlist((await browser.get("/")).text)
