"""Depot stock for Logistics: the bodies the API and the page forms share, balances and the ledger."""

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from pydantic import BaseModel, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc import stock
from crc.fields import Text, WholeNumber
from crc.lifecycle_tables import KitReservation
from crc.tables import StockItem, StockMovement
from web.services.errors import Conflict, FieldError, InvalidFields

Depot = Annotated[str, Text(64)]
Sku = Annotated[str, Text(32)]
Quantity = Annotated[int, WholeNumber(1, 1_000_000, "must be a whole number above 0")]
Note = Annotated[str, Text(500, required=False)]
MOVEMENTS_PAGE = 50


class StockReceipt(BaseModel):
    """New stock arriving at a depot."""

    depot: Depot
    sku: Sku
    quantity: Quantity
    name: Annotated[str, Text(200, required=False)] = Field(
        default="", description="the item's name; needed only for a SKU no depot lists yet"
    )
    note: Note = ""


class StockMove(BaseModel):
    """Stock moved from one depot to another."""

    sku: Sku
    from_depot: Depot
    to_depot: Depot
    quantity: Quantity
    note: Note = ""

    @field_validator("to_depot")
    @classmethod
    def _two_depots(cls, to_depot: str, info: ValidationInfo) -> str:
        if to_depot.strip() == str(info.data.get("from_depot", "")).strip():
            raise PydanticCustomError("value_error", "must differ from from_depot")
        return to_depot


class StockWriteOff(BaseModel):
    """Stock written off (lost, damaged, expired), with the reason."""

    depot: Depot
    sku: Sku
    quantity: Quantity
    reason: Annotated[str, Text(500)]


class StockBalance(BaseModel):
    """One item at one depot: free to use, held for deployments, and both together."""

    depot: str
    sku: str
    name: str
    available: int = Field(description="free to reserve, move or write off; the sum of the item's ledger")
    reserved: int = Field(description="reserved for deployments and not back yet")
    on_hand: int = Field(description="available + reserved")


class StockMovementPublic(BaseModel):
    """One ledger row: a change of a depot's available stock."""

    id: int
    depot: str
    sku: str
    quantity: int = Field(description="the change: positive into the depot, negative out of it")
    kind: str
    reference: str
    note: str
    actor: str
    occurred_at: datetime


def _refusal(err: stock.NotEnoughStock | stock.UnknownItem) -> Conflict | InvalidFields:
    if isinstance(err, stock.NotEnoughStock):
        return Conflict(
            f"not enough {err.sku} at {err.depot}: {err.available} available, {err.wanted} asked for"
        )
    return InvalidFields([FieldError("sku", str(err))])


async def receive_stock(session: AsyncSession, receipt: StockReceipt, *, actor: str) -> StockBalance:
    """Record a receipt; 422 on `name` for a new SKU without one."""
    depot, sku = receipt.depot.strip(), receipt.sku.strip()
    try:
        await stock.receive(
            session,
            depot=depot,
            sku=sku,
            quantity=receipt.quantity,
            name=receipt.name.strip(),
            actor=actor,
            note=receipt.note.strip(),
        )
    except stock.UnknownItem as err:
        raise InvalidFields([FieldError("name", str(err))]) from None
    return await balance(session, depot, sku)


async def move_stock(session: AsyncSession, move: StockMove, *, actor: str) -> list[StockBalance]:
    """Record a move; 409 naming what is available when the source has too little."""
    sku, source, destination = move.sku.strip(), move.from_depot.strip(), move.to_depot.strip()
    try:
        await stock.move(
            session,
            sku=sku,
            source=source,
            destination=destination,
            quantity=move.quantity,
            actor=actor,
            note=move.note.strip(),
        )
    except (stock.NotEnoughStock, stock.UnknownItem) as err:
        raise _refusal(err) from None
    return [await balance(session, source, sku), await balance(session, destination, sku)]


async def write_off_stock(session: AsyncSession, write_off: StockWriteOff, *, actor: str) -> StockBalance:
    """Record a write-off; 409 naming what is available when the depot has too little."""
    depot, sku = write_off.depot.strip(), write_off.sku.strip()
    try:
        await stock.write_off(
            session,
            depot=depot,
            sku=sku,
            quantity=write_off.quantity,
            reason=write_off.reason.strip(),
            actor=actor,
        )
    except (stock.NotEnoughStock, stock.UnknownItem) as err:
        raise _refusal(err) from None
    return await balance(session, depot, sku)


async def balances(session: AsyncSession, *, depot: str = "", sku: str = "") -> list[StockBalance]:
    """Every item at every depot (or one depot, or one SKU), by depot then SKU."""
    held = (
        select(KitReservation.depot, KitReservation.sku, func.sum(KitReservation.quantity).label("reserved"))
        .where(KitReservation.status == "reserved")
        .group_by(col(KitReservation.depot), col(KitReservation.sku))
        .subquery()
    )
    query = (
        select(StockItem, func.coalesce(held.c.reserved, 0))
        .join(held, sa.and_(held.c.depot == StockItem.depot, held.c.sku == StockItem.sku), isouter=True)
        .order_by(col(StockItem.depot), col(StockItem.sku))
        .execution_options(populate_existing=True)
    )
    if depot:
        query = query.where(StockItem.depot == depot)
    if sku:
        query = query.where(StockItem.sku == sku)
    rows = (await session.exec(query)).all()
    return [
        StockBalance(
            depot=item.depot,
            sku=item.sku,
            name=item.name,
            available=item.quantity,
            reserved=int(reserved),
            on_hand=item.quantity + int(reserved),
        )
        for item, reserved in rows
    ]


async def balance(session: AsyncSession, depot: str, sku: str) -> StockBalance:
    """One item's balance at one depot."""
    [found] = await balances(session, depot=depot, sku=sku)
    return found


async def depots(session: AsyncSession) -> list[str]:
    """Every depot that lists any item."""
    return list((await session.exec(select(StockItem.depot).distinct().order_by(col(StockItem.depot)))).all())


async def skus(session: AsyncSession) -> list[tuple[str, str]]:
    """Every SKU any depot lists, with its name."""
    rows = await session.exec(select(StockItem.sku, func.min(StockItem.name)).group_by(col(StockItem.sku)))
    return sorted((sku, name) for sku, name in rows.all())


async def movements(
    session: AsyncSession, *, depot: str = "", sku: str = "", limit: int = MOVEMENTS_PAGE, offset: int = 0
) -> tuple[list[StockMovementPublic], int]:
    """Ledger rows newest first, one page of them, and how many match in all."""
    where = []
    if depot:
        where.append(col(StockMovement.depot) == depot)
    if sku:
        where.append(col(StockMovement.sku) == sku)
    total = (await session.exec(select(func.count()).select_from(StockMovement).where(*where))).one()
    rows = await session.exec(
        select(StockMovement).where(*where).order_by(col(StockMovement.id).desc()).limit(limit).offset(offset)
    )
    return [StockMovementPublic.model_validate(r, from_attributes=True) for r in rows.all()], int(total)
