"""Close-out: actual deployment-days and their cost land on the deployment row."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.closeout import CloseOutActivities
from crc.db import session_factory
from crc.lifecycle import CloseOutRequest, CloseOutResult
from crc.tables import Deployment
from tests.factories import add, deployment_rows, member, post


async def _close_out(engine: AsyncEngine, arrived_on: date, left_on: date) -> tuple[str, CloseOutResult]:
    # Daily salary 300: danger pay 35% is 105 a day, the differential 30% is 90 a day after day 42.
    m = member(annual_salary_usd=Decimal("109500.00"))
    p = post(per_diem_usd=Decimal("250.00"), danger_pay_pct=Decimal(35), post_differential_pct=Decimal(30))
    await add(engine, m, p)
    assert m.id is not None
    [deployment_id] = await deployment_rows(engine, 1, member_id=m.id, post_code=p.code)
    request = CloseOutRequest(
        deployment_id=deployment_id, member_id=m.id, post_code=p.code, arrived_on=arrived_on, left_on=left_on
    )
    acts = CloseOutActivities(engine)
    result = await ActivityEnvironment().run(acts.close_out, request)
    assert await ActivityEnvironment().run(acts.close_out, request) == result
    return deployment_id, result


async def test_days_count_arrival_and_departure_and_cost_is_stored(engine: AsyncEngine) -> None:
    deployment_id, result = await _close_out(engine, date(2027, 2, 1), date(2027, 4, 1))
    # 60 days: per diem 15,000 + danger pay 6,300 + differential for 18 days 1,620.
    assert result == CloseOutResult(days=60, cost_usd=Decimal("22920.00"))
    async with session_factory(engine)() as session:
        row = await session.get(Deployment, deployment_id)
    assert row is not None and row.cost_actual_usd == Decimal("22920.00")


async def test_a_one_day_stay_is_one_day(engine: AsyncEngine) -> None:
    _, result = await _close_out(engine, date(2027, 2, 1), date(2027, 2, 1))
    assert result == CloseOutResult(days=1, cost_usd=Decimal("355.00"))


async def test_leaving_before_arriving_fails_for_good(engine: AsyncEngine) -> None:
    with pytest.raises(ApplicationError) as raised:
        await _close_out(engine, date(2027, 2, 2), date(2027, 2, 1))
    assert (raised.value.type, raised.value.non_retryable) == ("InvalidDates", True)
