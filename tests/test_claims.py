"""Claims cannot block: only those who may decide may claim, claims lapse, directors take over.

Tasks are read-model rows written by the test, as in test_pages_inbox; the clock is the `now`
the services take, or a claim whose term has already run out.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.settings import Settings
from crc.tables import Task, TaskClaim, User
from tests import factories
from tests.web_helpers import World, count_rows, csrf_of, nav_count, open_task, row_ids, user, web_world
from web.services.claims import add_working_days, claim_expiry, is_urgent
from web.services.errors import Conflict, Forbidden
from web.services.inbox import claim_task

HTMX = {"HX-Request": "true"}
FRIDAY = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        await w.add(
            user("planning2", ["planning"]),
            user("director_planning", ["director"], scopes={"director": ["planning"]}),
            user("director_operations", ["director"], scopes={"director": ["operations"]}),
        )
        yield w


def a_task(deployment_id: str, **overrides: Any) -> Task:
    """An open planning approval opened at FRIDAY, due in five days (not urgent)."""
    fields: dict[str, Any] = {"created_at": FRIDAY, "due_at": FRIDAY + timedelta(days=5)}
    return open_task(deployment_id, **(fields | overrides))


async def deployment(world: World, requested_by: str = "req.user") -> str:
    assert world.member.id is not None
    [found] = await factories.deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code, requested_by=requested_by
    )
    return found


async def claims(world: World) -> list[tuple[str, datetime, datetime]]:
    async with world.app.state.sessionmaker() as session:
        rows = (await session.exec(select(TaskClaim))).all()
        return [(c.username, c.claimed_at, c.expires_at) for c in rows]


async def claim_as(world: World, username: str, task_id: str, now: datetime) -> TaskClaim:
    """Claim through the service with a clock of the test's choosing."""
    async with world.app.state.sessionmaker() as session:
        claimant = (await session.exec(select(User).where(User.username == username))).one()
        return await claim_task(session, user=claimant, task_id=task_id, now=now, settings=Settings())


# --- The term of a claim ----------------------------------------------------------------------


def test_the_default_terms_are_four_hours_and_two_working_days() -> None:
    settings = Settings()
    assert (settings.CRC_CLAIM_URGENT_HOURS, settings.CRC_CLAIM_WORKING_DAYS) == (4, 2)


@pytest.mark.parametrize(
    ("start", "days", "end"),
    [
        (FRIDAY, 2, FRIDAY + timedelta(days=4)),  # Tuesday
        (FRIDAY - timedelta(days=2), 2, FRIDAY),  # Wednesday to Friday
        (FRIDAY + timedelta(days=1), 2, FRIDAY + timedelta(days=4)),  # Saturday to Tuesday
        (FRIDAY, 1, FRIDAY + timedelta(days=3)),  # Monday
        (FRIDAY, 0, FRIDAY),
    ],
)
def test_working_days_skip_the_weekend(start: datetime, days: int, end: datetime) -> None:
    assert add_working_days(start, days) == end


@pytest.mark.parametrize(
    ("due_after", "urgent"),
    [(timedelta(hours=4), True), (timedelta(hours=24), True), (timedelta(hours=24, seconds=1), False)],
)
def test_a_task_due_within_a_day_of_opening_is_urgent(due_after: timedelta, urgent: bool) -> None:
    assert is_urgent(a_task("d", due_at=FRIDAY + due_after)) is urgent
    expected = FRIDAY + timedelta(hours=4) if urgent else FRIDAY + timedelta(days=4)
    assert claim_expiry(Settings(), a_task("d", due_at=FRIDAY + due_after), FRIDAY) == expected


def test_the_terms_follow_the_settings() -> None:
    settings = Settings(CRC_CLAIM_URGENT_HOURS=1.5, CRC_CLAIM_WORKING_DAYS=3)
    urgent = a_task("d", due_at=FRIDAY + timedelta(hours=4))
    assert claim_expiry(settings, urgent, FRIDAY) == FRIDAY + timedelta(hours=1, minutes=30)
    assert claim_expiry(settings, a_task("d", due_at=None), FRIDAY) == FRIDAY + timedelta(days=5)


# --- Who may claim, and for how long -----------------------------------------------------------


async def test_a_requester_cannot_claim_their_own_request(world: World) -> None:
    await world.add(user("planner_requester", ["planning", "requester"]))
    own = a_task(await deployment(world, requested_by="planner_requester"))
    await world.add(own)
    async with world.signed_in("planner_requester") as browser:
        page = await browser.get("/inbox")
        assert row_ids(page.text) == []  # not offered: they may not decide it
        assert nav_count(page.text) == 0
        token = csrf_of(page.text)
        refused = await browser.post(f"/inbox/tasks/{own.id}/claim", headers=HTMX | {"X-CSRF-Token": token})
    assert refused.status_code == 403
    assert "nobody may decide on their own request" in refused.text
    assert await count_rows(world.engine, select(TaskClaim)) == 0
    listed = await world.http.get("/api/v1/tasks", headers=await world.headers("planner_requester"))
    assert listed.json() == {"items": [], "total": 0, "next_cursor": None}
    # Every other planner may take it.
    async with world.signed_in("planning2") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        taken = await browser.post(f"/inbox/tasks/{own.id}/claim", headers=HTMX | {"X-CSRF-Token": token})
    assert taken.status_code == 200
    assert [c[0] for c in await claims(world)] == ["planning2"]


async def test_an_urgent_claim_lapses_after_four_hours(world: World) -> None:
    urgent = a_task(await deployment(world), due_at=FRIDAY + timedelta(hours=4))
    await world.add(urgent)
    held = await claim_as(world, "planning", urgent.id, FRIDAY)
    assert (held.username, held.expires_at) == ("planning", FRIDAY + timedelta(hours=4))
    with pytest.raises(Conflict) as refused:
        await claim_as(world, "planning2", urgent.id, FRIDAY + timedelta(hours=3, minutes=59))
    assert refused.value.detail == (
        "planning has claimed this task until 2026-12-04 19:30 UTC; ask them, or wait until they let it go"
    )
    # Claiming again does not lengthen the term.
    again = await claim_as(world, "planning", urgent.id, FRIDAY + timedelta(hours=3))
    assert again.expires_at == FRIDAY + timedelta(hours=4)
    taken = await claim_as(world, "planning2", urgent.id, FRIDAY + timedelta(hours=4))
    assert (taken.username, taken.expires_at) == ("planning2", FRIDAY + timedelta(hours=8))
    assert await claims(world) == [
        ("planning2", FRIDAY + timedelta(hours=4), FRIDAY + timedelta(hours=8)),
    ]


async def test_a_claim_lapses_after_two_working_days(world: World) -> None:
    task = a_task(await deployment(world))
    await world.add(task)
    await claim_as(world, "planning", task.id, FRIDAY)
    with pytest.raises(Conflict):
        await claim_as(world, "planning2", task.id, FRIDAY + timedelta(days=3, hours=23))  # Monday night
    taken = await claim_as(world, "planning2", task.id, FRIDAY + timedelta(days=4))  # Tuesday
    assert taken.username == "planning2"


async def test_a_lapsed_claim_holds_nothing_in_the_inbox(world: World) -> None:
    task = a_task(await deployment(world), created_at=datetime.now(UTC) - timedelta(hours=2))
    await world.add(task)
    past = datetime.now(UTC) - timedelta(minutes=1)
    await world.add(
        TaskClaim(task_id=task.id, username="planning", claimed_at=past - timedelta(hours=4), expires_at=past)
    )
    async with world.signed_in("planning2") as browser:
        page = await browser.get("/inbox")
        assert "Claimed by" not in page.text
        assert "is working on this task" not in page.text
        token = csrf_of(page.text)
        taken = await browser.post(f"/inbox/tasks/{task.id}/claim", headers=HTMX | {"X-CSRF-Token": token})
    assert taken.status_code == 200
    assert "Claimed by you until" in taken.text
    [(holder, claimed_at, expires_at)] = await claims(world)
    assert (holder, expires_at) == ("planning2", add_working_days(claimed_at, 2))
    # The former holder, lapsed, can neither let it go nor decide past the new claim.
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        released = await browser.post(
            f"/inbox/tasks/{task.id}/unclaim", headers=HTMX | {"X-CSRF-Token": token}
        )
    assert released.status_code == 409
    assert "planning2 holds this task; only they can let it go" in released.text


# --- Directors take over --------------------------------------------------------------------


async def test_the_director_of_the_office_takes_over_a_claim(world: World) -> None:
    task = a_task(await deployment(world), escalated=True, created_at=datetime.now(UTC) - timedelta(hours=2))
    await world.add(task)
    path = f"/inbox/tasks/{task.id}/claim"
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        assert (await browser.post(path, headers=HTMX | {"X-CSRF-Token": token})).status_code == 200
    async with world.signed_in("director_planning") as browser:
        page = await browser.get("/inbox")
        assert row_ids(page.text) == [task.id]
        assert "Claimed by planning until" in page.text
        assert f'aria-label="Take over: {task.title}">Take over</button>' in page.text
        assert "planning is working on this task." not in page.text  # the director may decide
        taken = await browser.post(path, headers=HTMX | {"X-CSRF-Token": csrf_of(page.text)})
    assert taken.status_code == 200
    assert "Claimed by you until" in taken.text
    assert [c[0] for c in await claims(world)] == ["director_planning"]
    async with world.signed_in("planning") as browser:
        page = await browser.get("/inbox")
        assert "Claimed by director_planning until" in page.text
        assert ">Take over</button>" not in page.text
        back = await browser.post(path, headers=HTMX | {"X-CSRF-Token": csrf_of(page.text)})
    assert back.status_code == 409
    # A director of another office may neither see it nor take it.
    async with world.signed_in("director_operations") as browser:
        page = await browser.get("/inbox")
        assert row_ids(page.text) == []
        other = await browser.post(path, headers=HTMX | {"X-CSRF-Token": csrf_of(page.text)})
    assert other.status_code == 403
    assert "this task is outside your scope as Director (office planning)" in other.text


async def test_no_director_takes_over_a_task_not_escalated(world: World) -> None:
    task = a_task(await deployment(world), created_at=datetime.now(UTC) - timedelta(hours=2))
    await world.add(task)
    await claim_as(world, "planning", task.id, datetime.now(UTC))
    with pytest.raises(Forbidden) as refused:
        await claim_as(world, "director_planning", task.id, datetime.now(UTC))
    assert refused.value.detail == "this task is for the planning role"
    assert [c[0] for c in await claims(world)] == ["planning"]
