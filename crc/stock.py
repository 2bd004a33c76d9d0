"""The stock ledger: every change to a depot's stock goes through here, for the pages and activities.

A depot's balance of a SKU (StockItem.quantity) is what it has free to reserve, move or write off,
and always equals the sum of that item's ledger rows: each function below writes the balance and
its ledger row in the caller's transaction. Taking stock is one guarded UPDATE
(`WHERE quantity >= n`): on PostgreSQL a racing UPDATE waits for the row and re-checks the guard;
on SQLite the UPDATE takes the one writer's lock first. Either way stock never goes below zero.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.tables import StockItem, StockMovement, utcnow


class NotEnoughStock(Exception):
    """A depot has less of a SKU free than was asked for."""

    def __init__(self, depot: str, sku: str, available: int, wanted: int) -> None:
        super().__init__(f"{depot} has {available} of {sku} available; {wanted} were asked for")
        self.depot, self.sku, self.available, self.wanted = depot, sku, available, wanted


class UnknownItem(Exception):
    """A depot does not list the SKU, or a new SKU came without a name."""


@dataclass(frozen=True)
class Entry:
    """Who changed stock, why, and when: the ledger row's context."""

    actor: str
    kind: str
    reference: str = ""
    note: str = ""
    occurred_at: datetime | None = None


async def available(session: AsyncSession, depot: str, sku: str) -> int:
    """The depot's free quantity of a SKU (0 when it does not list it)."""
    found = await session.exec(
        select(StockItem.quantity).where(StockItem.depot == depot, StockItem.sku == sku)
    )
    return found.first() or 0


async def item_name(session: AsyncSession, sku: str) -> str | None:
    """The name any depot gives this SKU; None for a SKU no depot lists."""
    return (await session.exec(select(StockItem.name).where(StockItem.sku == sku).limit(1))).first()


def _row(depot: str, sku: str, quantity: int, entry: Entry) -> StockMovement:
    return StockMovement(
        depot=depot,
        sku=sku,
        quantity=quantity,
        kind=entry.kind,
        reference=entry.reference,
        note=entry.note,
        actor=entry.actor,
        occurred_at=entry.occurred_at or utcnow(),
    )


async def take(session: AsyncSession, depot: str, sku: str, quantity: int, entry: Entry) -> bool:
    """Take `quantity` from the depot's free stock and record it; False (nothing written) if short."""
    taken = await session.exec(
        sa.update(StockItem)
        .where(col(StockItem.depot) == depot, col(StockItem.sku) == sku, col(StockItem.quantity) >= quantity)
        .values(quantity=col(StockItem.quantity) - quantity)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return False
    session.add(_row(depot, sku, -quantity, entry))
    return True


async def take_or_refuse(session: AsyncSession, depot: str, sku: str, quantity: int, entry: Entry) -> None:
    """Take as `take` does, or raise NotEnoughStock / UnknownItem saying what is there."""
    if await take(session, depot, sku, quantity, entry):
        return
    # The refusal names what is free now; the UPDATE above already holds the write lock on SQLite.
    found = await session.exec(
        select(StockItem.quantity).where(StockItem.depot == depot, StockItem.sku == sku)
    )
    left = found.first()
    if left is None:
        raise UnknownItem(f"{depot} holds no {sku}")
    raise NotEnoughStock(depot, sku, left, quantity)


def _insert_for(session: AsyncSession) -> Any:
    bind = session.get_bind()
    return postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert


async def put(session: AsyncSession, depot: str, sku: str, quantity: int, entry: Entry, *, name: str) -> None:
    """Add `quantity` to the depot's free stock and record it, listing the SKU there if new."""
    insert = _insert_for(session)
    statement = insert(StockItem).values(depot=depot, sku=sku, name=name, quantity=quantity)
    # One statement whether or not the depot lists the SKU yet, so racing receipts both count.
    await session.exec(
        statement.on_conflict_do_update(
            index_elements=["depot", "sku"],
            set_={"quantity": col(StockItem.quantity) + statement.excluded.quantity},
        )
    )
    session.add(_row(depot, sku, quantity, entry))


# --- What Logistics does ----------------------------------------------------------------------


async def receive(
    session: AsyncSession,
    *,
    depot: str,
    sku: str,
    quantity: int,
    name: str | None,
    actor: str,
    note: str = "",
) -> None:
    """Receive new stock into a depot (a new SKU needs its name) and commit."""
    known = await item_name(session, sku)
    if known is None and not name:
        raise UnknownItem(f"{sku} is a new SKU: give its name")
    await put(session, depot, sku, quantity, Entry(actor, "received", note=note), name=known or name or "")
    await session.commit()


async def move(
    session: AsyncSession,
    *,
    sku: str,
    source: str,
    destination: str,
    quantity: int,
    actor: str,
    note: str = "",
) -> str:
    """Move stock between depots in one transaction and commit; returns the id both rows share."""
    reference = f"move-{uuid.uuid4().hex[:12]}"
    try:
        await take_or_refuse(session, source, sku, quantity, Entry(actor, "moved_out", reference, note))
        name = await item_name(session, sku) or ""
        await put(session, destination, sku, quantity, Entry(actor, "moved_in", reference, note), name=name)
    except (NotEnoughStock, UnknownItem):
        await session.rollback()
        raise
    await session.commit()
    return reference


async def write_off(
    session: AsyncSession, *, depot: str, sku: str, quantity: int, reason: str, actor: str
) -> None:
    """Write stock off (lost, damaged, expired) with its reason, and commit."""
    try:
        await take_or_refuse(session, depot, sku, quantity, Entry(actor, "written_off", note=reason))
    except (NotEnoughStock, UnknownItem):
        await session.rollback()
        raise
    await session.commit()


# --- Reading --------------------------------------------------------------------------------


async def ledger_sum(session: AsyncSession, depot: str, sku: str) -> int:
    """The sum of an item's ledger rows (equal to its balance, always)."""
    total = await session.exec(
        select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
            StockMovement.depot == depot, StockMovement.sku == sku
        )
    )
    return int(total.one())
