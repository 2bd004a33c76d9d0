"""The stock ledger: receipts, moves, write-offs and kit reservations, each a balance and a ledger row
that always agree, and never below zero under races (SQLite and PostgreSQL)."""

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Session, col, select
from temporalio.testing import ActivityEnvironment

from activities.equipping import EquippingActivities
from crc import stock
from crc.db import create_sync_engine, session_factory
from crc.domain import SKU_INDIVIDUAL_KIT, ThreatLevel
from crc.lifecycle import KitRequest, KitResult, ReturnKit
from crc.lifecycle_tables import KitReservation
from crc.seed import seed_demo
from crc.stages import Stage
from crc.tables import StockItem, StockMovement
from migrations import upgrade
from tests.concurrency import wide_engine
from tests.factories import add, deployment_rows, member, post

DC, FRANKFURT = "Washington, DC", "Frankfurt, Germany"
KIT = SKU_INDIVIDUAL_KIT
RACERS = 50


async def _receive(engine: AsyncEngine, depot: str, quantity: int, sku: str = KIT) -> None:
    async with session_factory(engine)() as session:
        await stock.receive(
            session, depot=depot, sku=sku, quantity=quantity, name=f"Item {sku}", actor="logistics"
        )


async def _balances(engine: AsyncEngine) -> dict[tuple[str, str], int]:
    async with session_factory(engine)() as session:
        items = (await session.exec(select(StockItem))).all()
    return {(i.depot, i.sku): i.quantity for i in items}


async def _ledger(engine: AsyncEngine) -> list[tuple[str, str, int, str, str]]:
    async with session_factory(engine)() as session:
        rows = (await session.exec(select(StockMovement).order_by(col(StockMovement.id)))).all()
    return [(r.depot, r.sku, r.quantity, r.kind, r.reference) for r in rows]


async def _assert_ledger_matches_balances(engine: AsyncEngine) -> None:
    sums: dict[tuple[str, str], int] = {}
    for depot, sku, quantity, _kind, _ref in await _ledger(engine):
        sums[(depot, sku)] = sums.get((depot, sku), 0) + quantity
    assert sums == await _balances(engine)


async def _deployments(engine: AsyncEngine, count: int, stage: Stage = Stage.EQUIPPING) -> list[str]:
    m = member()
    await add(engine, m, post(code="P1", threat_level=ThreatLevel.LOW.value))
    assert m.id is not None
    return await deployment_rows(engine, count, member_id=m.id, post_code="P1", stage=stage)


# --- one at a time --------------------------------------------------------------------------------


async def test_a_receipt_lists_a_new_sku_and_records_it(engine: AsyncEngine) -> None:
    await _receive(engine, DC, 4)
    await _receive(engine, DC, 3)

    assert await _balances(engine) == {(DC, KIT): 7}
    assert await _ledger(engine) == [(DC, KIT, 4, "received", ""), (DC, KIT, 3, "received", "")]


async def test_a_new_sku_without_a_name_is_refused_and_nothing_is_written(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as session:
        with pytest.raises(stock.UnknownItem, match="NEW-1 is a new SKU: give its name"):
            await stock.receive(session, depot=DC, sku="NEW-1", quantity=2, name="", actor="logistics")

    assert await _balances(engine) == {}
    assert await _ledger(engine) == []


async def test_a_move_takes_from_one_depot_and_lists_it_at_the_other(engine: AsyncEngine) -> None:
    await _receive(engine, DC, 5)
    async with session_factory(engine)() as session:
        reference = await stock.move(
            session, sku=KIT, source=DC, destination=FRANKFURT, quantity=2, actor="logistics"
        )

    assert await _balances(engine) == {(DC, KIT): 3, (FRANKFURT, KIT): 2}
    assert (await _ledger(engine))[1:] == [
        (DC, KIT, -2, "moved_out", reference),
        (FRANKFURT, KIT, 2, "moved_in", reference),
    ]
    async with session_factory(engine)() as session:
        moved = await session.exec(select(StockItem.name).where(StockItem.depot == FRANKFURT))
        assert moved.all() == [f"Item {KIT}"]


async def test_moving_more_than_is_available_says_how_much_is_and_writes_nothing(engine: AsyncEngine) -> None:
    await _receive(engine, DC, 5)
    async with session_factory(engine)() as session:
        with pytest.raises(stock.NotEnoughStock) as refused:
            await stock.move(
                session, sku=KIT, source=DC, destination=FRANKFURT, quantity=6, actor="logistics"
            )

    assert (refused.value.available, refused.value.wanted) == (5, 6)
    assert await _balances(engine) == {(DC, KIT): 5}
    assert len(await _ledger(engine)) == 1


async def test_a_write_off_keeps_its_reason_and_a_missing_item_is_named(engine: AsyncEngine) -> None:
    await _receive(engine, DC, 5)
    async with session_factory(engine)() as session:
        await stock.write_off(
            session, depot=DC, sku=KIT, quantity=5, reason="flood damage", actor="logistics"
        )
        with pytest.raises(stock.UnknownItem, match=f"{FRANKFURT} holds no {KIT}"):
            await stock.write_off(
                session, depot=FRANKFURT, sku=KIT, quantity=1, reason="lost", actor="logistics"
            )
        notes = (
            await session.exec(select(StockMovement.note).where(StockMovement.kind == "written_off"))
        ).all()

    assert notes == ["flood damage"]
    assert await _balances(engine) == {(DC, KIT): 0}
    await _assert_ledger_matches_balances(engine)


@pytest.mark.parametrize(("stage", "kind"), [(Stage.REDEPLOYMENT, "returned"), (Stage.TRAVEL, "released")])
async def test_kit_reservations_and_returns_go_through_the_ledger(
    engine: AsyncEngine, stage: Stage, kind: str
) -> None:
    [deployment_id] = await _deployments(engine, 1, stage=stage)
    await _receive(engine, DC, 2)
    acts = EquippingActivities(engine)
    env = ActivityEnvironment()

    result = await env.run(acts.reserve_kit, KitRequest(deployment_id=deployment_id, post_code="P1"))
    assert result.reserved
    assert (await _ledger(engine))[1:] == [(DC, KIT, -1, "reserved", deployment_id)]

    # Back from a deployment that went out: returned; undone by a cancellation before: released.
    await env.run(acts.return_kit, ReturnKit(deployment_id=deployment_id))
    assert (await _ledger(engine))[1:] == [
        (DC, KIT, -1, "reserved", deployment_id),
        (DC, KIT, 1, kind, deployment_id),
    ]
    assert await _balances(engine) == {(DC, KIT): 2}


async def test_restocked_finds_the_stock_logistics_received(engine: AsyncEngine) -> None:
    [deployment_id] = await _deployments(engine, 1)
    acts = EquippingActivities(engine)
    env = ActivityEnvironment()
    request = KitRequest(deployment_id=deployment_id, post_code="P1")

    assert await env.run(acts.reserve_kit, request) == KitResult(reserved=False, short=[KIT])
    await _receive(engine, FRANKFURT, 1)  # what Logistics does before answering "restocked"
    retried = await env.run(acts.reserve_kit, request)

    assert [(line.depot, line.sku) for line in retried.lines] == [(FRANKFURT, KIT)]
    assert await _balances(engine) == {(FRANKFURT, KIT): 0}
    await _assert_ledger_matches_balances(engine)


# --- races ------------------------------------------------------------------------------------------


@pytest.fixture
async def racing_engine(database_url: tuple[str, str | None]) -> AsyncIterator[AsyncEngine]:
    """A fresh database with a connection for each racer."""
    async with wide_engine(*database_url) as engine:
        yield engine


async def _move(engine: AsyncEngine, quantity: int) -> bool:
    async with session_factory(engine)() as session:
        try:
            await stock.move(
                session, sku=KIT, source=DC, destination=FRANKFURT, quantity=quantity, actor="logistics"
            )
        except stock.NotEnoughStock:
            return False
    return True


async def _write_off(engine: AsyncEngine) -> bool:
    async with session_factory(engine)() as session:
        try:
            await stock.write_off(session, depot=DC, sku=KIT, quantity=1, reason="damaged", actor="logistics")
        except stock.NotEnoughStock:
            return False
    return True


async def test_fifty_moves_at_once_take_exactly_what_the_depot_holds(racing_engine: AsyncEngine) -> None:
    engine = racing_engine
    await _receive(engine, DC, 30)

    moved = await asyncio.gather(*(_move(engine, 1) for _ in range(RACERS)))

    assert sum(moved) == 30
    assert await _balances(engine) == {(DC, KIT): 0, (FRANKFURT, KIT): 30}
    kinds = [kind for _d, _s, _q, kind, _r in await _ledger(engine)]
    assert (kinds.count("moved_out"), kinds.count("moved_in")) == (30, 30)
    await _assert_ledger_matches_balances(engine)


async def test_fifty_moves_of_two_leave_the_odd_one(racing_engine: AsyncEngine) -> None:
    engine = racing_engine
    await _receive(engine, DC, 45)

    moved = await asyncio.gather(*(_move(engine, 2) for _ in range(RACERS)))

    assert sum(moved) == 22
    assert await _balances(engine) == {(DC, KIT): 1, (FRANKFURT, KIT): 44}
    await _assert_ledger_matches_balances(engine)


async def test_reservations_racing_write_offs_take_exactly_the_stock(racing_engine: AsyncEngine) -> None:
    engine = racing_engine
    deployment_ids = await _deployments(engine, RACERS // 2)
    await _receive(engine, DC, 30)
    acts = EquippingActivities(engine)
    env = ActivityEnvironment()

    results = await asyncio.gather(
        *(env.run(acts.reserve_kit, KitRequest(deployment_id=d, post_code="P1")) for d in deployment_ids),
        *(_write_off(engine) for _ in range(RACERS // 2)),
    )

    reserved = sum(isinstance(r, KitResult) and r.reserved for r in results)
    written_off = sum(r is True for r in results)
    assert reserved + written_off == 30
    assert await _balances(engine) == {(DC, KIT): 0}
    async with session_factory(engine)() as session:
        assert len((await session.exec(select(KitReservation))).all()) == reserved
    await _assert_ledger_matches_balances(engine)


async def test_reservations_racing_moves_never_lose_or_make_kit(racing_engine: AsyncEngine) -> None:
    engine = racing_engine
    deployment_ids = await _deployments(engine, RACERS // 2)
    await _receive(engine, DC, 30)
    acts = EquippingActivities(engine)
    env = ActivityEnvironment()

    results = await asyncio.gather(
        *(env.run(acts.reserve_kit, KitRequest(deployment_id=d, post_code="P1")) for d in deployment_ids),
        *(_move(engine, 1) for _ in range(RACERS // 2)),
    )

    reservations = [r for r in results if isinstance(r, KitResult)]
    moves = sum(r is True for r in results if isinstance(r, bool))
    balances = await _balances(engine)
    reserved_at = [line.depot for r in reservations if r.reserved for line in r.lines]
    # Every kit is in one place: at DC, moved to Frankfurt, or reserved from either; none below zero.
    assert balances[(DC, KIT)] + balances[(FRANKFURT, KIT)] + len(reserved_at) == 30
    assert balances[(DC, KIT)] == 30 - moves - reserved_at.count(DC)
    assert balances[(FRANKFURT, KIT)] == moves - reserved_at.count(FRANKFURT)
    assert min(balances.values()) >= 0
    async with session_factory(engine)() as session:
        assert len((await session.exec(select(KitReservation))).all()) == len(reserved_at)
    await _assert_ledger_matches_balances(engine)


# --- where the ledger starts ------------------------------------------------------------------------


def _sync_ledger_sums(engine: sa.Engine) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    with Session(engine) as session:
        balances = {(i.depot, i.sku): i.quantity for i in session.exec(select(StockItem)).all()}
        sums: dict[tuple[str, str], int] = {}
        for row in session.exec(select(StockMovement)).all():
            sums[(row.depot, row.sku)] = sums.get((row.depot, row.sku), 0) + row.quantity
    return balances, sums


def test_the_seed_records_its_stock_in_the_ledger(database_url: tuple[str, str | None]) -> None:
    url, schema = database_url
    upgrade(url, schema)
    engine = create_sync_engine(url, schema=schema)
    try:
        assert seed_demo(engine, password="s3cret-demo") is True
        balances, sums = _sync_ledger_sums(engine)
    finally:
        engine.dispose()
    assert balances[(DC, KIT)] == 60
    assert sums == balances


def test_the_migration_opens_the_ledger_with_the_stock_already_held(
    database_url: tuple[str, str | None],
) -> None:
    url, schema = database_url
    upgrade(url, schema, "0012")
    engine = create_sync_engine(url, schema=schema)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO stockitem (depot, sku, name, quantity) "
                    "VALUES (:d, :s, 'Kit', 7), (:f, :s, 'Kit', 0)"
                ),
                {"d": DC, "f": FRANKFURT, "s": KIT},
            )
        upgrade(url, schema)
        balances, sums = _sync_ledger_sums(engine)
        with Session(engine) as session:
            [opening] = session.exec(select(StockMovement)).all()
    finally:
        engine.dispose()
    assert (opening.depot, opening.quantity, opening.kind, opening.note) == (
        DC,
        7,
        "received",
        "opening balance",
    )
    assert sums == {(DC, KIT): 7}
    assert balances == {(DC, KIT): 7, (FRANKFURT, KIT): 0}
