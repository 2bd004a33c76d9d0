"""/api/v1/stock: depot balances, the ledger, and what Logistics records (receipts, moves, write-offs)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from crc.roles import Role
from crc.tables import User
from web.api.responses import documented
from web.deps import SessionDep, require_roles
from web.schemas import Page
from web.services.stock import (
    MOVEMENTS_PAGE,
    StockBalance,
    StockMove,
    StockMovementPublic,
    StockReceipt,
    StockWriteOff,
    balances,
    move_stock,
    movements,
    receive_stock,
    write_off_stock,
)

LogisticsUser = Annotated[User, Depends(require_roles(Role.LOGISTICS, Role.ADMIN))]
router = APIRouter(tags=["stock"], responses=documented(403))
DepotFilter = Annotated[str, Query(max_length=64, description="only this depot")]
SkuFilter = Annotated[str, Query(max_length=32, description="only this SKU")]


@router.get("/stock")
async def read_stock(
    session: SessionDep, _user: LogisticsUser, depot: DepotFilter = "", sku: SkuFilter = ""
) -> Page[StockBalance]:
    """Each item at each depot: available, reserved for deployments, on hand."""
    items = await balances(session, depot=depot, sku=sku)
    return Page(items=items, total=len(items))


@router.get("/stock/movements")
async def read_movements(
    session: SessionDep,
    _user: LogisticsUser,
    depot: DepotFilter = "",
    sku: SkuFilter = "",
    limit: Annotated[int, Query(ge=1, le=200)] = MOVEMENTS_PAGE,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[StockMovementPublic]:
    """The stock ledger, newest first."""
    items, total = await movements(session, depot=depot, sku=sku, limit=limit, offset=offset)
    return Page(items=items, total=total)


@router.post("/stock/receipts", status_code=status.HTTP_201_CREATED)
async def post_receipt(session: SessionDep, user: LogisticsUser, receipt: StockReceipt) -> StockBalance:
    """Receive stock into a depot; the item's balance after it."""
    return await receive_stock(session, receipt, actor=user.username)


@router.post("/stock/moves", status_code=status.HTTP_201_CREATED, responses=documented(409))
async def post_move(session: SessionDep, user: LogisticsUser, move: StockMove) -> list[StockBalance]:
    """Move stock between depots; the source's and the destination's balances after it (409 when
    the source has less available than asked)."""
    return await move_stock(session, move, actor=user.username)


@router.post("/stock/write-offs", status_code=status.HTTP_201_CREATED, responses=documented(409))
async def post_write_off(session: SessionDep, user: LogisticsUser, write_off: StockWriteOff) -> StockBalance:
    """Write stock off with a reason; the item's balance after it (409 when too little is available)."""
    return await write_off_stock(session, write_off, actor=user.username)
