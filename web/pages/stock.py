"""Logistics' stock pages: balances by depot and item, receipts, moves, write-offs, an item's ledger."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from crc.roles import Role
from crc.tables import User
from web.deps import SessionDep, require_page_roles
from web.flash import flash
from web.pages.common import nav, see_other
from web.pages.forms import form_values, parse_form
from web.services.errors import Conflict, InvalidFields
from web.services.stock import (
    StockMove,
    StockReceipt,
    StockWriteOff,
    balances,
    depots,
    move_stock,
    movements,
    receive_stock,
    skus,
    write_off_stock,
)
from web.templating import page_or_fragment, render

router = APIRouter()
PageLogistics = Annotated[User, Depends(require_page_roles(Role.LOGISTICS, Role.ADMIN))]
PageFilter = Annotated[str, Query(max_length=64)]
FORMS: dict[str, type[BaseModel]] = {"receive": StockReceipt, "move": StockMove, "write_off": StockWriteOff}


async def _context(
    session: AsyncSession,
    user: User,
    *,
    depot: str,
    sku: str,
    form: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "items": await balances(session, depot=depot, sku=sku),
        "filters": {"depot": depot, "sku": sku},
        "depots": await depots(session),
        "skus": await skus(session),
        "form": form,
        "values": values or {},
        "errors": errors or {},
        **await nav(session, user),
    }


@router.get("/stock")
async def stock_page(
    request: Request, session: SessionDep, user: PageLogistics, depot: PageFilter = "", sku: PageFilter = ""
) -> Response:
    """Stock by depot and item, filtered; the table alone for htmx."""
    context = await _context(session, user, depot=depot, sku=sku)
    return page_or_fragment(request, "stock.html", "partials/stock_table.html", context, user=user)


async def _record(request: Request, session: AsyncSession, user: User, form_name: str) -> Response:
    form = await request.form()
    model = FORMS[form_name]
    values = form_values(form, tuple(model.model_fields))
    try:
        parsed = parse_form(model, form)
        if isinstance(parsed, StockReceipt):
            done = await receive_stock(session, parsed, actor=user.username)
            message = f"Received {parsed.quantity} {done.sku} at {done.depot}; {done.available} available."
        elif isinstance(parsed, StockMove):
            source, _ = await move_stock(session, parsed, actor=user.username)
            message = (
                f"Moved {parsed.quantity} {source.sku} from {source.depot} to {parsed.to_depot.strip()}."
            )
        else:
            assert isinstance(parsed, StockWriteOff)
            done = await write_off_stock(session, parsed, actor=user.username)
            message = f"Wrote off {parsed.quantity} {done.sku} at {done.depot}; {done.available} available."
    except (InvalidFields, Conflict) as err:
        errors = err.by_field() if isinstance(err, InvalidFields) else {"quantity": err.detail}
        context = await _context(
            session, user, depot="", sku="", form=form_name, values=values, errors=errors
        )
        return render(request, "stock.html", context, user=user, status_code=err.status_code)
    flash(request, message)
    return see_other(request, "/stock")


@router.post("/stock/receipts")
async def receive(request: Request, session: SessionDep, user: PageLogistics) -> Response:
    """Receive stock, or show the form again with what to fix."""
    return await _record(request, session, user, "receive")


@router.post("/stock/moves")
async def move(request: Request, session: SessionDep, user: PageLogistics) -> Response:
    """Move stock between depots, or show the form again with what to fix."""
    return await _record(request, session, user, "move")


@router.post("/stock/write-offs")
async def write_off(request: Request, session: SessionDep, user: PageLogistics) -> Response:
    """Write stock off, or show the form again with what to fix."""
    return await _record(request, session, user, "write_off")


@router.get("/stock/history")
async def history(
    request: Request,
    session: SessionDep,
    user: PageLogistics,
    depot: PageFilter = "",
    sku: PageFilter = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """One item's ledger (or every item's), newest first, a page at a time."""
    size = 50
    rows, total = await movements(session, depot=depot, sku=sku, limit=size, offset=(page - 1) * size)
    context = {
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // size)),
        "filters": {"depot": depot, "sku": sku},
        "items": await balances(session, depot=depot, sku=sku) if depot and sku else [],
        **await nav(session, user),
    }
    return render(request, "stock_history.html", context, user=user)
