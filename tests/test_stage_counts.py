"""The deployments-by-stage-and-post counts (crc.stage_counts) always equal a real COUNT(*)."""

import asyncio
import random
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from crc.db import create_sync_engine, session_factory
from crc.stage_counts import StageCount
from crc.stages import Stage
from crc.tables import Deployment, Member, Post, utcnow
from migrations import upgrade
from tests import factories

Counts = dict[tuple[str, str], int]


async def kept_counts(engine: AsyncEngine) -> Counts:
    """The kept counts, less the rows at 0."""
    async with session_factory(engine)() as session:
        rows = await session.exec(select(StageCount.stage, StageCount.post_code, StageCount.n))
        return {(stage, post): n for stage, post, n in rows.all() if n}


async def counted(engine: AsyncEngine) -> Counts:
    """COUNT(*) of the deployments by stage and post."""
    query = select(Deployment.stage, Deployment.post_code, func.count()).group_by(
        col(Deployment.stage), col(Deployment.post_code)
    )
    async with session_factory(engine)() as session:
        return {(stage, post): int(n) for stage, post, n in (await session.exec(query)).all()}


async def _world(engine: AsyncEngine, posts: int = 2) -> tuple[int, list[str]]:
    member = factories.member()
    post_rows = [factories.post(code=f"P{i}{uuid.uuid4().hex[:4].upper()}") for i in range(posts)]
    await factories.add(engine, member, *post_rows)
    assert member.id is not None
    return member.id, [p.code for p in post_rows]


async def _move(engine: AsyncEngine, deployment_id: str, **values: str) -> None:
    async with session_factory(engine).begin() as session:
        row = await session.get(Deployment, deployment_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


async def test_counts_follow_inserts_moves_post_changes_and_deletes(engine: AsyncEngine) -> None:
    member_id, (first, second) = await _world(engine)
    ids = await factories.deployment_rows(
        engine, 3, member_id=member_id, post_code=first, stage=Stage.APPROVAL
    )
    await factories.deployment_rows(engine, 2, member_id=member_id, post_code=second, stage=Stage.DEPLOYED)
    assert await kept_counts(engine) == {(Stage.APPROVAL, first): 3, (Stage.DEPLOYED, second): 2}

    await _move(engine, ids[0], stage=Stage.VETTING)  # a stage change
    await _move(engine, ids[1], post_code=second)  # an amendment to another post
    await _move(engine, ids[2], status="Waiting", stage=Stage.APPROVAL)  # the same stage again
    async with engine.begin() as conn:  # a bulk write, as a seed or the bench does
        await conn.execute(
            sa.update(Deployment).where(col(Deployment.post_code) == second).values(stage=Stage.TRAVEL)
        )
    async with session_factory(engine).begin() as session:  # a request's undo
        row = await session.get(Deployment, ids[2])
        await session.delete(row)
    assert (
        await kept_counts(engine)
        == await counted(engine)
        == {
            (Stage.VETTING, first): 1,
            (Stage.TRAVEL, second): 3,
        }
    )


async def test_counts_stay_exact_under_concurrent_changes(engine: AsyncEngine) -> None:
    member_id, posts = await _world(engine)
    stages = [Stage.REQUESTED, Stage.APPROVAL, Stage.VETTING, Stage.TRAINING, Stage.DEPLOYED]
    ids = await factories.deployment_rows(engine, 24, member_id=member_id, post_code=posts[0])
    randomly = random.Random(13)

    async def wander(deployment_id: str) -> None:
        # Forwards and backwards, across posts: opposite moves in flight at once.
        for _ in range(6):
            await _move(
                engine, deployment_id, stage=randomly.choice(stages), post_code=randomly.choice(posts)
            )

    async def request() -> None:
        await factories.deployment_rows(engine, 1, member_id=member_id, post_code=randomly.choice(posts))

    await asyncio.gather(*(wander(i) for i in ids), *(request() for _ in range(8)))
    found = await counted(engine)
    assert sum(found.values()) == 32
    assert await kept_counts(engine) == found


def test_the_migration_counts_the_rows_already_there(database_url: tuple[str, str | None]) -> None:
    url, schema = database_url
    upgrade(url, schema, "0022")
    engine = create_sync_engine(url, schema=schema)
    try:
        now = utcnow()
        with engine.begin() as conn:
            conn.execute(sa.insert(Member), [factories.member().model_dump() | {"id": 1}])
            conn.execute(sa.insert(Post), [factories.post(code=c).model_dump() for c in ("PA", "PB")])
            rows = [
                {
                    "id": str(uuid.uuid4()),
                    "workflow_id": str(uuid.uuid4()),
                    "member_id": 1,
                    "post_code": post,
                    "sector": "rule_of_law",
                    "role_title": "Adviser",
                    "start_date": now.date(),
                    "end_date": now.date(),
                    "duration_days": 1,
                    "justification": "Counted",
                    "stage": stage,
                    "requested_by": "req.user",
                    "created_at": now,
                    "updated_at": now,
                }
                for post, stage in (("PA", "APPROVAL"), ("PA", "APPROVAL"), ("PB", "DEPLOYED"))
            ]
            conn.execute(sa.insert(Deployment), rows)
        upgrade(url, schema)
        with engine.begin() as conn:
            kept = conn.execute(
                sa.select(col(StageCount.stage), col(StageCount.post_code), col(StageCount.n))
            ).all()
            assert sorted(map(tuple, kept)) == [("APPROVAL", "PA", 2), ("DEPLOYED", "PB", 1)]
            # And the triggers keep them from there.
            conn.execute(
                sa.update(Deployment).where(col(Deployment.post_code) == "PA").values(stage="VETTING")
            )
            kept = conn.execute(
                sa.select(col(StageCount.stage), col(StageCount.post_code), col(StageCount.n))
            ).all()
            assert sorted(map(tuple, kept)) == [
                ("APPROVAL", "PA", 0),
                ("DEPLOYED", "PB", 1),
                ("VETTING", "PA", 2),
            ]
    finally:
        engine.dispose()
