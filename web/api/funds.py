"""/api/v1/funds: Resource Management's fund sources per fiscal year, each for an operation, and
where each stands: approving a deployment's budget obligates its estimate, cancellation gives it
back, completion spends the actual cost."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from crc.funds import FundCreate
from crc.roles import Role
from crc.tables import User
from web.api.responses import documented
from web.deps import NowDep, SessionDep, require_roles
from web.schemas import Page
from web.services import funds as service
from web.services.funds import FundPublic

router = APIRouter(prefix="/funds", tags=["funds"], responses=documented(403))
FundKeeper = Annotated[User, Depends(require_roles(Role.RESOURCE_MANAGEMENT, Role.ADMIN))]


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(409))
async def create_fund(body: FundCreate, session: SessionDep, user: FundKeeper, now: NowDep) -> FundPublic:
    """Record a fund source for an operation's fiscal year. 422 names the field (an amount not
    above 0, a fiscal year out of range, an unknown operation); 409 a name already used that year."""
    return await service.create_fund(session, user, body, now.date())


@router.get("")
async def read_funds(
    session: SessionDep,
    user: FundKeeper,
    fiscal_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    operation_id: Annotated[str | None, Query(max_length=36)] = None,
) -> Page[FundPublic]:
    """The funds, newest fiscal year first, optionally of one fiscal year or one operation."""
    items = await service.list_funds(session, user, fiscal_year=fiscal_year, operation_id=operation_id)
    return Page(items=items, total=len(items))


@router.get("/{fund_id}", responses=documented(404))
async def read_fund(fund_id: str, session: SessionDep, user: FundKeeper) -> FundPublic:
    """One fund: amount, obligated, spent, remaining, and the forecast with pending approvals."""
    return await service.get_fund(session, user, fund_id)
