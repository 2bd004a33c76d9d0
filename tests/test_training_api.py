"""/api/v1/courses and /api/v1/sessions: Training's courses and sessions, on both databases."""

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.lifecycle_tables import Enrolment
from crc.names import task_id
from crc.stages import Stage
from tests.factories import course, course_session, deployment_rows
from tests.web_helpers import World, open_task, web_world
from web.services.requests import today_utc


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        await w.add(course("FACT", days=5, validity_months=60))
        yield w


def _day(n: int) -> str:
    return (today_utc() + timedelta(days=n)).isoformat()


async def _call(world: World, method: str, url: str, username: str = "training", **kwargs: Any) -> Any:
    return await world.http.request(method, url, headers=await world.headers(username), **kwargs)


def _locs(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {"/".join(map(str, e["loc"])): e["msg"] for e in response.json()["detail"]}


async def test_courses_are_created_listed_and_edited(world: World) -> None:
    created = await _call(
        world, "POST", "/api/v1/courses", json={"code": "HEAT", "title": "Hostile environment", "days": 3}
    )
    assert created.status_code == 201, created.text
    assert created.json() == {
        "code": "HEAT",
        "title": "Hostile environment",
        "days": 3,
        "validity_months": None,
    }
    changed = await _call(world, "PATCH", "/api/v1/courses/HEAT", json={"validity_months": 36, "days": 4})
    assert changed.json() == {
        "code": "HEAT",
        "title": "Hostile environment",
        "days": 4,
        "validity_months": 36,
    }
    listed = await _call(world, "GET", "/api/v1/courses", "admin")
    assert [c["code"] for c in listed.json()["items"]] == ["FACT", "HEAT"]
    assert listed.json()["total"] == 2


async def test_bad_courses_are_422s_naming_the_field(world: World) -> None:
    again = await _call(world, "POST", "/api/v1/courses", json={"code": "FACT", "title": "Again", "days": 5})
    assert _locs(again) == {"body/code": "a course has the code FACT already: choose another"}
    bad = await _call(world, "POST", "/api/v1/courses", json={"code": "fact!", "title": " ", "days": 0})
    assert set(_locs(bad)) == {"body/code", "body/title", "body/days"}
    null_title = await _call(world, "PATCH", "/api/v1/courses/FACT", json={"title": None})
    assert _locs(null_title) == {"body/title": "must not be null (leave it out to keep it)"}
    assert (await _call(world, "PATCH", "/api/v1/courses/NOPE", json={"days": 2})).status_code == 404


async def test_a_session_is_created_and_read(world: World) -> None:
    body = {"course_code": "FACT", "location": "FSI", "starts_on": _day(10), "ends_on": _day(14), "seats": 12}
    created = await _call(world, "POST", "/api/v1/sessions", json=body)
    assert created.status_code == 201, created.text
    session = created.json()
    assert session == {**body, "id": session["id"], "seats_taken": 0}
    one = await _call(world, "GET", f"/api/v1/sessions/{session['id']}")
    assert one.json() == {**session, "course_title": "Course FACT", "enrolled": []}


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"starts_on": -1, "ends_on": 3}, {"body/starts_on"}),
        ({"starts_on": 10, "ends_on": 9}, {"body/ends_on"}),
        ({"starts_on": 10, "ends_on": 13}, {"body/ends_on"}),  # four days of a five-day course
        ({"starts_on": 10, "ends_on": 14, "seats": 0}, {"body/seats"}),
        ({"starts_on": 10, "ends_on": 14, "course_code": "NOPE"}, {"body/course_code"}),
    ],
)
async def test_bad_sessions_are_422s_naming_the_field(
    world: World, change: dict[str, Any], errors: set[str]
) -> None:
    body: dict[str, Any] = {"course_code": "FACT", "location": "FSI", "seats": 12}
    body |= {k: _day(v) if k in ("starts_on", "ends_on") else v for k, v in change.items()}
    response = await _call(world, "POST", "/api/v1/sessions", json=body)
    assert set(_locs(response)) == errors


async def test_the_course_length_is_said(world: World) -> None:
    body = {"course_code": "FACT", "location": "FSI", "starts_on": _day(10), "ends_on": _day(12), "seats": 5}
    assert _locs(await _call(world, "POST", "/api/v1/sessions", json=body)) == {
        "body/ends_on": f"FACT takes 5 days: end on {_day(14)} or later"
    }


async def test_a_first_day_at_the_end_of_the_calendar_is_refused_not_a_crash(world: World) -> None:
    body = {
        "course_code": "FACT",
        "location": "FSI",
        "starts_on": "9999-12-31",
        "ends_on": "9999-12-31",
        "seats": 5,
    }
    assert _locs(await _call(world, "POST", "/api/v1/sessions", json=body)) == {
        "body/ends_on": "FACT takes 5 days: end on 9999-12-31 or later"
    }


async def _session_with_a_seat(world: World) -> tuple[int, str]:
    taken = course_session("FACT", today_utc() + timedelta(days=7), seats=3, seats_taken=1)
    await world.add(taken)
    assert taken.id is not None and world.member.id is not None
    [deployment_id] = await deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code, stage=Stage.TRAINING
    )
    await world.add(Enrolment(deployment_id=deployment_id, course_code="FACT", session_id=taken.id))
    return taken.id, deployment_id


async def test_a_session_with_seats_taken_keeps_its_dates_and_enough_seats(world: World) -> None:
    session_id, _ = await _session_with_a_seat(world)
    url = f"/api/v1/sessions/{session_id}"
    moved = await _call(world, "PATCH", url, json={"starts_on": _day(8), "ends_on": _day(12)})
    assert _locs(moved) == {"body/starts_on": "1 members hold seats: the dates stay (add another session)"}
    too_few = await _call(world, "PATCH", url, json={"seats": 0})
    assert set(_locs(too_few)) == {"body/seats"}
    unchanged = await _call(world, "PATCH", url, json={})
    assert (unchanged.status_code, unchanged.json()["seats"]) == (200, 3)
    fewer = await _call(world, "PATCH", url, json={"seats": 1, "location": "Online"})
    assert (fewer.status_code, fewer.json()["seats"], fewer.json()["location"]) == (200, 1, "Online")


async def test_an_empty_session_moves_but_not_into_the_past(world: World) -> None:
    empty = course_session("FACT", today_utc() + timedelta(days=7))
    await world.add(empty)
    url = f"/api/v1/sessions/{empty.id}"
    past = await _call(world, "PATCH", url, json={"starts_on": _day(-2), "ends_on": _day(2)})
    assert set(_locs(past)) == {"body/starts_on"}
    moved = await _call(world, "PATCH", url, json={"starts_on": _day(21), "ends_on": _day(25)})
    assert (moved.json()["starts_on"], moved.json()["ends_on"]) == (_day(21), _day(25))


async def test_a_session_that_ended_is_not_edited(world: World) -> None:
    over = course_session("FACT", date(2020, 1, 6))
    await world.add(over)
    response = await _call(world, "PATCH", f"/api/v1/sessions/{over.id}", json={"location": "Elsewhere"})
    assert response.status_code == 409
    assert response.json() == {"detail": "this session ended on 2020-01-10: it can no longer be changed"}


async def test_sessions_filter_by_course_and_dates(world: World) -> None:
    await world.add(course("ORIENT", days=2))
    soon = course_session("FACT", today_utc() + timedelta(days=7))
    later = course_session("FACT", today_utc() + timedelta(days=60))
    orient = course_session("ORIENT", today_utc() + timedelta(days=8), days=2)
    await world.add(soon, later, orient)

    async def ids(query: dict[str, str]) -> list[int]:
        response = await _call(world, "GET", "/api/v1/sessions", params=query)
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()["items"]]

    assert await ids({}) == [soon.id, orient.id, later.id]
    assert await ids({"course": "FACT"}) == [soon.id, later.id]
    assert await ids({"from": _day(30)}) == [later.id]
    assert await ids({"to": _day(30), "course": "ORIENT"}) == [orient.id]
    assert (await _call(world, "GET", "/api/v1/sessions", params={"course": "NOPE"})).status_code == 404
    bad_date = await _call(world, "GET", "/api/v1/sessions", params={"from": "soon"})
    assert set(_locs(bad_date)) == {"query/from"}


async def test_one_session_lists_its_members_and_their_result_tasks(world: World) -> None:
    session_id, deployment_id = await _session_with_a_seat(world)
    result = open_task(
        deployment_id,
        id=task_id(deployment_id, "training/FACT/1"),
        kind="training_result",
        stage=Stage.TRAINING.value,
        role="training",
        title="Result of Course FACT",
        outcomes=["pass", "fail"],
        opens_on=today_utc() + timedelta(days=11),
    )
    await world.add(result)
    body = (await _call(world, "GET", f"/api/v1/sessions/{session_id}")).json()
    [enrolled] = body["enrolled"]
    assert {k: v for k, v in enrolled.items() if k != "result_task"} == {
        "deployment_id": deployment_id,
        "member_id": world.member.id,
        "member_name": world.member.name,
        "attempt": 1,
        "status": "enrolled",
    }
    assert enrolled["result_task"]["id"] == result.id
    assert enrolled["result_task"]["opens_on"] == _day(11)
    assert (await _call(world, "GET", "/api/v1/sessions/99999")).status_code == 404


@pytest.mark.parametrize("username", ["planning", "member", "logistics", "requester", "director"])
async def test_other_roles_get_403(world: World, username: str) -> None:
    for method, url, body in (
        ("GET", "/api/v1/courses", None),
        ("POST", "/api/v1/courses", {"code": "X", "title": "X", "days": 1}),
        ("PATCH", "/api/v1/courses/FACT", {"days": 2}),
        ("GET", "/api/v1/sessions", None),
        ("POST", "/api/v1/sessions", {}),
        ("GET", "/api/v1/sessions/1", None),
        ("PATCH", "/api/v1/sessions/1", {}),
    ):
        response = await _call(world, method, url, username, json=body)
        assert response.status_code == 403, (method, url, response.text)


async def test_no_token_is_401(world: World) -> None:
    assert (await world.http.get("/api/v1/courses")).status_code == 401
    assert (await world.http.get("/api/v1/sessions")).status_code == 401
