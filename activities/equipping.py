"""Equipping: reserve the kit a post needs from depot stock, and take it back afterwards."""

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.read_model import ReadModelActivities
from activities.rows import require
from crc import stock
from crc.db import is_unique_violation, session_factory
from crc.lifecycle import KitLine, KitRequest, KitResult, ReturnKit
from crc.lifecycle_tables import KitReservation
from crc.policy import kit_for_threat
from crc.stages import Stage
from crc.tables import Deployment, Post, StockItem, utcnow
from crc.types import StageChange

# The ledger names the deployment workflow as the actor of reservations and returns.
WORKFLOW_ACTOR = "workflow"

# Kit coming back at these stages went out with the member; at any other it was never used.
WENT_OUT = frozenset({Stage.DEPLOYED, Stage.REDEPLOYMENT, Stage.COMPLETED})


def kit_for(post: Post) -> dict[str, int]:
    """SKU and quantity one member needs at this post (crc.policy.kit_for_threat)."""
    return kit_for_threat(post.threat_level)


def _line(reservation: KitReservation) -> KitLine:
    return KitLine(
        sku=reservation.sku, name=reservation.name, depot=reservation.depot, quantity=reservation.quantity
    )


async def _reservations(session: AsyncSession, deployment_id: str) -> list[KitReservation]:
    query = (
        select(KitReservation)
        .where(KitReservation.deployment_id == deployment_id)
        .order_by(col(KitReservation.sku))
        .execution_options(populate_existing=True)  # read statuses as just written
    )
    return list((await session.exec(query)).all())


async def _take(session: AsyncSession, sku: str, quantity: int, deployment_id: str) -> StockItem | None:
    """Take `quantity` of a SKU from the depot holding most of it; None if no depot has enough."""
    depots = await session.exec(
        select(StockItem)
        .where(StockItem.sku == sku, StockItem.quantity >= quantity)
        .order_by(col(StockItem.quantity).desc(), col(StockItem.depot))
    )
    entry = stock.Entry(WORKFLOW_ACTOR, "reserved", reference=deployment_id)
    for item in depots.all():
        # Through the ledger's guarded take, so concurrent reservations and Logistics' moves can
        # never drive stock below zero (the CHECK constraint is the last guard).
        if await stock.take(session, item.depot, sku, quantity, entry):
            return item
    return None


async def _return_kind(session: AsyncSession, deployment_id: str) -> str:
    """'returned' for kit back from a deployment that went out, 'released' for a reservation undone
    by a cancellation before it did (the read-model's stage says which)."""
    stage = (await session.exec(select(Deployment.stage).where(Deployment.id == deployment_id))).first()
    return "returned" if stage in WENT_OUT else "released"


class EquippingActivities:
    """Kit reservations against depot stock, owned by one database engine."""

    def __init__(self, engine: AsyncEngine, read_model: ReadModelActivities | None = None) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        # Records the stage change an activity carries, before its own work.
        self._read_model = read_model

    async def _record(self, change: StageChange | None) -> None:
        if change is not None:
            assert self._read_model is not None, "a stage change needs the read-model's writer"
            await self._read_model.record_stage(change)

    @activity.defn(name="reserve_kit")
    async def reserve_kit(self, request: KitRequest) -> KitResult:
        """Reserve all the kit the post needs or none of it; a retry gets the same reservation."""
        await self._record(request.stage_change)
        async with self._sessions() as session:
            existing = await _reservations(session, request.deployment_id)
            if existing:
                return KitResult(reserved=True, lines=[_line(r) for r in existing])
            post = await require(session, Post, request.post_code)
            short: list[str] = []
            lines: list[KitLine] = []
            try:
                # SKUs in a fixed order, so concurrent reservations lock stock rows in one order.
                for sku, quantity in sorted(kit_for(post).items()):
                    item = await _take(session, sku, quantity, request.deployment_id)
                    if item is None:
                        short.append(sku)
                        continue
                    lines.append(KitLine(sku=sku, name=item.name, depot=item.depot, quantity=quantity))
                if short:
                    await session.rollback()
                    return KitResult(reserved=False, short=short)
                session.add_all(
                    KitReservation(deployment_id=request.deployment_id, **line.model_dump()) for line in lines
                )
                await session.commit()
            except sa.exc.IntegrityError as exc:
                # Another run of this activity reserved first: keep its kit, put ours back.
                await session.rollback()
                if not is_unique_violation(exc):
                    raise
                existing = await _reservations(session, request.deployment_id)
                if not existing:
                    raise
                return KitResult(reserved=True, lines=[_line(r) for r in existing])
            return KitResult(reserved=True, lines=lines)

    @activity.defn(name="return_kit")
    async def return_kit(self, request: ReturnKit) -> list[KitLine]:
        """Put reserved kit back in stock, recording missing SKUs as missing; returns the lines
        back in stock (the same on a retry)."""
        async with self._sessions.begin() as session:
            kind = await _return_kind(session, request.deployment_id)
            for reservation in await _reservations(session, request.deployment_id):
                status = "missing" if reservation.sku in request.missing_skus else "returned"
                changed = await session.exec(
                    sa.update(KitReservation)
                    .where(col(KitReservation.id) == reservation.id, col(KitReservation.status) == "reserved")
                    .values(status=status, updated_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
                if changed.rowcount != 1 or status == "missing":
                    continue
                await self._restock(session, reservation, kind)
            returned = await _reservations(session, request.deployment_id)
            return [_line(r) for r in returned if r.status == "returned"]

    async def _restock(self, session: AsyncSession, reservation: KitReservation, kind: str) -> None:
        # Back into the depot it came from, listing the SKU again there if it was dropped meanwhile.
        entry = stock.Entry(WORKFLOW_ACTOR, kind, reference=reservation.deployment_id)
        await stock.put(
            session, reservation.depot, reservation.sku, reservation.quantity, entry, name=reservation.name
        )
