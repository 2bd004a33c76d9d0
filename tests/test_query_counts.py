"""SQL statements per page and per API call: the same with one row as with many (no N+1).

Each read is counted once over a small world and again after many more deployments, members,
posts, tasks, claims, events and notifications are added; the counts must be equal. Only the
statements the request itself sends are counted (a context variable marks them), not those of
the live-changes poller or the worker running beside it.
"""

import uuid
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.stages import Stage
from crc.tables import Event, Notification, TaskClaim
from tests import factories
from tests.web_helpers import World, open_task, web_world

NOW = datetime.now(UTC)
_SENT: ContextVar[list[str] | None] = ContextVar("sent_statements", default=None)
PAGES = {
    "inbox": ("planning", "/inbox"),
    "inbox, unclaimed view, oldest first": ("planning", "/inbox?view=unclaimed&sort=age"),
    "dashboard": ("operations", "/"),
    "deployments list": ("operations", "/deployments"),
    "deployment page": ("planning", "/deployments/{first}"),
    "notifications page": ("planning", "/notifications"),
    "readiness page": ("operations", "/readiness"),
    "GET /api/v1/tasks": ("planning", "/api/v1/tasks"),
    "GET /api/v1/deployments": ("operations", "/api/v1/deployments"),
    "GET /api/v1/notifications": ("planning", "/api/v1/notifications"),
    "GET /api/v1/readiness": ("planning", "/api/v1/readiness"),
    "GET /api/v1/dashboard/countries": ("planning", "/api/v1/dashboard/countries"),
    "GET /api/v1/dashboard/approval-times": ("planning", "/api/v1/dashboard/approval-times"),
}


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


@pytest.fixture
def counted(engine: AsyncEngine) -> Iterator[None]:
    """Record each statement sent while a test's read runs (see `_statements`)."""

    def keep(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent = _SENT.get()
        if sent is not None:
            sent.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", keep)
    yield
    sa.event.remove(engine.sync_engine, "before_cursor_execute", keep)


async def _populate(world: World, count: int, first: str | None) -> str:
    """`count` more deployments, each of its own member at its own post, with an open planning
    approval (every third claimed, every fourth overdue), a needs-help task, events and
    notifications; events and tasks on the `first` deployment too. The first deployment's id."""
    tag = uuid.uuid4().hex[:6]
    posts = [
        factories.post(code=f"P{tag[:3]}{i}".upper()[:16], country=f"Country {tag}{i}") for i in range(count)
    ]
    members = [
        factories.member(name=f"Member {tag} {i}", email=f"m{tag}{i}@example.gov") for i in range(count)
    ]
    await world.add(*posts, *members)
    ids: list[str] = []
    for i, (p, m) in enumerate(zip(posts, members, strict=True)):
        assert m.id is not None
        stage = Stage.DEPLOYED if i % 2 else Stage.APPROVAL
        ids += await factories.deployment_rows(world.engine, 1, member_id=m.id, post_code=p.code, stage=stage)
    first = first or ids[0]
    tasks = [
        open_task(d, due_at=NOW - timedelta(hours=1) if i % 4 == 3 else NOW + timedelta(days=1, minutes=i))
        for i, d in enumerate([*ids, first])
    ]
    helped = [open_task(d, kind="needs_help", role="operations", title="Needs help") for d in ids]
    await world.add(*tasks, *helped)
    claims = [
        TaskClaim(task_id=t.id, username="planning", claimed_at=NOW, expires_at=NOW + timedelta(hours=4))
        for t in tasks[::3]
    ]
    events = [
        Event(
            key=f"{tag}-{i}",
            deployment_id=d,
            kind="note",
            stage="APPROVAL",
            actor="planning",
            message="Noted",
        )
        for i, d in enumerate([*ids, first])
    ]
    notes = [
        Notification(
            key=f"{tag}-{i}-{who}",
            username=who,
            kind="task_assigned",
            subject="A task waits",
            link=f"/deployments/{d}",
            deployment_id=d,
        )
        for i, d in enumerate(ids)
        for who in ("planning", "operations")
    ]
    await world.add(*claims, *events, *notes)
    return first


async def _statements(world: World, username: str, path: str) -> list[str]:
    sent: list[str] = []
    headers = await world.headers(username) if path.startswith("/api/") else None
    async with world.signed_in(username) if headers is None else _nothing() as browser:
        token = _SENT.set(sent)
        try:
            client = browser or world.http
            answer = await client.get(path, headers=headers)
        finally:
            _SENT.reset(token)
    assert answer.status_code == 200, (path, answer.text[:500])
    return sent


class _nothing:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *_: object) -> None:
        return None


@pytest.mark.usefixtures("counted")
async def test_no_read_sends_more_statements_for_more_rows(world: World) -> None:
    first = await _populate(world, 1, None)
    few = {
        name: await _statements(world, who, path.format(first=first)) for name, (who, path) in PAGES.items()
    }
    await _populate(world, 24, first)
    many = {
        name: await _statements(world, who, path.format(first=first)) for name, (who, path) in PAGES.items()
    }
    assert {name: len(s) for name, s in many.items()} == {name: len(s) for name, s in few.items()}


@pytest.mark.usefixtures("counted")
async def test_the_inbox_and_the_task_list_send_these_statements(world: World) -> None:
    await _populate(world, 30, None)
    inbox = await _statements(world, "planning", "/inbox")
    tasks = await _statements(world, "planning", "/api/v1/tasks")
    listed = await _statements(world, "operations", "/deployments")
    # The page's tasks with their deployments in one statement: no deployment read on its own.
    assert len([s for s in inbox if "deployment.workflow_id" in s]) == 1
    # The counts: one statement (open tasks and their live claims), and the page: one.
    assert len([s for s in inbox if "UNION ALL" in s]) == 1
    # The task list: its page and its count.
    assert len([s for s in tasks if "FROM task" in s]) == 2
    # The deployments list reads the posts once (its rows' and the filter's).
    assert len([s for s in listed if " ".join(s.split()).startswith("SELECT post.code")]) == 1


@pytest.mark.usefixtures("counted")
async def test_the_readiness_page_reads_each_dashboard_in_one_statement(world: World) -> None:
    await _populate(world, 10, None)
    page = [" ".join(s.split()) for s in await _statements(world, "operations", "/readiness")]
    # Readiness from the members (their deployments and windows in NOT EXISTS), the map from the
    # kept stage counts, the cycle times from the approvals decided lately: one statement each;
    # beside them the session with its user, the out-of-office delegations and the navigation's counts.
    assert len([s for s in page if "FROM member" in s]) == 1
    assert len([s for s in page if "FROM stagecount JOIN post" in s]) == 1
    assert len([s for s in page if "task.completed_at" in s]) == 1
    assert len(page) == 6, [s[:60] for s in page]
