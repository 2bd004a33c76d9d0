"""Training's pages: sessions by course, session and course forms, a session with its members."""

import html
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.db import session_factory
from crc.lifecycle_tables import Enrolment
from crc.names import task_id
from crc.stages import Stage
from crc.tables import Course, CourseSession
from tests.factories import course, course_session, deployment_rows
from tests.web_helpers import World, csrf_of, open_task, web_world
from web.services.requests import today_utc

PAGES = ["/training", "/training/courses", "/training/courses/new", "/training/sessions/new"]


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        await w.add(course("FACT", title="Foreign Affairs Counter Threat", days=5))
        yield w


def _day(n: int) -> date:
    return today_utc() + timedelta(days=n)


async def _sessions(world: World) -> list[CourseSession]:
    async with session_factory(world.engine)() as session:
        return list((await session.exec(select(CourseSession).order_by(CourseSession.id))).all())  # type: ignore[arg-type]


async def test_sessions_by_course_upcoming_and_past(world: World) -> None:
    soon = course_session("FACT", _day(7), location="FSI Arlington", seats=12, seats_taken=3)
    over = course_session("FACT", date(2020, 1, 6), location="Old campus")
    await world.add(soon, over)
    async with world.signed_in("training") as browser:
        page = await browser.get("/training")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert (
        '<a href="/training" class="usa-nav-link usa-current" aria-current="page">Training</a>' in page.text
    )
    assert 'Foreign Affairs Counter Threat <span class="text-base">(FACT)</span>' in text
    assert f'<a href="/training/sessions/{soon.id}">{soon.starts_on}' in text
    assert "3 of 12" in text
    assert "1 past session</summary>" in text
    assert f'<a href="/training/sessions/{over.id}">2020-01-06 to 2020-01-10, Old campus</a>' in text


@pytest.mark.parametrize("username", ["planning", "member", "logistics", "operations"])
async def test_other_roles_get_403_and_no_nav_link(world: World, username: str) -> None:
    async with world.signed_in(username) as browser:
        for path in PAGES:
            assert (await browser.get(path)).status_code == 403, path
        home = await browser.get("/")
    assert 'href="/training"' not in home.text


async def test_admin_may_use_the_pages(world: World) -> None:
    async with world.signed_in("admin") as browser:
        for path in PAGES:
            assert (await browser.get(path)).status_code == 200, path


async def test_a_session_is_created_through_the_form(world: World) -> None:
    async with world.signed_in("training") as browser:
        form = await browser.get("/training/sessions/new?course=FACT")
        assert '<option value="FACT" selected>FACT: Foreign Affairs Counter Threat</option>' in form.text
        response = await browser.post(
            "/training/sessions/new",
            data={
                "csrf_token": csrf_of(form.text),
                "course_code": "FACT",
                "location": "FSI Arlington",
                "starts_on": _day(14).isoformat(),
                "ends_on": _day(18).isoformat(),
                "seats": "20",
            },
        )
        [created] = await _sessions(world)
        assert (response.status_code, response.headers["location"]) == (
            303,
            f"/training/sessions/{created.id}",
        )
        shown = await browser.get(response.headers["location"])
    assert (created.course_code, created.location, created.starts_on, created.ends_on, created.seats) == (
        "FACT",
        "FSI Arlington",
        _day(14),
        _day(18),
        20,
    )
    assert "Added a FACT session from" in html.unescape(shown.text)
    assert "Nobody holds a seat yet." in shown.text


async def test_a_bad_session_form_says_what_to_fix_and_writes_nothing(world: World) -> None:
    async with world.signed_in("training") as browser:
        form = await browser.get("/training/sessions/new")
        fields = {
            "csrf_token": csrf_of(form.text),
            "course_code": "FACT",
            "location": "FSI",
            "starts_on": _day(-3).isoformat(),
            "ends_on": _day(-2).isoformat(),
            "seats": "10",
        }
        bad_fields = await browser.post(
            "/training/sessions/new", data=fields | {"location": " ", "seats": "0"}
        )
        bad_dates = await browser.post("/training/sessions/new", data=fields)
        no_csrf = await browser.post("/training/sessions/new", data=fields | {"csrf_token": ""})
    assert bad_fields.status_code == 422
    text = html.unescape(bad_fields.text)
    assert "There are 2 problems" in text
    assert "Place: must not be empty" in text
    assert "Seats: must be a whole number from 1 to 500" in text
    assert bad_dates.status_code == 422
    text = html.unescape(bad_dates.text)
    assert "There are 2 problems" in text
    assert f"First day: must be today ({today_utc().isoformat()}) or later" in text
    assert f"Last day: FACT takes 5 days: end on {(_day(1)).isoformat()} or later" in text
    assert 'value="' + _day(-3).isoformat() + '"' in bad_dates.text  # what was typed stays
    assert no_csrf.status_code == 403
    assert await _sessions(world) == []


async def test_editing_a_session_keeps_seats_above_those_taken(world: World) -> None:
    taken = course_session("FACT", _day(7), seats=10, seats_taken=4)
    await world.add(taken)
    url = f"/training/sessions/{taken.id}/edit"
    async with world.signed_in("training") as browser:
        form = await browser.get(url)
        assert "4 of its seats are taken: its dates stay as they are." in form.text
        fields = {
            "csrf_token": csrf_of(form.text),
            "location": "Online",
            "starts_on": taken.starts_on.isoformat(),
            "ends_on": taken.ends_on.isoformat(),
        }
        refused = await browser.post(url, data=fields | {"seats": "3"})
        saved = await browser.post(url, data=fields | {"seats": "4"})
    assert refused.status_code == 422
    assert "Seats: 4 seats are taken: at least 4" in html.unescape(refused.text)
    assert (saved.status_code, saved.headers["location"]) == (303, f"/training/sessions/{taken.id}")
    [after] = await _sessions(world)
    assert (after.location, after.seats, after.seats_taken) == ("Online", 4, 4)


async def test_courses_are_created_and_edited_through_forms(world: World) -> None:
    async with world.signed_in("training") as browser:
        form = await browser.get("/training/courses/new")
        token = csrf_of(form.text)
        taken = await browser.post(
            "/training/courses/new", data={"csrf_token": token, "code": "FACT", "title": "x", "days": "1"}
        )
        created = await browser.post(
            "/training/courses/new",
            data={"csrf_token": token, "code": "HEAT", "title": "Hostile environment", "days": "3"},
        )
        edited = await browser.post(
            "/training/courses/HEAT/edit",
            data={"csrf_token": token, "title": "Hostile environment", "days": "4", "validity_months": "36"},
        )
        listed = await browser.get("/training/courses")
    assert taken.status_code == 422
    assert "Code: a course has the code FACT already: choose another" in html.unescape(taken.text)
    assert (created.status_code, edited.status_code) == (303, 303)
    async with session_factory(world.engine)() as session:
        heat = await session.get(Course, "HEAT")
    assert heat is not None and (heat.days, heat.validity_months) == (4, 36)
    assert '<td data-label="Certificate valid">36 months</td>' in listed.text


async def test_a_session_page_lists_members_and_offers_their_result(world: World) -> None:
    """The result form is the inbox's own, disabled until the session's last day."""
    held = course_session("FACT", _day(3), seats=5, seats_taken=1)
    await world.add(held)
    assert held.id is not None and world.member.id is not None
    [deployment_id] = await deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code, stage=Stage.TRAINING
    )
    result = open_task(
        deployment_id,
        id=task_id(deployment_id, "training/FACT/1"),
        kind="training_result",
        stage=Stage.TRAINING.value,
        role="training",
        title="Result of Foreign Affairs Counter Threat",
        outcomes=["pass", "fail"],
        opens_on=held.ends_on,
    )
    await world.add(Enrolment(deployment_id=deployment_id, course_code="FACT", session_id=held.id), result)
    async with world.signed_in("training") as browser:
        page = await browser.get(f"/training/sessions/{held.id}")
    async with world.signed_in("admin") as browser:
        as_admin = await browser.get(f"/training/sessions/{held.id}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert f'<th scope="row" data-label="Member">{world.member.name}</th>' in text
    assert f"Results are recorded from the last day, {held.ends_on}." in text
    assert f'hx-post="/inbox/tasks/{result.id}"' in page.text
    assert 'name="outcome" value="pass"' in page.text
    assert f'disabled aria-describedby="opens-{result.id}"' in page.text
    assert f"Opens on {held.ends_on}" in text
    assert "Waiting (not yours to record)" in as_admin.text
    assert f'hx-post="/inbox/tasks/{result.id}"' not in as_admin.text


async def test_unknown_session_and_course_are_404_and_bad_ids_422(world: World) -> None:
    async with world.signed_in("training") as browser:
        assert (await browser.get("/training/sessions/99999")).status_code == 404
        assert (await browser.get("/training/courses/NOPE/edit")).status_code == 404
        for path in ("/training/sessions/abc", "/training/sessions/0", f"/training/sessions/{2**31}/edit"):
            assert (await browser.get(path)).status_code == 422, path
        assert (await browser.get("/training/courses/" + "X" * 33 + "/edit")).status_code == 422
        assert (await browser.get("/lessons", params={"q": "x" * 201})).status_code == 422
