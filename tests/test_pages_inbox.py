"""The inbox page: filters in the URL, sorting, claims, task forms that carry data, the nav count.

Tasks here are read-model rows written by the test (no workflow behind them): enough for what the
page shows and refuses before it asks the workflow. Deciding through the workflow is in test_pages.
"""

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.lifecycle_tables import KitReservation
from crc.stages import Stage
from crc.tables import Task, TaskClaim
from tests import factories
from tests.web_helpers import (
    World,
    a_post,
    count_rows,
    csrf_of,
    nav_count,
    open_task,
    row_ids,
    user,
    web_world,
)

HTMX = {"HX-Request": "true"}
NOW = datetime.now(UTC)


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


async def all_claims(world: World) -> list[TaskClaim]:
    """Every claim row, as stored."""
    async with world.app.state.sessionmaker() as session:
        return list((await session.exec(select(TaskClaim))).all())


async def two_tasks(world: World) -> tuple[Task, Task]:
    """An overdue approval at world.post and a training task at another post, created earlier."""
    other = a_post(country="Haiti", city="Port-au-Prince")
    await world.add(other)
    assert world.member.id is not None and world.standby.id is not None
    [first] = await factories.deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code
    )
    [second] = await factories.deployment_rows(
        world.engine, 1, member_id=world.standby.id, post_code=other.code, stage=Stage.TRAINING
    )
    overdue = open_task(first, due_at=NOW - timedelta(hours=1), title="Operational fit")
    later = open_task(
        second,
        kind="training_schedule",
        stage=Stage.TRAINING.value,
        title="No session fits: accept a later start",
        outcomes=["accept_later_start", "cancel"],
        due_at=NOW + timedelta(days=2),
        created_at=NOW - timedelta(days=3),
    )
    await world.add(overdue, later)
    return overdue, later


async def test_inbox_lists_marks_and_sorts(world: World) -> None:
    overdue, later = await two_tasks(world)
    # Due in 5 hours of the 25 it was given: inside the last quarter, so due soon.
    soon = open_task(
        overdue.deployment_id,
        title="Budget check",
        due_at=NOW + timedelta(hours=5),
        created_at=NOW - timedelta(hours=20),
    )
    await world.add(soon)
    async with world.signed_in("planning") as browser:
        page = await browser.get("/inbox")
        by_age = await browser.get("/inbox?sort=age")
    assert page.status_code == 200
    assert page.text.lstrip().startswith("<!doctype html>")
    assert row_ids(page.text) == [overdue.id, soon.id, later.id]  # soonest due first
    assert f'<tr id="task-{overdue.id}" class="overdue"' in page.text
    assert f'<tr id="task-{soon.id}" class="due-soon"' in page.text
    assert f'<tr id="task-{later.id}" class=""' in page.text
    assert nav_count(page.text) == 3
    assert row_ids(by_age.text) == [later.id, soon.id, overdue.id]  # oldest first
    assert '<option value="age" selected>' in by_age.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("overdue=1", ["overdue"]),
        ("view=overdue", ["overdue"]),
        ("kind=training_schedule", ["later"]),
        ("stage=APPROVAL", ["overdue"]),
        ("post={post}", ["overdue"]),
        ("q=haiti", ["later"]),
        ("q=later+start", ["later"]),
        ("q=quinn", ["overdue"]),
        ("q=nobody", []),
    ],
)
async def test_inbox_filters_in_the_url(world: World, query: str, expected: list[str]) -> None:
    overdue, later = await two_tasks(world)
    ids = {"overdue": overdue.id, "later": later.id}
    async with world.signed_in("planning") as browser:
        query = query.format(post=world.post.code)
        fragment = await browser.get(f"/inbox?{query}", headers=HTMX)
        page = await browser.get(f"/inbox?{query}")
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="inbox-table"')
    assert "<html" not in fragment.text
    assert row_ids(fragment.text) == [ids[name] for name in expected]
    assert nav_count(fragment.text) == 2  # the count is all the user's open tasks
    assert 'hx-swap-oob="true"' in fragment.text
    # The same URL without htmx is the whole page, showing the same rows (a link reproduces it).
    assert page.text.lstrip().startswith("<!doctype html>")
    assert row_ids(page.text) == row_ids(fragment.text)
    if not expected:
        assert "No open task matches these filters." in fragment.text


async def test_inbox_shows_only_the_users_roles(world: World) -> None:
    overdue, _ = await two_tasks(world)
    security = open_task(
        overdue.deployment_id, role="security", kind="vetting_review", outcomes=["clear", "deny"]
    )
    await world.add(security)
    async with world.signed_in("security") as browser:
        page = await browser.get("/inbox")
    assert row_ids(page.text) == [security.id]
    async with world.signed_in("requester") as browser:
        page = await browser.get("/inbox")
    assert row_ids(page.text) == []
    assert "Nothing waits for you." in page.text
    assert nav_count(page.text) == 0


async def test_claim_unclaim_and_who_holds_it(world: World) -> None:
    overdue, _ = await two_tasks(world)
    await world.add(user("planning2", ["planning"]))
    path = f"/inbox/tasks/{overdue.id}"
    async with world.signed_in("planning") as first, world.signed_in("planning2") as second:
        token1 = csrf_of((await first.get("/inbox")).text)
        token2 = csrf_of((await second.get("/inbox")).text)
        no_csrf = await first.post(f"{path}/claim", headers=HTMX)
        assert no_csrf.status_code == 403
        claimed = await first.post(f"{path}/claim", headers=HTMX | {"X-CSRF-Token": token1})
        assert claimed.status_code == 200
        assert claimed.text.lstrip().startswith(f'<tr id="task-{overdue.id}" class="overdue claimed"')
        [held] = await all_claims(world)
        until = f"{held.expires_at:%Y-%m-%d %H:%M} UTC"
        assert (
            f'Claimed by you until <time datetime="{held.expires_at.isoformat()}">{until}</time>'
            in claimed.text
        )
        assert ">Unclaim</button>" in claimed.text
        assert nav_count(claimed.text) == 2
        # The other officer sees who holds it until when, and cannot take it, decide it or let it go.
        seen = await second.get("/inbox")
        assert (
            f'Claimed by planning until <time datetime="{held.expires_at.isoformat()}">{until}</time>'
            in seen.text
        )
        assert "planning is working on this task." in seen.text
        refusal = f"planning has claimed this task until {until}; ask them, or wait until they let it go"
        taken = await second.post(f"{path}/claim", headers=HTMX | {"X-CSRF-Token": token2})
        assert taken.status_code == 409
        assert refusal in taken.text
        decided = await second.post(
            path, data={"outcome": "approve"}, headers=HTMX | {"X-CSRF-Token": token2}
        )
        assert decided.status_code == 409
        assert refusal in decided.text
        # The claim binds programs too: the API refuses the other officer alike.
        await world.add(user("planning3", ["planning"]))
        by_api = await world.complete(overdue.id, "planning3", "approve")
        assert (by_api.status_code, by_api.json()["detail"]) == (409, refusal)
        released = await second.post(f"{path}/unclaim", headers=HTMX | {"X-CSRF-Token": token2})
        assert released.status_code == 409
        assert "planning holds this task; only they can let it go" in released.text
        # The holder lets it go; the row offers Claim again.
        mine = await first.post(f"{path}/unclaim", data={"csrf_token": token1}, headers=HTMX)
        assert mine.status_code == 200
        assert ">Claim</button>" in mine.text
        assert "Claimed by" not in mine.text
    assert await count_rows(world.engine, select(TaskClaim)) == 0


async def test_claim_refused_to_other_roles_reveals_nothing(world: World) -> None:
    overdue, _ = await two_tasks(world)
    async with world.signed_in("resource_management") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        response = await browser.post(
            f"/inbox/tasks/{overdue.id}/claim", headers=HTMX | {"X-CSRF-Token": token}
        )
        unknown = await browser.post("/inbox/tasks/nope/claim", headers=HTMX | {"X-CSRF-Token": token})
    assert response.status_code == 403
    assert "this task is for the planning role" in response.text
    assert "Operational fit" not in response.text
    assert "Avery Quinn" not in response.text
    assert unknown.status_code == 404
    assert "no task has this id" in unknown.text
    assert await count_rows(world.engine, select(TaskClaim)) == 0


async def test_completed_task_cannot_be_claimed(world: World) -> None:
    overdue, _ = await two_tasks(world)
    done = open_task(overdue.deployment_id, status="completed", outcome="approve", completed_by="x")
    await world.add(done)
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        response = await browser.post(f"/inbox/tasks/{done.id}/claim", headers=HTMX | {"X-CSRF-Token": token})
    assert response.status_code == 409
    assert "the task is already completed" in response.text
    assert 'class="done"' in response.text


async def test_after_action_report_needs_its_text(world: World) -> None:
    assert world.member.id is not None
    await world.add(user("avery", ["member"], member_id=world.member.id))
    [deployment_id] = await factories.deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code, stage=Stage.REDEPLOYMENT
    )
    report = open_task(
        deployment_id,
        kind="after_action_report",
        role="member",
        stage=Stage.REDEPLOYMENT.value,
        title="After-action report",
        outcomes=["done"],
    )
    await world.add(report)
    async with world.signed_in("avery") as browser:
        page = await browser.get("/inbox")
        assert row_ids(page.text) == [report.id]
        assert f'<label class="usa-label" for="report-{report.id}">After-action report</label>' in page.text
        assert f'<textarea class="usa-textarea" id="report-{report.id}" name="report"' in page.text
        token = csrf_of(page.text)
        response = await browser.post(
            f"/inbox/tasks/{report.id}",
            data={"outcome": "done", "report": "  ", "comment": "typed <b>comment</b>"},
            headers=HTMX | {"X-CSRF-Token": token},
        )
    assert response.status_code == 422
    assert response.text.lstrip().startswith(f'<tr id="task-{report.id}"')
    assert "report: write the report before marking it done" in response.text
    assert ">typed &lt;b&gt;comment&lt;/b&gt;</textarea>" in response.text  # kept, and escaped
    assert nav_count(response.text) == 1
    # The requester of a deployment never sees the member's task.
    async with world.signed_in("planning") as browser:
        assert row_ids((await browser.get("/inbox")).text) == []


async def test_vetting_clear_takes_a_valid_until_date(world: World) -> None:
    overdue, _ = await two_tasks(world)
    review = open_task(
        overdue.deployment_id,
        kind="vetting_review",
        role="security",
        stage=Stage.VETTING.value,
        title="Clearance expires before the deployment ends",
        outcomes=["clear", "deny"],
    )
    await world.add(review)
    async with world.signed_in("security") as browser:
        page = await browser.get("/inbox")
        assert (
            f'<input class="usa-input" id="valid-until-{review.id}" name="valid_until" type="date"'
            in page.text
        )
        assert ">Clear</button>" in page.text and ">Deny</button>" in page.text
        response = await browser.post(
            f"/inbox/tasks/{review.id}",
            data={"outcome": "clear", "valid_until": "next spring", "csrf_token": csrf_of(page.text)},
            headers=HTMX,
        )
    assert response.status_code == 422
    assert "valid until: must be a date (YYYY-MM-DD)" in response.text
    assert 'value="next spring"' in response.text


async def test_kit_return_lists_the_kit_to_tick(world: World) -> None:
    overdue, _ = await two_tasks(world)
    kit = [
        KitReservation(deployment_id=overdue.deployment_id, sku=sku, depot="Washington, DC", quantity=1)
        for sku in ("KIT-INDIVIDUAL", "SATPHONE")
    ]
    task = open_task(
        overdue.deployment_id,
        kind="kit_return",
        role="logistics",
        stage=Stage.REDEPLOYMENT.value,
        title="Kit return",
        outcomes=["returned", "missing"],
    )
    await world.add(*kit, task)
    async with world.signed_in("logistics") as browser:
        page = await browser.get("/inbox")
        assert page.text.count('name="missing_skus"') == 2
    legend = (
        '<legend class="usa-legend">'
        "Missing items (with Missing and none ticked, all of it is missing)</legend>"
    )
    assert legend in page.text


async def test_task_title_is_escaped(world: World) -> None:
    overdue, _ = await two_tasks(world)
    evil = open_task(overdue.deployment_id, title='<script>alert("t")</script>')
    await world.add(evil)
    async with world.signed_in("planning") as browser:
        page = await browser.get("/inbox")
    assert '<script>alert("t")</script>' not in page.text
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in page.text


async def test_history_restore_gets_the_whole_page(world: World) -> None:
    await two_tasks(world)
    async with world.signed_in("planning") as browser:
        restored = await browser.get(
            "/inbox?view=overdue&post=XYZ", headers=HTMX | {"HX-History-Restore-Request": "true"}
        )
    assert restored.text.lstrip().startswith("<!doctype html>")
    assert '<input type="hidden" name="view" value="overdue">' in restored.text
    assert re.search(
        r'<a href="/inbox\?view=overdue[^"]*" class="usa-button" aria-current="page">Overdue', restored.text
    )


async def test_a_course_result_waits_for_its_last_day_with_its_buttons_disabled(world: World) -> None:
    overdue, _ = await two_tasks(world)
    tomorrow = (NOW + timedelta(days=1)).date()
    result = open_task(
        overdue.deployment_id,
        kind="training_result",
        role="training",
        stage=Stage.TRAINING.value,
        title="Result of FACT",
        outcomes=["pass", "fail"],
        opens_on=tomorrow,
    )
    today = open_task(
        overdue.deployment_id,
        kind="training_result",
        role="training",
        stage=Stage.TRAINING.value,
        title="Result of the briefing",
        outcomes=["pass", "fail"],
        opens_on=NOW.date(),
    )
    await world.add(result, today)
    async with world.signed_in("training") as browser:
        page = (await browser.get("/inbox")).text
    assert (
        f'<button type="submit" name="outcome" value="pass" class="usa-button outcome-pass" disabled '
        f'aria-describedby="opens-{result.id}">Pass</button>'
    ) in page
    assert f'<span class="usa-hint" id="opens-{result.id}">Opens on {tomorrow}</span>' in page
    assert f'id="opens-{today.id}"' not in page  # its last day has come: open
