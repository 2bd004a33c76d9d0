"""The readiness page: who could deploy within 48 hours by sector, open deployments on a map of
countries, and each approving office's cycle time."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from crc.domain import SECTORS
from crc.roles import SEE_ALL_ROLES
from crc.tables import User
from web.deps import NowDep, SessionDep, require_page_roles
from web.filters import PageSector
from web.pages.common import nav
from web.services.approval_times import cycle_times
from web.services.country_map import open_by_country
from web.services.readiness import readiness
from web.templating import render

router = APIRouter()
PageOffice = Annotated[User, Depends(require_page_roles(*SEE_ALL_ROLES))]


@router.get("/readiness")
async def readiness_page(
    request: Request, session: SessionDep, now: NowDep, user: PageOffice, sector: PageSector = ""
) -> Response:
    """The three office dashboards, each from one statement; `sector` narrows the member list."""
    countries = await open_by_country(session)
    context = {
        "readiness": await readiness(session, today=now.date(), sector=sector or None),
        "countries": countries,
        # The map's data, embedded (tojson escapes it for a script element): no second request.
        "map_data": [c.model_dump() for c in countries.countries],
        "cycle": await cycle_times(session, now=now),
        "sectors": SECTORS,
        **await nav(session, user),
    }
    return render(request, "readiness.html", context, user=user)
