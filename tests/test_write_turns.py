"""Writes under contention: who a change may tell is read before the write begins, and SQLite's
writers take turns at its one writer lock (a queue per process, a file lock between processes)."""

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, col, select

from activities.outbox import audience_on
from activities.read_model import ReadModelActivities
from crc.db import create_engine, session_factory, writing
from crc.roles import Role
from crc.stages import Stage
from crc.tables import Notification, Task
from crc.tasks import Outcome, TaskKind
from crc.types import EventRecord, OpenTasks, TaskView
from tests.factories import add, requested_deployment, user


async def _world(engine: AsyncEngine) -> tuple[str, int]:
    """A requested deployment, its member's login, other members' logins and the offices'."""
    request = await requested_deployment(engine, requested_by="req.user")
    others = await _other_members(engine, 3)
    await add(
        engine,
        user("req.user", Role.REQUESTER),
        user("planner", Role.PLANNING),
        user("own.login", Role.MEMBER, member_id=request.member_id),
        user("member.and.planner", Role.MEMBER, Role.PLANNING, member_id=others[0]),
        user("other.member", Role.MEMBER, member_id=others[1]),
        user("gone.planner", Role.PLANNING, is_active=False),
    )
    return request.deployment_id, request.member_id


async def _other_members(engine: AsyncEngine, count: int) -> list[int]:
    ids = []
    for _ in range(count):
        other = await requested_deployment(engine)
        ids.append(other.member_id)
    return ids


async def test_the_audience_leaves_out_other_members_own_logins(engine: AsyncEngine) -> None:
    deployment_id, _ = await _world(engine)
    async with session_factory(engine)() as session:
        audience = await audience_on(session, deployment_id, datetime.now(UTC).date())
        missing = await audience_on(session, "no-such-deployment", datetime.now(UTC).date())
    assert audience is not None
    assert sorted(p.username for p in audience.users) == [
        "member.and.planner",
        "own.login",
        "planner",
        "req.user",
    ]
    assert missing is None


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every statement the engine runs while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_opening_tasks_reads_the_users_before_its_write_begins(engine: AsyncEngine) -> None:
    deployment_id, _ = await _world(engine)
    now = datetime.now(UTC)
    task = TaskView(
        id=str(uuid.uuid4()),
        kind=TaskKind.APPROVAL,
        stage=Stage.APPROVAL,
        role=Role.PLANNING,
        title="Approve",
        outcomes=[Outcome.APPROVE, Outcome.REJECT],
    )
    event = EventRecord(
        key=f"{deployment_id}/opened", kind="approval_opened", stage=Stage.APPROVAL, actor="system",
        message="Approval opened", at=now,
    )  # fmt: skip
    with statements(engine) as seen:
        await ReadModelActivities(engine).open_tasks(
            OpenTasks(deployment_id=deployment_id, tasks=[task], event=event)
        )
    first_write = next(i for i, s in enumerate(seen) if s.startswith(("BEGIN", "INSERT", "UPDATE")))
    assert [s for s in seen[first_write:] if 'FROM "user"' in s or "FROM user " in s] == []
    async with session_factory(engine)() as session:
        told = (await session.exec(select(Notification.username).order_by(col(Notification.username)))).all()
        opened = (await session.exec(select(Task.id))).all()
    # The planner, and the member who also plans: never the requester, whose task it is not.
    assert list(told) == ["member.and.planner", "planner"]
    assert list(opened) == [task.id]


def _note(key: str) -> Notification:
    return Notification(key=key, username="u", kind="task", subject=key, link="/")


async def _sqlite_engine(path: Path) -> AsyncEngine:
    engine = create_engine(f"sqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    return engine


async def test_a_second_process_waits_for_its_turn_before_touching_sqlite(tmp_path: Path) -> None:
    # Two engines on one file stand for two processes (each has its own queue).
    first = await _sqlite_engine(tmp_path / "crc.db")
    second = create_engine(f"sqlite:///{tmp_path / 'crc.db'}")
    try:
        inside = asyncio.Event()
        leave = asyncio.Event()

        async def hold() -> None:
            async with writing(session_factory(first)) as session:
                session.add(_note("a"))
                inside.set()
                await leave.wait()

        async def follow() -> None:
            async with writing(session_factory(second)) as session:
                session.add(_note("b"))

        holder = asyncio.create_task(hold())
        await inside.wait()
        with statements(second) as seen:
            follower = asyncio.create_task(follow())
            await asyncio.sleep(0.3)
            assert not follower.done()
            assert [s for s in seen if s.startswith("BEGIN")] == []  # waiting at the file lock
            leave.set()
            await asyncio.wait_for(asyncio.gather(holder, follower), 5)
        assert [s for s in seen if s.startswith("BEGIN")] == ["BEGIN IMMEDIATE"]
        async with session_factory(first)() as session:
            keys = (await session.exec(select(Notification.key).order_by(col(Notification.key)))).all()
        assert list(keys) == ["a", "b"]
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_writer_that_stops_waiting_leaves_the_file_lock_free(tmp_path: Path) -> None:
    first = await _sqlite_engine(tmp_path / "crc.db")
    second = create_engine(f"sqlite:///{tmp_path / 'crc.db'}")
    try:
        inside = asyncio.Event()
        leave = asyncio.Event()

        async def hold() -> None:
            async with writing(session_factory(first)):
                inside.set()
                await leave.wait()

        async def turn(engine: AsyncEngine) -> None:
            async with writing(session_factory(engine)) as session:
                session.add(_note("b"))

        holder = asyncio.create_task(hold())
        await inside.wait()
        gave_up = asyncio.create_task(asyncio.wait_for(turn(second), 0.2))
        await asyncio.sleep(0.4)
        assert gave_up.done() and isinstance(gave_up.exception(), TimeoutError)
        leave.set()
        await holder
        await asyncio.wait_for(turn(first), 2)  # not blocked by the abandoned wait's late lock
        async with session_factory(first)() as session:
            keys = (await session.exec(select(Notification.key))).all()
        assert list(keys) == ["b"]
    finally:
        await first.dispose()
        await second.dispose()
