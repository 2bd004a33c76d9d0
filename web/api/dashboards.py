"""The office dashboards' data: /api/v1/readiness (Active members deployable within 48 hours, by
sector), /api/v1/dashboard/countries (open deployments by country, for the map) and
/api/v1/dashboard/approval-times (each approving office's cycle time). For the offices that see
every deployment (crc.roles.SEE_ALL_ROLES)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from crc.roles import SEE_ALL_ROLES
from crc.tables import User
from web.api.responses import documented
from web.deps import NowDep, SessionDep, require_roles
from web.filters import SectorFilter
from web.services.approval_times import CycleTimesPublic, cycle_times
from web.services.country_map import CountriesPublic, open_by_country
from web.services.readiness import ReadinessPublic, readiness

router = APIRouter(tags=["dashboards"], responses=documented(403))
OfficeUser = Annotated[User, Depends(require_roles(*SEE_ALL_ROLES))]


@router.get("/readiness")
async def get_readiness(
    session: SessionDep,
    now: NowDep,
    _user: OfficeUser,
    sector: Annotated[
        SectorFilter | None, Query(description="list only this sector's deployable members")
    ] = None,
) -> ReadinessPublic:
    """Active members deployable within 48 hours: not retired, nothing holding them (a running
    deployment, a leave or other-duties window) until the 48-hour mark, security and medical
    clearances valid through it, a passport valid six months past it. Counted per sector, and
    listed by name (of `sector` only, when given; 422 names an unknown sector)."""
    return await readiness(session, today=now.date(), sector=sector)


@router.get("/dashboard/countries")
async def get_countries(session: SessionDep, _user: OfficeUser) -> CountriesPublic:
    """Open deployments (any stage not ended) by the country of their post, by stage."""
    return await open_by_country(session)


@router.get("/dashboard/approval-times")
async def get_approval_times(session: SessionDep, now: NowDep, _user: OfficeUser) -> CycleTimesPublic:
    """Per approving office (Planning, Resource Management, Chief of Mission, Home agency): how
    many approvals it decided in the last four weeks and the four before, and the median and 90th
    percentile of the hours from each task's creation to its decision."""
    return await cycle_times(session, now=now)
