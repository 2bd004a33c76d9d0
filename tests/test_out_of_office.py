"""Out of office: a user's period away hands their tasks to a delegate, within the period only."""

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from crc.tables import OutOfOffice
from tests.web_helpers import World, csrf_of, row_ids, user, web_world
from web.services.out_of_office import Cover, acting_user, day_label, merged_scopes
from web.services.requests import today_utc

PATH = "/api/v1/me/out-of-office"


@pytest.fixture
async def world(
    engine: AsyncEngine, temporal_env: WorkflowEnvironment, task_queue: str
) -> AsyncIterator[World]:
    """The usual world, with Ana Ruiz (Chief of Mission for the world's post) and a Chief of
    Mission for another post, and a second Planning officer."""
    async with web_world(engine, temporal_env.client, task_queue) as w:
        await w.add(
            user(
                "ana_ruiz",
                ["chief_of_mission"],
                full_name="Ana Ruiz",
                scopes={"chief_of_mission": [w.post.code]},
            ),
            user(
                "com_kyiv", ["chief_of_mission"], full_name="Kim Kyiv", scopes={"chief_of_mission": ["KYV"]}
            ),
            user("planning_two", ["planning"]),
        )
        yield w


async def _put(w: World, username: str, **body: Any) -> Any:
    return await w.http.put(PATH, json=body, headers=await w.headers(username))


def _days(n: int) -> str:
    return (today_utc() + timedelta(days=n)).isoformat()


def _fields(response: Any) -> dict[str, str]:
    return {e["loc"][-1]: e["msg"] for e in response.json()["detail"]}


async def test_setting_reading_and_cancelling_a_period_away(world: World) -> None:
    w = world
    headers = await w.headers("ana_ruiz")
    none = await w.http.get(PATH, headers=headers)
    assert (none.status_code, none.json()) == (404, {"detail": "you have set no out-of-office period"})
    set_ = await _put(w, "ana_ruiz", delegate="com_kyiv", starts_on=_days(1), ends_on=_days(5))
    assert set_.status_code == 200, set_.text
    assert set_.json() == {
        "delegate": "com_kyiv",
        "starts_on": _days(1),
        "ends_on": _days(5),
        "roles": ["chief_of_mission"],
        "active": False,
    }
    changed = await _put(w, "ana_ruiz", delegate="com_kyiv", starts_on=_days(0), ends_on=_days(0))
    assert (changed.json()["ends_on"], changed.json()["active"]) == (_days(0), True)
    assert (await w.http.get(PATH, headers=headers)).json() == changed.json()
    assert (await w.http.delete(PATH, headers=headers)).status_code == 204
    again = await w.http.delete(PATH, headers=headers)
    assert (again.status_code, again.json()) == (404, {"detail": "you have set no out-of-office period"})


async def test_a_bad_period_is_refused_naming_each_field(world: World) -> None:
    w = world
    ok = {"starts_on": _days(1), "ends_on": _days(3)}
    cases = [
        ({"delegate": "ana_ruiz", **ok}, {"delegate": "choose someone other than yourself"}),
        (
            {"delegate": "planning", **ok},
            {"delegate": "planning does not hold the role you hand over: Chief of Mission"},
        ),
        ({"delegate": "nobody", **ok}, {"delegate": "no active user is called 'nobody'"}),
        (
            {"delegate": "com_kyiv", "starts_on": _days(-1), "ends_on": _days(-2)},
            {
                "starts_on": "the period must not start in the past",
                "ends_on": "must be on or after starts_on",
            },
        ),
        (
            {"delegate": "com_kyiv", "starts_on": "tomorrow", "ends_on": _days(1)},
            {"starts_on": "must be a date (YYYY-MM-DD)"},
        ),
        ({"starts_on": _days(1), "ends_on": _days(1)}, {"delegate": "Field required"}),
    ]
    for body, expected in cases:
        response = await _put(w, "ana_ruiz", **body)
        assert (response.status_code, _fields(response)) == (422, expected), body
    assert (await w.http.get(PATH, headers=await w.headers("ana_ruiz"))).status_code == 404
    # A requester decides no tasks: nothing to hand over.
    refused = await _put(w, "requester", delegate="planning", **ok)
    assert (refused.status_code, refused.json()) == (
        403,
        {"detail": "only a user whose role decides tasks may hand them over while away"},
    )
    assert (await w.http.put(PATH, json={"delegate": "x", **ok})).status_code == 401


async def _com_task(w: World, deployment_id: str, username: str) -> list[dict[str, Any]]:
    response = await w.http.get(
        "/api/v1/tasks", params={"deployment_id": deployment_id}, headers=await w.headers(username)
    )
    return [t for t in response.json()["items"] if t["role"] == "chief_of_mission"]


async def test_a_scoped_delegate_decides_the_absent_users_task_only_within_the_period(
    world: World, engine: AsyncEngine
) -> None:
    w = world
    deployment_id = str((await w.submit())["id"])
    task = (await w.open_tasks(deployment_id, 3))["chief_of_mission"]
    # Before the period: Kyiv's Chief of Mission neither sees nor may decide the post's approval.
    await _put(w, "ana_ruiz", delegate="com_kyiv", starts_on=_days(1), ends_on=_days(4))
    assert await _com_task(w, deployment_id, "com_kyiv") == []
    early = await w.complete(task["id"], "com_kyiv", "approve")
    assert early.status_code == 403
    # Ana claims it, then goes away today until the day after tomorrow.
    async with w.signed_in("ana_ruiz") as ana:
        inbox = await ana.get("/inbox")
        claimed = await ana.post(
            f"/inbox/tasks/{task['id']}/claim",
            data={"csrf_token": csrf_of(inbox.text)},
            headers={"HX-Request": "true"},
        )
        assert claimed.status_code == 200, claimed.text
    await _put(w, "ana_ruiz", delegate="com_kyiv", starts_on=_days(0), ends_on=_days(2))
    assert [t["id"] for t in await _com_task(w, deployment_id, "com_kyiv")] == [task["id"]]
    reason = (
        f"Offered to you while Ana Ruiz is out of office until {day_label(today_utc() + timedelta(days=2))}"
    )
    async with w.signed_in("com_kyiv") as kim:
        mine = await kim.get("/inbox?view=mine")
        assert row_ids(mine.text) == [task["id"]]
        assert f'<span class="task-why">{reason}</span>' in mine.text
        assert "is working on this task" not in mine.text
    # Past the period (its row moved into the past): nothing is offered any more.
    async with engine.begin() as conn:
        await conn.execute(
            OutOfOffice.__table__.update().values(starts_on=date(2020, 1, 1), ends_on=date(2020, 1, 2))  # type: ignore[attr-defined]
        )
    assert await _com_task(w, deployment_id, "com_kyiv") == []
    assert (await w.complete(task["id"], "com_kyiv", "approve")).status_code == 403
    async with engine.begin() as conn:
        await conn.execute(
            OutOfOffice.__table__.update().values(starts_on=today_utc(), ends_on=today_utc())  # type: ignore[attr-defined]
        )
    decided = await w.complete(task["id"], "com_kyiv", "approve")
    assert (decided.status_code, decided.json()["status"], decided.json()["completed_by"]) == (
        200,
        "completed",
        "com_kyiv",
    )


async def test_the_account_page_sets_and_cancels_out_of_office(world: World) -> None:
    w = world
    async with w.signed_in("planning") as browser:
        page = await browser.get("/account")
        assert page.status_code == 200
        assert '<option value="planning_two">Planning Two (planning_two)</option>' in page.text
        token = csrf_of(page.text)
        bad = await browser.post(
            "/account/out-of-office",
            data={"delegate": "planning", "starts_on": _days(2), "ends_on": _days(1), "csrf_token": token},
        )
        assert bad.status_code == 422
        assert "choose someone other than yourself" in bad.text
        assert "must be on or after starts_on" in bad.text
        no_csrf = await browser.post(
            "/account/out-of-office",
            data={"delegate": "planning_two", "starts_on": _days(0), "ends_on": _days(3)},
        )
        assert no_csrf.status_code == 403
        done = await browser.post(
            "/account/out-of-office",
            data={
                "delegate": "planning_two",
                "starts_on": _days(0),
                "ends_on": _days(3),
                "csrf_token": token,
            },
        )
        assert (done.status_code, done.headers["location"]) == (303, "/account")
        shown = await browser.get("/account")
        until = day_label(today_utc() + timedelta(days=3))
        assert f"From {day_label(today_utc())} to {until}, your tasks (Planning) are offered to" in shown.text
        assert "<strong>planning_two</strong>" in shown.text
        cancelled = await browser.post("/account/out-of-office/cancel", data={"csrf_token": token})
        assert cancelled.status_code == 303
        assert "You are out of office" not in (await browser.get("/account")).text
    assert (await w.http.get(PATH, headers=await w.headers("planning"))).status_code == 404


def _cover(roles: list[str], scopes: dict[str, list[str]]) -> Cover:
    return Cover(
        absent="away",
        absent_name="Ana Ruiz",
        ends_on=date(2026, 12, 5),
        roles=frozenset(roles),
        scopes=scopes,
    )


def test_the_delegate_gains_the_absent_users_scope_for_the_roles_handed_over() -> None:
    delegate = user(
        "kim",
        ["chief_of_mission", "director"],
        scopes={"chief_of_mission": ["KYV"], "director": ["planning"]},
    )
    # Another post joins the delegate's; a role not handed over keeps its scope.
    assert merged_scopes(delegate, [_cover(["chief_of_mission"], {"chief_of_mission": ["JUB"]})]) == {
        "chief_of_mission": ["JUB", "KYV"],
        "director": ["planning"],
    }
    # An absent user who covers every post (no scope) hands over every post.
    assert merged_scopes(
        delegate, [_cover(["chief_of_mission", "director"], {"director": ["operations"]})]
    ) == {"director": ["operations", "planning"]}
    # A role the delegate does not hold is never gained.
    assert merged_scopes(user("p", ["planning"]), [_cover(["chief_of_mission"], {})]) == {}
    assert _cover([], {}).reason == "Offered to you while Ana Ruiz is out of office until 5 Dec 2026"
    # With nothing handed over the user acts as themselves, the very same object.
    assert acting_user(delegate, []) is delegate


async def test_the_account_page_says_whether_the_period_is_to_come_under_way_or_over(
    world: World, engine: AsyncEngine
) -> None:
    w = world
    await _put(w, "ana_ruiz", delegate="com_kyiv", starts_on=_days(2), ends_on=_days(4))
    async with w.signed_in("ana_ruiz") as browser:
        assert (
            '<h3 class="usa-summary-box__heading" id="away-h">Out of office to come</h3>'
            in (await browser.get("/account")).text
        )
        async with engine.begin() as conn:
            await conn.execute(
                OutOfOffice.__table__.update().values(starts_on=date(2020, 1, 1), ends_on=today_utc())  # type: ignore[attr-defined]
            )
        page = (await browser.get("/account")).text
        assert '<h3 class="usa-summary-box__heading" id="away-h">You are out of office</h3>' in page
        # Changing a period under way starts it today, never in the past.
        assert f'name="starts_on" type="date" value="{today_utc().isoformat()}"' in page
        async with engine.begin() as conn:
            await conn.execute(
                OutOfOffice.__table__.update().values(ends_on=date(2020, 1, 2))  # type: ignore[attr-defined]
            )
        page = (await browser.get("/account")).text
        assert (
            '<h3 class="usa-summary-box__heading" id="away-h">Your out-of-office period has ended</h3>'
            in page
        )
        assert "From 1 Jan 2020 to 2 Jan 2020, your tasks (Chief of Mission) were offered to" in page
