"""Training records a result from the session page, through a real deployment's workflow."""

import html
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from crc.domain import COURSE_ORIENTATION, briefing_course_code
from crc.settings import UNDO_SECONDS_DEFAULT
from tests import factories
from tests.web_helpers import World, csrf_of, web_world
from web.services.requests import today_utc


@pytest.fixture
async def world(
    engine: AsyncEngine, temporal_env: WorkflowEnvironment, task_queue: str
) -> AsyncIterator[World]:
    async with web_world(engine, temporal_env.client, task_queue) as w:
        yield w


async def _approve(world: World, deployment_id: str) -> None:
    await world.wait_for(deployment_id, lambda d: len(d["open_tasks"]) == 3)
    for office in ("planning", "resource_management", "chief_of_mission"):
        listed = await world.http.get(
            "/api/v1/tasks",
            params={"deployment_id": deployment_id, "kind": "approval"},
            headers=await world.headers(office),
        )
        [task] = listed.json()["items"]
        assert (await world.complete(task["id"], office, "approve")).status_code == 200


async def _session(world: World, session_id: int) -> dict[str, Any]:
    response = await world.http.get(f"/api/v1/sessions/{session_id}", headers=await world.headers("training"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_result_recorded_on_the_session_page_moves_the_deployment_on(
    world: World, temporal_env: WorkflowEnvironment
) -> None:
    member = factories.member(name="Jordan Reyes")
    await world.add(member)
    assert member.id is not None
    briefing = briefing_course_code(world.post.code)
    # Orientation held already and a stay under 90 days: the post's briefing is the only course.
    today = today_utc()
    session = factories.course_session(briefing, today, days=1, seats=4)
    await world.add(
        factories.course(COURSE_ORIENTATION, days=3, validity_months=None),
        factories.course(briefing, title="Post briefing", days=1, validity_months=12),
    )
    await world.add(factories.certificate(member.id, COURSE_ORIENTATION, date(2025, 1, 6), None), session)
    deployment_id = str((await world.submit(member=member, duration_days=60))["id"])
    await _approve(world, deployment_id)
    await world.wait_for(
        deployment_id, lambda d: any(t["kind"] == "training_result" for t in d["open_tasks"])
    )
    assert session.id is not None

    [seat] = (await _session(world, session.id))["enrolled"]
    task = seat["result_task"]
    assert (seat["member_name"], seat["status"], task["status"], task["opens_on"]) == (
        "Jordan Reyes",
        "enrolled",
        "open",
        today.isoformat(),
    )
    async with world.signed_in("training") as browser:
        page = await browser.get(f"/training/sessions/{session.id}")
        assert f'hx-post="/inbox/tasks/{task["id"]}"' in page.text
        assert f'aria-describedby="opens-{task["id"]}"' not in page.text  # open from today
        decided = await browser.post(
            f"/inbox/tasks/{task['id']}",
            data={"csrf_token": csrf_of(page.text), "outcome": "pass", "comment": "", "place": "deployment"},
            headers={"HX-Request": "true"},
        )
        assert decided.status_code == 200, decided.text
        # The page's decision is held for its undo window (Temporal time), then takes effect.
        await temporal_env.sleep(timedelta(seconds=UNDO_SECONDS_DEFAULT + 1))
        # The enrolment is marked passed before the stage moves on.
        await world.wait_for(deployment_id, lambda d: d["stage"] == "EQUIPPING")
        after = await browser.get(f"/training/sessions/{session.id}")
    [seat] = (await _session(world, session.id))["enrolled"]
    assert seat["status"] == "passed"
    assert (seat["result_task"]["status"], seat["result_task"]["outcome"]) == ("completed", "pass")
    assert seat["result_task"]["completed_by"] == "training"
    assert "Passed</td>" not in after.text  # followed by who recorded it
    assert 'Passed <span class="text-base">by Training</span>' in html.unescape(after.text)
    assert f'hx-post="/inbox/tasks/{task["id"]}"' not in after.text
