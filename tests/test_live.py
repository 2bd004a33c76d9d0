"""Live changes: a write committed through one engine (another web process or the worker) reaches
the subscribers of a listener on another engine, on SQLite (polling) and PostgreSQL (NOTIFY)."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from crc.db import create_engine, session_factory
from crc.live import KEEP, prune, publish
from crc.tables import LiveChange, utcnow
from tests import factories
from web.live import LISTEN_TIMEOUT_SECONDS, Change, LiveHub

# Well inside the listener's fallback read on PostgreSQL: arriving this fast means NOTIFY woke it.
ARRIVES_WITHIN = 3.0


@pytest.fixture
async def other_process(
    database_url: tuple[str, str | None], engine: AsyncEngine
) -> AsyncIterator[AsyncEngine]:
    """A second engine on the same database, as another process would have."""
    url, schema = database_url
    other = create_engine(url, schema=schema)
    yield other
    await other.dispose()


@pytest.fixture
async def hub(other_process: AsyncEngine) -> AsyncIterator[LiveHub]:
    """A started listener on the second engine."""
    live = LiveHub(other_process)
    await live.start()
    yield live
    await live.stop()


async def _next(queue: "asyncio.Queue[Change]") -> Change:
    async with asyncio.timeout(ARRIVES_WITHIN):
        return await queue.get()


async def test_a_committed_write_reaches_a_listener_in_another_process(
    engine: AsyncEngine, hub: LiveHub
) -> None:
    assert ARRIVES_WITHIN < LISTEN_TIMEOUT_SECONDS
    async with hub.subscribe() as queue:
        async with session_factory(engine).begin() as session:
            row = await publish(session, "dep-1", stage=True, task_ids=["t2", "t1", "t2"])
        assert row is not None
        change = await _next(queue)
    assert change == Change(
        id=row.id or 0,
        deployment_id="dep-1",
        what=frozenset({"stage", "tasks"}),
        usernames=None,
        task_ids=("t1", "t2"),
    )


async def test_a_rolled_back_write_tells_nobody(engine: AsyncEngine, hub: LiveHub) -> None:
    async with hub.subscribe() as queue:
        async with session_factory(engine)() as session:
            await publish(session, "dep-gone", stage=True)
            await session.rollback()
        async with session_factory(engine).begin() as session:
            await publish(session, "dep-kept", task_ids=["t1"])
        change = await _next(queue)
        await asyncio.sleep(1.5)  # a poll or two more: still nothing else
        assert queue.empty()
    assert change.deployment_id == "dep-kept"


async def test_the_write_names_whose_bell_changed(engine: AsyncEngine, hub: LiveHub) -> None:
    async with hub.subscribe() as queue:
        async with session_factory(engine).begin() as session:
            await publish(session, "dep-1", usernames=["planning", "director", "planning"])
        change = await _next(queue)
    assert change.what == frozenset({"notifications"})
    assert change.usernames == frozenset({"director", "planning"})


async def test_nothing_changed_records_nothing(engine: AsyncEngine) -> None:
    async with session_factory(engine).begin() as session:
        assert await publish(session, "dep-1") is None
    async with session_factory(engine)() as session:
        assert (await session.exec(select(LiveChange))).all() == []


async def test_changes_older_than_an_hour_are_pruned(engine: AsyncEngine) -> None:
    now = utcnow()
    old = LiveChange(deployment_id="old", what=["stage"], created_at=now - KEEP - timedelta(seconds=1))
    new = LiveChange(deployment_id="new", what=["stage"], created_at=now - KEEP + timedelta(minutes=1))
    await factories.add(engine, old, new)
    async with session_factory(engine)() as session:
        assert await prune(session, now) == 1
        kept = (await session.exec(select(LiveChange.deployment_id))).all()
    assert kept == ["new"]


async def test_each_subscriber_gets_every_change_and_a_late_one_none_before(
    engine: AsyncEngine, hub: LiveHub
) -> None:
    async with hub.subscribe() as first, hub.subscribe() as second:
        async with session_factory(engine).begin() as session:
            await publish(session, "dep-1", stage=True)
        assert (await _next(first)).deployment_id == "dep-1"
        assert (await _next(second)).deployment_id == "dep-1"
    async with hub.subscribe() as late:
        await asyncio.sleep(1.5)
        assert late.empty()
