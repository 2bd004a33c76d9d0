"""The funds ledger in the read-model's transactions: a budget approval obligates its estimate or
is refused whole; racing approvals never overdraw; cancellation releases, completion spends the
actual, an approved extension adjusts. On SQLite and PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.read_model import ReadModelActivities
from crc.db import session_factory
from crc.names import ERR_OVERDRAWN
from crc.stages import Stage
from crc.tables import Deployment
from crc.types import StageChange
from tests.concurrency import wide_engine
from tests.fund_helpers import ESTIMATE, approval, budgeted, fund_sums, obligations, task_statuses

RACERS = 30
COVERED = 10


@pytest.fixture
async def racing_engine(database_url: tuple[str, str | None]) -> AsyncIterator[AsyncEngine]:
    """A fresh database with a connection for each racing approval."""
    async with wide_engine(*database_url) as engine:
        yield engine


async def _approve(acts: ReadModelActivities, deployment_id: str, task_id: str) -> str:
    """Approve one budget; "ok", or the refusal's type."""
    try:
        await ActivityEnvironment().run(acts.complete_task, approval(deployment_id, task_id))
    except ApplicationError as err:
        assert err.non_retryable
        return err.type or ""
    return "ok"


async def test_thirty_racing_approvals_obligate_exactly_the_ten_the_fund_covers(
    racing_engine: AsyncEngine,
) -> None:
    world = await budgeted(racing_engine, RACERS, ESTIMATE * COVERED)
    acts = ReadModelActivities(racing_engine)

    results = await asyncio.gather(
        *(_approve(acts, d, t) for d, t in zip(world.deployment_ids, world.task_ids, strict=True))
    )

    assert sorted(results) == [ERR_OVERDRAWN] * (RACERS - COVERED) + ["ok"] * COVERED
    assert await fund_sums(racing_engine, world.fund_id) == (ESTIMATE * COVERED, Decimal("0.00"))
    won = {d for d, r in zip(world.deployment_ids, results, strict=True) if r == "ok"}
    assert await obligations(racing_engine) == {d: ("obligated", ESTIMATE, None) for d in won}
    statuses = await task_statuses(racing_engine, world.task_ids)
    assert [s for s, r in zip(statuses, results, strict=True) if r == "ok"] == ["completed"] * COVERED
    assert [s for s, r in zip(statuses, results, strict=True) if r != "ok"] == ["open"] * (RACERS - COVERED)


async def test_a_refusal_names_the_fund_and_the_figures_and_writes_nothing(engine: AsyncEngine) -> None:
    world = await budgeted(engine, 2, ESTIMATE + Decimal("100.00"))
    acts = ReadModelActivities(engine)
    first, second = zip(world.deployment_ids, world.task_ids, strict=True)
    await ActivityEnvironment().run(acts.complete_task, approval(*first))
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(acts.complete_task, approval(*second))
    assert (refused.value.type, refused.value.message) == (
        ERR_OVERDRAWN,
        "the fund Juba stabilization FY has $100.00 left; this estimate is $1,234.57",
    )
    assert await task_statuses(engine, world.task_ids) == ["completed", "open"]
    assert list(await obligations(engine)) == [first[0]]


async def test_a_retried_approval_obligates_once(engine: AsyncEngine) -> None:
    world = await budgeted(engine, 1, ESTIMATE * 3)
    acts = ReadModelActivities(engine)
    for _ in range(2):  # the activity's retry after its commit
        await ActivityEnvironment().run(
            acts.complete_task, approval(world.deployment_ids[0], world.task_ids[0])
        )
    assert await fund_sums(engine, world.fund_id) == (ESTIMATE, Decimal("0.00"))


async def test_outside_an_operation_with_a_fund_nothing_is_obligated(engine: AsyncEngine) -> None:
    world = await budgeted(engine, 1, None)
    await ActivityEnvironment().run(
        ReadModelActivities(engine).complete_task, approval(world.deployment_ids[0], world.task_ids[0])
    )
    assert (await obligations(engine), await task_statuses(engine, world.task_ids)) == ({}, ["completed"])


def _move(deployment_id: str, stage: Stage, cost_estimate_usd: Decimal | None = None) -> StageChange:
    return StageChange(
        deployment_id=deployment_id, stage=stage, status=stage.value, cost_estimate_usd=cost_estimate_usd
    )


@pytest.mark.parametrize("end", [Stage.CANCELLED, Stage.REJECTED, Stage.EXPIRED])
async def test_ending_unspent_gives_the_estimate_back(engine: AsyncEngine, end: Stage) -> None:
    world = await budgeted(engine, 2, ESTIMATE * 2)
    acts = ReadModelActivities(engine)
    for d, t in zip(world.deployment_ids, world.task_ids, strict=True):
        await ActivityEnvironment().run(acts.complete_task, approval(d, t))
    ended = world.deployment_ids[0]
    for _ in range(2):  # a retried move gives back once
        await ActivityEnvironment().run(acts.record_stage, _move(ended, end))
    assert await fund_sums(engine, world.fund_id) == (ESTIMATE, Decimal("0.00"))
    assert (await obligations(engine))[ended] == ("released", ESTIMATE, None)


async def test_completion_spends_the_actual_cost_and_an_extension_adjusts(engine: AsyncEngine) -> None:
    world = await budgeted(engine, 1, ESTIMATE * 4)
    acts = ReadModelActivities(engine)
    (deployment_id,) = world.deployment_ids
    await ActivityEnvironment().run(acts.complete_task, approval(deployment_id, world.task_ids[0]))
    longer = ESTIMATE * 2
    await ActivityEnvironment().run(acts.record_stage, _move(deployment_id, Stage.DEPLOYED, longer))
    assert await fund_sums(engine, world.fund_id) == (longer, Decimal("0.00"))

    actual = Decimal("2000.10")
    async with session_factory(engine).begin() as session:
        row = await session.get(Deployment, deployment_id)
        assert row is not None
        row.cost_actual_usd = actual  # as the close-out records it, before the move
    for _ in range(2):
        await ActivityEnvironment().run(acts.record_stage, _move(deployment_id, Stage.COMPLETED))
    assert await fund_sums(engine, world.fund_id) == (Decimal("0.00"), actual)
    assert await obligations(engine) == {deployment_id: ("spent", longer, actual)}


async def test_a_new_approval_round_releases_the_last_rounds_obligation(engine: AsyncEngine) -> None:
    world = await budgeted(engine, 1, ESTIMATE * 2)
    acts = ReadModelActivities(engine)
    (deployment_id,) = world.deployment_ids
    await ActivityEnvironment().run(acts.complete_task, approval(deployment_id, world.task_ids[0]))
    amended = ESTIMATE + Decimal("10.00")
    await ActivityEnvironment().run(acts.record_stage, _move(deployment_id, Stage.APPROVAL, amended))
    assert await fund_sums(engine, world.fund_id) == (Decimal("0.00"), Decimal("0.00"))
    assert (await obligations(engine))[deployment_id][0] == "released"
