"""Kit reservation against depot stock: what a post needs, all or nothing, never below zero."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from activities.equipping import EquippingActivities
from crc.db import session_factory
from crc.domain import SKU_BALLISTIC_VEST, SKU_HELMET, SKU_INDIVIDUAL_KIT, ThreatLevel
from crc.lifecycle import KitLine, KitRequest, KitResult, ReturnKit
from crc.lifecycle_tables import KitReservation
from crc.tables import StockItem
from tests.concurrency import wide_engine
from tests.factories import add, deployment_rows, member, post, stock_item

DC, FRANKFURT = "Washington, DC", "Frankfurt, Germany"


async def _deployments(engine: AsyncEngine, threat: ThreatLevel, count: int = 1) -> list[str]:
    """`count` deployments of one member to post P1 at the given threat level."""
    m = member()
    await add(engine, m, post(code="P1", threat_level=threat.value))
    assert m.id is not None
    return await deployment_rows(engine, count, member_id=m.id, post_code="P1")


async def _stock(engine: AsyncEngine) -> dict[tuple[str, str], int]:
    async with session_factory(engine)() as session:
        items = (await session.exec(select(StockItem))).all()
    return {(i.depot, i.sku): i.quantity for i in items}


async def _reservations(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    async with session_factory(engine)() as session:
        rows = (await session.exec(select(KitReservation))).all()
    return sorted((r.deployment_id, r.sku, r.status) for r in rows)


def _line(sku: str, depot: str = DC) -> KitLine:
    return KitLine(sku=sku, name=f"Item {sku}", depot=depot, quantity=1)


def _full_stock(kits: int = 5, vests: int = 5, helmets: int = 5) -> list[StockItem]:
    return [
        stock_item(SKU_INDIVIDUAL_KIT, kits, depot=DC),
        stock_item(SKU_INDIVIDUAL_KIT, kits + 2, depot=FRANKFURT),
        stock_item(SKU_BALLISTIC_VEST, vests, depot=DC),
        stock_item(SKU_HELMET, helmets, depot=DC),
    ]


@pytest.mark.parametrize("threat", [ThreatLevel.LOW, ThreatLevel.MEDIUM])
async def test_lower_threat_posts_get_individual_kit_from_the_fullest_depot(
    engine: AsyncEngine, threat: ThreatLevel
) -> None:
    [deployment_id] = await _deployments(engine, threat)
    await add(engine, *_full_stock())

    result = await ActivityEnvironment().run(
        EquippingActivities(engine).reserve_kit, KitRequest(deployment_id=deployment_id, post_code="P1")
    )

    assert result == KitResult(reserved=True, lines=[_line(SKU_INDIVIDUAL_KIT, FRANKFURT)])
    assert await _stock(engine) == {
        (DC, SKU_INDIVIDUAL_KIT): 5,
        (FRANKFURT, SKU_INDIVIDUAL_KIT): 6,
        (DC, SKU_BALLISTIC_VEST): 5,
        (DC, SKU_HELMET): 5,
    }


@pytest.mark.parametrize("threat", [ThreatLevel.HIGH, ThreatLevel.CRITICAL])
async def test_high_threat_posts_also_get_vest_and_helmet(engine: AsyncEngine, threat: ThreatLevel) -> None:
    [deployment_id] = await _deployments(engine, threat)
    await add(engine, *_full_stock())

    result = await ActivityEnvironment().run(
        EquippingActivities(engine).reserve_kit, KitRequest(deployment_id=deployment_id, post_code="P1")
    )

    assert result == KitResult(
        reserved=True,
        lines=[_line(SKU_HELMET), _line(SKU_INDIVIDUAL_KIT, FRANKFURT), _line(SKU_BALLISTIC_VEST)],
    )
    assert await _stock(engine) == {
        (DC, SKU_INDIVIDUAL_KIT): 5,
        (FRANKFURT, SKU_INDIVIDUAL_KIT): 6,
        (DC, SKU_BALLISTIC_VEST): 4,
        (DC, SKU_HELMET): 4,
    }
    assert await _reservations(engine) == [
        (deployment_id, SKU_HELMET, "reserved"),
        (deployment_id, SKU_INDIVIDUAL_KIT, "reserved"),
        (deployment_id, SKU_BALLISTIC_VEST, "reserved"),
    ]


async def test_one_short_sku_reserves_nothing(engine: AsyncEngine) -> None:
    [deployment_id] = await _deployments(engine, ThreatLevel.HIGH)
    await add(engine, *_full_stock(helmets=0))
    before = await _stock(engine)

    result = await ActivityEnvironment().run(
        EquippingActivities(engine).reserve_kit, KitRequest(deployment_id=deployment_id, post_code="P1")
    )

    assert result == KitResult(reserved=False, lines=[], short=[SKU_HELMET])
    assert await _stock(engine) == before
    assert await _reservations(engine) == []


async def test_a_sku_no_depot_lists_is_short(engine: AsyncEngine) -> None:
    [deployment_id] = await _deployments(engine, ThreatLevel.HIGH)
    await add(engine, stock_item(SKU_INDIVIDUAL_KIT, 3))

    result = await ActivityEnvironment().run(
        EquippingActivities(engine).reserve_kit, KitRequest(deployment_id=deployment_id, post_code="P1")
    )

    assert result == KitResult(reserved=False, short=[SKU_HELMET, SKU_BALLISTIC_VEST])
    assert await _stock(engine) == {(DC, SKU_INDIVIDUAL_KIT): 3}


async def test_reserving_again_returns_the_same_kit_and_takes_no_more(engine: AsyncEngine) -> None:
    [deployment_id] = await _deployments(engine, ThreatLevel.HIGH)
    await add(engine, *_full_stock())
    acts = EquippingActivities(engine)
    request = KitRequest(deployment_id=deployment_id, post_code="P1")

    once = await ActivityEnvironment().run(acts.reserve_kit, request)
    twice = await ActivityEnvironment().run(acts.reserve_kit, request)

    assert once == twice
    assert await _stock(engine) == {
        (DC, SKU_INDIVIDUAL_KIT): 5,
        (FRANKFURT, SKU_INDIVIDUAL_KIT): 6,
        (DC, SKU_BALLISTIC_VEST): 4,
        (DC, SKU_HELMET): 4,
    }


async def test_return_restocks_all_but_the_missing_sku_once(engine: AsyncEngine) -> None:
    [deployment_id] = await _deployments(engine, ThreatLevel.HIGH)
    await add(engine, *_full_stock())
    acts = EquippingActivities(engine)
    env = ActivityEnvironment()
    await env.run(acts.reserve_kit, KitRequest(deployment_id=deployment_id, post_code="P1"))
    back = ReturnKit(deployment_id=deployment_id, missing_skus=[SKU_HELMET])

    first = await env.run(acts.return_kit, back)
    again = await env.run(acts.return_kit, back)

    assert first == again == [_line(SKU_INDIVIDUAL_KIT, FRANKFURT), _line(SKU_BALLISTIC_VEST)]
    assert await _stock(engine) == {
        (DC, SKU_INDIVIDUAL_KIT): 5,
        (FRANKFURT, SKU_INDIVIDUAL_KIT): 7,
        (DC, SKU_BALLISTIC_VEST): 5,
        (DC, SKU_HELMET): 4,
    }
    assert await _reservations(engine) == [
        (deployment_id, SKU_HELMET, "missing"),
        (deployment_id, SKU_INDIVIDUAL_KIT, "returned"),
        (deployment_id, SKU_BALLISTIC_VEST, "returned"),
    ]


async def test_returning_kit_never_reserved_does_nothing(engine: AsyncEngine) -> None:
    [deployment_id] = await _deployments(engine, ThreatLevel.LOW)
    await add(engine, *_full_stock())
    result = await ActivityEnvironment().run(
        EquippingActivities(engine).return_kit, ReturnKit(deployment_id=deployment_id)
    )
    assert result == []
    assert await _stock(engine) == {
        (DC, SKU_INDIVIDUAL_KIT): 5,
        (FRANKFURT, SKU_INDIVIDUAL_KIT): 7,
        (DC, SKU_BALLISTIC_VEST): 5,
        (DC, SKU_HELMET): 5,
    }


async def test_returned_kit_goes_back_to_a_depot_that_dropped_the_sku(engine: AsyncEngine) -> None:
    [deployment_id] = await _deployments(engine, ThreatLevel.LOW)
    await add(engine, stock_item(SKU_INDIVIDUAL_KIT, 1))
    acts = EquippingActivities(engine)
    env = ActivityEnvironment()
    await env.run(acts.reserve_kit, KitRequest(deployment_id=deployment_id, post_code="P1"))
    async with session_factory(engine).begin() as session:
        item = (await session.exec(select(StockItem))).one()
        await session.delete(item)

    assert await env.run(acts.return_kit, ReturnKit(deployment_id=deployment_id)) == [
        _line(SKU_INDIVIDUAL_KIT)
    ]
    assert await _stock(engine) == {(DC, SKU_INDIVIDUAL_KIT): 1}


# --- concurrency -------------------------------------------------------------------------------


@pytest.fixture
async def racing_engine(database_url: tuple[str, str | None]) -> AsyncIterator[AsyncEngine]:
    """A fresh database with a connection for each racing reservation."""
    async with wide_engine(*database_url) as engine:
        yield engine


async def _race(engine: AsyncEngine, deployment_ids: list[str]) -> list[KitResult]:
    acts = EquippingActivities(engine)
    env = ActivityEnvironment()
    return await asyncio.gather(
        *(env.run(acts.reserve_kit, KitRequest(deployment_id=d, post_code="P1")) for d in deployment_ids)
    )


async def test_fifty_reservations_at_once_take_exactly_ten_kits(racing_engine: AsyncEngine) -> None:
    engine = racing_engine
    deployment_ids = await _deployments(engine, ThreatLevel.LOW, count=50)
    await add(
        engine,
        stock_item(SKU_INDIVIDUAL_KIT, 6, depot=DC),
        stock_item(SKU_INDIVIDUAL_KIT, 4, depot=FRANKFURT),
    )

    results = await _race(engine, deployment_ids)

    assert sum(r.reserved for r in results) == 10
    assert [r.short for r in results if not r.reserved] == [[SKU_INDIVIDUAL_KIT]] * 40
    assert await _stock(engine) == {(DC, SKU_INDIVIDUAL_KIT): 0, (FRANKFURT, SKU_INDIVIDUAL_KIT): 0}
    reserved = {r.deployment_id for r in (await _all_reservations(engine))}
    assert reserved == {d for d, r in zip(deployment_ids, results, strict=True) if r.reserved}


async def test_fifty_high_threat_reservations_stop_at_the_scarcest_sku(racing_engine: AsyncEngine) -> None:
    engine = racing_engine
    deployment_ids = await _deployments(engine, ThreatLevel.HIGH, count=50)
    await add(engine, *_full_stock(kits=10, vests=10, helmets=5))

    results = await _race(engine, deployment_ids)

    assert sum(r.reserved for r in results) == 5
    assert await _stock(engine) == {
        (DC, SKU_INDIVIDUAL_KIT): 10 - sum(r.reserved and r.lines[1].depot == DC for r in results),
        (FRANKFURT, SKU_INDIVIDUAL_KIT): 12
        - sum(r.reserved and r.lines[1].depot == FRANKFURT for r in results),
        (DC, SKU_BALLISTIC_VEST): 5,
        (DC, SKU_HELMET): 0,
    }
    assert len(await _all_reservations(engine)) == 15


async def _all_reservations(engine: AsyncEngine) -> list[KitReservation]:
    async with session_factory(engine)() as session:
        return list((await session.exec(select(KitReservation))).all())


async def test_the_same_reservation_racing_itself_takes_one_kit(racing_engine: AsyncEngine) -> None:
    engine = racing_engine
    [deployment_id] = await _deployments(engine, ThreatLevel.HIGH)
    await add(engine, *_full_stock())

    results = await _race(engine, [deployment_id] * 8)

    assert all(r == results[0] for r in results)
    assert results[0].reserved is True
    assert await _stock(engine) == {
        (DC, SKU_INDIVIDUAL_KIT): 5,
        (FRANKFURT, SKU_INDIVIDUAL_KIT): 6,
        (DC, SKU_BALLISTIC_VEST): 4,
        (DC, SKU_HELMET): 4,
    }
    assert len(await _all_reservations(engine)) == 3
