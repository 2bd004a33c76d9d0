"""The inbox's views and their counts, saved filters, paging, bulk approve, the facts in a row, the
"due soon" rule, and deciding from the deployment page."""

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.stages import Stage
from crc.tables import SavedFilter, Task, TaskClaim
from tests import factories
from tests.web_helpers import World, count_rows, csrf_of, nav_count, open_task, row_ids, user, web_world
from web.services.inbox import PAGE_SIZE, urgency

HTMX = {"HX-Request": "true"}
NOW = datetime.now(UTC)


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


def view_counts(html: str) -> dict[str, int]:
    """The count each view shows."""
    found = re.findall(r'<span id="view-count-([a-z]+)"[^>]*><span class="usa-sr-only">\(</span>(\d+)<', html)
    return {view: int(n) for view, n in found}


@pytest.mark.parametrize(
    ("created_hours_ago", "due_in_hours", "expected"),
    [
        (2, 5, ""),  # 5 of 7 hours left: not yet
        (20, 5, "due-soon"),  # 5 of 25 hours left: the last quarter
        (15, 5, "due-soon"),  # exactly a quarter left
        (14, 5, ""),  # just over a quarter left
        (1, 0.5, ""),  # an urgent task is not due soon from its first minute
        (72, -1, "overdue"),
    ],
)
def test_due_soon_only_in_the_last_quarter(
    created_hours_ago: float, due_in_hours: float, expected: str
) -> None:
    task = Task(
        id="t",
        deployment_id="d",
        kind="approval",
        stage="APPROVAL",
        role="planning",
        title="t",
        outcomes=["approve"],
        created_at=NOW - timedelta(hours=created_hours_ago),
        due_at=NOW + timedelta(hours=due_in_hours),
    )
    assert urgency(task, NOW) == expected


async def four_tasks(world: World) -> dict[str, Task]:
    """Planning's tasks: one it claimed, one planning2 claimed, one overdue, one free."""
    assert world.member.id is not None
    [deployment_id] = await factories.deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code
    )
    tasks = {
        "mine": open_task(deployment_id, title="Mine"),
        "theirs": open_task(deployment_id, title="Theirs"),
        "overdue": open_task(deployment_id, title="Late", due_at=NOW - timedelta(hours=1)),
        "free": open_task(deployment_id, title="Free"),
    }
    await world.add(user("planning2", ["planning"]), *tasks.values())
    until = NOW + timedelta(days=1)
    await world.add(
        TaskClaim(task_id=tasks["mine"].id, username="planning", expires_at=until),
        TaskClaim(task_id=tasks["theirs"].id, username="planning2", expires_at=until),
    )
    return tasks


async def test_views_show_their_tasks_and_counts(world: World) -> None:
    tasks = await four_tasks(world)
    ids = {name: t.id for name, t in tasks.items()}
    async with world.signed_in("planning") as browser:
        pages = {
            view: (await browser.get(f"/inbox?view={view}")).text for view in ("mine", "unclaimed", "overdue")
        }
        default = (await browser.get("/inbox")).text
    assert sorted(row_ids(default)) == sorted(ids.values())
    assert view_counts(default) == {"mine": 1, "unclaimed": 2, "all": 4, "overdue": 1}
    assert row_ids(pages["mine"]) == [ids["mine"]]
    assert row_ids(pages["unclaimed"]) == [ids["overdue"], ids["free"]]
    assert row_ids(pages["overdue"]) == [ids["overdue"]]
    assert '<a href="/inbox?view=mine" class="usa-button" aria-current="page">My tasks' in pages["mine"]
    assert '<a href="/inbox" class="usa-button usa-button--outline">All my offices' in pages["mine"]


async def test_counts_stay_right_after_claim_and_unclaim(world: World) -> None:
    tasks = await four_tasks(world)
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        claimed = await browser.post(
            f"/inbox/tasks/{tasks['free'].id}/claim", headers=HTMX | {"X-CSRF-Token": token}
        )
        assert claimed.status_code == 200
        assert view_counts(claimed.text) == {"mine": 2, "unclaimed": 1, "all": 4, "overdue": 1}
        assert claimed.text.count('hx-swap-oob="true"') == 5  # the nav count and the four views
        released = await browser.post(
            f"/inbox/tasks/{tasks['mine'].id}/unclaim", headers=HTMX | {"X-CSRF-Token": token}
        )
        assert view_counts(released.text) == {"mine": 1, "unclaimed": 2, "all": 4, "overdue": 1}
        assert nav_count(released.text) == 4


async def test_saved_filter_round_trip_and_shared_as_a_link(world: World) -> None:
    tasks = await four_tasks(world)
    async with world.signed_in("planning") as browser:
        page = (await browser.get("/inbox?view=unclaimed&sort=age")).text
        token = csrf_of(page)
        # The save form carries the page's filters (without the page number).
        assert '<input type="hidden" name="query" value="view=unclaimed&amp;sort=age">' in page
        no_name = await browser.post(
            "/inbox/filters", data={"name": "  ", "query": "view=unclaimed", "csrf_token": token}
        )
        assert no_name.status_code == 422
        assert (
            '<span class="usa-error-message" id="saved-name-error">give the filter a name</span>'
            in no_name.text
        )
        assert 'aria-invalid="true" aria-describedby="saved-name-error"' in no_name.text
        saved = await browser.post(
            "/inbox/filters",
            data={
                "name": "Free <now>",
                "query": "view=unclaimed&sort=age&page=3&evil=1",
                "csrf_token": token,
            },
        )
        assert (saved.status_code, saved.headers["location"]) == (303, "/inbox?view=unclaimed&sort=age")
        listed = (await browser.get("/inbox")).text
        assert '<a href="/inbox?view=unclaimed&amp;sort=age">Free &lt;now&gt;</a>' in listed
        assert "Filter saved: Free &lt;now&gt;." in listed
        # Saving the name again replaces its query.
        await browser.post(
            "/inbox/filters", data={"name": "Free <now>", "query": "view=overdue", "csrf_token": token}
        )
    [kept] = await _saved(world)
    assert (kept.username, kept.name, kept.query) == ("planning", "Free <now>", "view=overdue")
    # The link shows a colleague the same view of their own inbox; they cannot delete the filter.
    async with world.signed_in("planning2") as other:
        shared = (await other.get(f"/inbox?{kept.query}")).text
        assert row_ids(shared) == [tasks["overdue"].id]
        assert "Free &lt;now&gt;" not in shared
        token2 = csrf_of(shared)
        refused = await other.post(f"/inbox/filters/{kept.id}/delete", data={"csrf_token": token2})
        assert refused.status_code == 404
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        no_csrf = await browser.post(f"/inbox/filters/{kept.id}/delete")
        assert no_csrf.status_code == 403
        deleted = await browser.post(f"/inbox/filters/{kept.id}/delete", data={"csrf_token": token})
        assert (deleted.status_code, deleted.headers["location"]) == (303, "/inbox")
    assert await _saved(world) == []


async def _saved(world: World) -> list[SavedFilter]:
    async with world.app.state.sessionmaker() as session:
        return list((await session.exec(select(SavedFilter))).all())


def _link(html: str, rel: str) -> str | None:
    """The href of the inbox's Next or Previous page link, unescaped, or None."""
    found = re.search(rf'<a href="([^"]+)" class="usa-pagination__link usa-pagination__{rel}-page"', html)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.mark.parametrize("sort", ["due", "age"])
async def test_the_inbox_is_paged_by_keyset_both_ways_keeping_the_filters(world: World, sort: str) -> None:
    assert world.member.id is not None
    [deployment_id] = await factories.deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code
    )
    # Two full pages and one row more; the last few with no due time (they come last when sorted
    # by due), and created_at ties broken by id.
    count = 2 * PAGE_SIZE + 1
    tasks = [
        open_task(
            deployment_id,
            title=f"Task {i}",
            due_at=None if i >= count - 3 else NOW + timedelta(days=1, minutes=i // 2),
            created_at=NOW - timedelta(hours=count - i // 2),
        )
        for i in range(count)
    ]
    await world.add(*tasks)
    if sort == "due":
        expected = sorted(tasks, key=lambda t: (t.due_at is None, t.due_at or NOW, t.created_at, t.id))
    else:
        expected = sorted(tasks, key=lambda t: (t.created_at, t.id))
    query = "view=unclaimed" + ("&sort=age" if sort == "age" else "")
    async with world.signed_in("planning") as browser:
        pages = [(await browser.get(f"/inbox?{query}")).text]
        while (following := _link(pages[-1], "next")) is not None:
            assert following.startswith(f"/inbox?{query}&after=")
            pages.append((await browser.get(following)).text)
        back = [pages[-1]]
        while (previous := _link(back[-1], "previous")) is not None:
            assert previous.startswith(f"/inbox?{query}&before=")
            back.append((await browser.get(previous)).text)
        bad = await browser.get(f"/inbox?{query}&after=nonsense")
    assert [len(row_ids(p)) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 1]
    assert [i for p in pages for i in row_ids(p)] == [t.id for t in expected]
    assert [row_ids(p) for p in reversed(back)] == [row_ids(p) for p in pages]
    assert _link(pages[0], "previous") is None
    assert f"{count} of {count} open tasks; {PAGE_SIZE} on this page" in pages[0]
    assert f"{count} of {count} open tasks; 1 on this page" in pages[2]
    assert view_counts(pages[2])["all"] == count
    assert bad.status_code == 422
    assert "must be a place in the list, as its page links give it" in bad.text


async def test_a_row_shows_the_facts_to_decide_with(world: World) -> None:
    assert world.member.id is not None
    [deployment_id] = await factories.deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code, justification="Courts <reopen>"
    )
    task = open_task(deployment_id)
    finding = open_task(
        deployment_id,
        kind="vetting_review",
        role="security",
        stage=Stage.VETTING.value,
        title="Clearance expires before the deployment ends",
        outcomes=["clear", "deny"],
    )
    await world.add(task, finding)
    async with world.signed_in("planning") as browser:
        page = (await browser.get("/inbox")).text
        facts = await browser.get(f"/inbox/tasks/{task.id}/facts", headers=HTMX)
    assert f'hx-get="/inbox/tasks/{task.id}/facts" hx-trigger="toggle once"' in page
    assert facts.status_code == 200
    assert '<p class="justification">Courts &lt;reopen&gt;</p>' in facts.text
    assert "Clearance expires before the deployment ends <small>(open)</small>" in facts.text
    assert world.member.name in facts.text
    async with world.signed_in("logistics") as browser:
        hidden = await browser.get(f"/inbox/tasks/{task.id}/facts", headers=HTMX)
    assert hidden.status_code == 404
    assert "Courts" not in hidden.text


async def test_approve_selected_gives_a_result_per_task(world: World) -> None:
    first = await world.submit()
    second = await world.submit(member=world.standby)
    planning = [
        (await world.open_tasks(first["id"], 3))["planning"]["id"],
        (await world.open_tasks(second["id"], 4))["planning"]["id"],  # and the home agency's
    ]
    await world.add(user("planning2", ["planning"]))
    await world.add(TaskClaim(task_id=planning[1], username="planning2", expires_at=NOW + timedelta(days=1)))
    async with world.signed_in("planning") as browser:
        page = (await browser.get("/inbox")).text
        token = csrf_of(page)
        assert f'type="checkbox" name="task_id" value="{planning[0]}" form="approve-selected"' in page
        assert f'value="{planning[1]}" form="approve-selected"' not in page  # held by planning2
        answer = await browser.post(
            "/inbox/approve-selected",
            data={"task_id": planning, "csrf_token": token},
            headers=HTMX | {"HX-Current-URL": "http://test/inbox?view=unclaimed"},
        )
    assert answer.status_code == 200
    assert answer.headers["HX-Retarget"] == "#inbox-table"
    assert "Approve selected: 1 of 2 approved" in answer.text
    results = re.findall(r'<span class="usa-tag[^"]*">(Approved|Refused)</span> ([^<]*)</li>', answer.text)
    assert results[0][0] == "Approved"
    assert results[0][1].startswith(f"Operational fit: {world.member.name} to ")
    assert results[1][0] == "Refused"
    assert "planning2 has claimed this task until" in results[1][1]
    assert 'aria-current="page">Unclaimed' in answer.text  # the page's view stays
    approved = await world.wait_for(first["id"], lambda d: len(d["open_tasks"]) == 2)
    assert "planning" not in [t["role"] for t in approved["open_tasks"]]


async def test_approve_selected_without_htmx_redirects_to_its_results(world: World) -> None:
    first = await world.submit()
    task_id = (await world.open_tasks(first["id"], 3))["planning"]["id"]
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        answer = await browser.post(
            "/inbox/approve-selected", data={"task_id": [task_id], "csrf_token": token}
        )
        assert (answer.status_code, answer.headers["location"]) == (303, "/inbox")
        landed = (await browser.get("/inbox")).text
        again = (await browser.get("/inbox")).text
    assert "Approve selected: 1 of 1 approved" in landed
    assert "1 of 1 approved" not in again  # shown once


async def test_the_deployment_page_decides(world: World) -> None:
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    task_id = tasks["planning"]["id"]
    async with world.signed_in("planning") as browser:
        page = (await browser.get(f"/deployments/{created['id']}")).text
        assert '<h2 id="decide-h">Your decision</h2>' in page
        assert f'<div class="open-task usa-summary-box" id="decide-{task_id}"' in page
        assert page.count('class="open-task ') == 1  # only planning's own task
        assert f'<textarea class="usa-textarea" id="comment-{task_id}" name="comment"' in page
        assert 'hx-target="closest .open-task"' in page
        token = csrf_of(page)
        done = await browser.post(
            f"/inbox/tasks/{task_id}",
            data={"outcome": "approve", "comment": "Fine", "place": "deployment"},
            headers=HTMX | {"X-CSRF-Token": token},
        )
        assert done.status_code == 200
        assert done.text.lstrip().startswith(f'<div class="open-task usa-summary-box" id="decide-{task_id}"')
        assert f"You approved {tasks['planning']['title']}." in done.text
        assert f'hx-get="/inbox/tasks/{task_id}?place=deployment" hx-trigger="load delay:11s"' in done.text
        assert '<input type="hidden" name="place" value="deployment">' in done.text  # in the Undo form
        assert nav_count(done.text) == 1  # still open while the workflow holds the decision
        assert "view-count" not in done.text  # no inbox on this page
    async with world.signed_in("resource_management") as browser:
        page = (await browser.get(f"/deployments/{created['id']}")).text
        rm_task = tasks["resource_management"]["id"]
        assert f'id="decide-{rm_task}"' in page and f'id="decide-{task_id}"' not in page
        token = csrf_of(page)
        # Without htmx: post/redirect/get back to the deployment.
        plain = await browser.post(
            f"/inbox/tasks/{rm_task}", data={"outcome": "approve", "place": "deployment", "csrf_token": token}
        )
        assert (plain.status_code, plain.headers["location"]) == (303, f"/deployments/{created['id']}")
    async with world.signed_in("requester") as browser:
        page = (await browser.get(f"/deployments/{created['id']}")).text
        assert 'id="decide-h"' not in page  # nothing of theirs to decide


async def test_a_decision_without_htmx_lands_on_the_inbox_saying_what_was_decided(world: World) -> None:
    created = await world.submit()
    task_id = (await world.open_tasks(created["id"], 3))["planning"]["id"]
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        answer = await browser.post(
            f"/inbox/tasks/{task_id}", data={"outcome": "approve", "csrf_token": token}
        )
        assert (answer.status_code, answer.headers["location"]) == (303, "/inbox")
        landed = (await browser.get("/inbox")).text
    assert f"You approved Operational fit: {world.member.name} to {world.post.code} as " in landed
    assert "You can undo it from its row for 10 seconds." in landed
    assert await count_rows(world.engine, select(TaskClaim)) == 0


async def test_reject_without_a_reason_is_refused_beside_the_comment(world: World) -> None:
    created = await world.submit()
    task_id = (await world.open_tasks(created["id"], 3))["planning"]["id"]
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        refused = await browser.post(
            f"/inbox/tasks/{task_id}",
            data={"outcome": "reject", "comment": "   "},
            headers=HTMX | {"X-CSRF-Token": token},
        )
    assert refused.status_code == 422
    assert refused.text.lstrip().startswith(f'<tr id="task-{task_id}" class="')
    error = re.search(
        rf'<span class="usa-error-message" id="comment-{task_id}-error">([^<]+)</span>', refused.text
    )
    assert error is not None and error.group(1) == "Say why in the comment"
    assert (
        f'aria-invalid="true" aria-describedby="comment-{task_id}-hint comment-{task_id}-error" autofocus>'
        "   </textarea>"
    ) in refused.text  # the typed comment stays, and the cursor goes back to it
    assert 'role="alert"' not in refused.text  # the error is the field's, not a second message
    assert len(await world.open_tasks(created["id"], 3)) == 3


async def test_undo_puts_the_task_back_with_its_comment(world: World) -> None:
    created = await world.submit()
    task = (await world.open_tasks(created["id"], 3))["planning"]
    path = f"/inbox/tasks/{task['id']}"
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        held = await browser.post(
            path,
            data={"outcome": "approve", "comment": "Fits <the> plan"},
            headers=HTMX | {"X-CSRF-Token": token},
        )
        assert f"You approved {task['title']}." in held.text
        no_csrf = await browser.post(f"{path}/undo", data={"comment": "x"}, headers=HTMX)
        assert no_csrf.status_code == 403
        async with world.signed_in("admin") as other:
            token2 = csrf_of((await other.get("/inbox")).text)
            theirs = await other.post(f"{path}/undo", headers=HTMX | {"X-CSRF-Token": token2})
        assert theirs.status_code == 403
        assert "only planning may undo their decision" in theirs.text
        undone = await browser.post(
            f"{path}/undo", data={"comment": "Fits <the> plan"}, headers=HTMX | {"X-CSRF-Token": token}
        )
        assert undone.status_code == 200, undone.text
        assert undone.text.lstrip().startswith(f'<tr id="task-{task["id"]}" class="">')
        assert ">Fits &lt;the&gt; plan</textarea>" in undone.text
        assert view_counts(undone.text)["all"] == 1
        # Undone in the workflow too: the task stays open past the window, and can be decided again.
        current = await world.deployment(created["id"])
        assert "withdrew" in " ".join(e["message"] for e in current["timeline"])
        again = await browser.post(path, data={"outcome": "approve"}, headers=HTMX | {"X-CSRF-Token": token})
        assert f"You approved {task['title']}." in again.text
