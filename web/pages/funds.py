"""Resource Management's funds page: funds per fiscal year with a burn chart each, and a form to
add one."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from crc.funds import FundCreate, fiscal_year_of, fiscal_years_open, usd
from crc.operation_tables import Operation
from crc.roles import Role
from crc.tables import User
from web.deps import NowDep, SessionDep, require_page_roles
from web.flash import flash
from web.pages.common import nav, see_other
from web.pages.forms import form_values, parse_form
from web.services import funds as service
from web.services.errors import Conflict, InvalidFields
from web.templating import render

router = APIRouter()
PageFundKeeper = Annotated[User, Depends(require_page_roles(Role.RESOURCE_MANAGEMENT, Role.ADMIN))]


async def _operations(session: AsyncSession) -> list[tuple[str, str]]:
    """The operations a fund may be for, as (id, name) choices, newest first."""
    rows = (
        await session.exec(
            select(Operation.id, Operation.name).order_by(col(Operation.created_at).desc(), col(Operation.id))
        )
    ).all()
    return [(operation_id, name) for operation_id, name in rows]


async def _page(
    request: Request,
    session: AsyncSession,
    user: User,
    *,
    today: date,
    fiscal_year: int | None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    funds = await service.list_funds(session, user, fiscal_year=fiscal_year)
    years: dict[int, list[Any]] = {}
    for fund in funds:
        years.setdefault(fund.fiscal_year, []).append((fund, service.burn_chart(fund)))
    context = {
        "years": years,
        "fiscal_year": fiscal_year,
        "year_choices": [(str(y), f"FY{y}") for y in fiscal_years_open(today)],
        "operations": await _operations(session),
        "values": values or {"fiscal_year": str(fiscal_year_of(today))},
        "errors": errors or {},
        "chart_width": service.CHART_WIDTH,
        **await nav(session, user),
    }
    return render(request, "funds.html", context, user=user, status_code=status)


@router.get("/funds")
async def funds_page(
    request: Request,
    session: SessionDep,
    user: PageFundKeeper,
    now: NowDep,
    fiscal_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    """The funds of every fiscal year (or one), each with its burn chart and a table of figures."""
    return await _page(request, session, user, today=now.date(), fiscal_year=fiscal_year)


@router.post("/funds")
async def add_fund(request: Request, session: SessionDep, user: PageFundKeeper, now: NowDep) -> Response:
    """Record a fund, or show the form again with what to fix."""
    form = await request.form()
    values = form_values(form, tuple(FundCreate.model_fields))
    try:
        fund = await service.create_fund(session, user, parse_form(FundCreate, form), now.date())
    except (InvalidFields, Conflict) as err:
        errors = err.by_field() if isinstance(err, InvalidFields) else {"name": err.detail}
        return await _page(
            request,
            session,
            user,
            today=now.date(),
            fiscal_year=None,
            values=values,
            errors=errors,
            status=err.status_code,
        )
    flash(request, f"Added {fund.name} (FY{fund.fiscal_year}): {usd(fund.amount_usd)}.")
    return see_other(request, "/funds")
