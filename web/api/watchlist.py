"""/api/v1/watchlist: Conflict Prevention's watched countries with their risk history, and the
contingency plans that become operations in one action."""

from typing import Annotated

from fastapi import APIRouter, Depends, status

from crc.roles import PLAN_AUTHORS, WATCHLIST_KEEPERS, WATCHLIST_READERS
from crc.tables import User
from crc.watchlist import Assessment, CountryCreate, PlanCreate
from web.api.responses import documented
from web.deps import SessionDep, SettingsDep, TemporalClientDep, require_roles
from web.schemas import Page
from web.services import watchlist as service
from web.services.operations import OperationPublic
from web.services.watchlist import CountryDetail, CountryPublic, PlanPublic

router = APIRouter(prefix="/watchlist", tags=["watchlist"], responses=documented(403))
Reader = Annotated[User, Depends(require_roles(*WATCHLIST_READERS))]
Keeper = Annotated[User, Depends(require_roles(*WATCHLIST_KEEPERS))]
Author = Annotated[User, Depends(require_roles(*PLAN_AUTHORS))]


@router.get("")
async def read_watchlist(session: SessionDep, user: Reader) -> Page[CountryPublic]:
    """Every watched country, the highest risk first (Conflict Prevention, Planning, directors, admins)."""
    items = await service.list_countries(session)
    return Page(items=items, total=len(items))


@router.post("", status_code=status.HTTP_201_CREATED, responses=documented(409))
async def add_country(body: CountryCreate, session: SessionDep, user: Keeper) -> CountryDetail:
    """Put a country on the watchlist with its first risk assessment (Conflict Prevention);
    409 if it is on it already."""
    return await service.add_country(session, user, body)


@router.get("/{country}", responses=documented(404))
async def read_country(country: str, session: SessionDep, user: Reader) -> CountryDetail:
    """A watched country with its risk history, newest first, and its contingency plans."""
    return await service.get_country(session, country)


@router.post("/{country}/assessments", status_code=status.HTTP_201_CREATED, responses=documented(404))
async def add_assessment(country: str, body: Assessment, session: SessionDep, user: Keeper) -> CountryDetail:
    """A new risk level with its note and sources, appended to the country's history."""
    return await service.assess(session, user, country, body)


@router.post("/{country}/plans", status_code=status.HTTP_201_CREATED, responses=documented(404))
async def create_plan(country: str, body: PlanCreate, session: SessionDep, user: Author) -> PlanPublic:
    """Keep a contingency plan (an operation with its staffing plan, not started) for the country
    (Conflict Prevention or Planning). 422 names the field (an unknown post, a date in the past)."""
    return await service.create_plan(session, user, country, body)


@router.post(
    "/{country}/plans/{plan_id}/activate",
    status_code=status.HTTP_201_CREATED,
    responses=documented(404, 409),
)
async def activate_plan(
    country: str,
    plan_id: str,
    session: SessionDep,
    client: TemporalClientDep,
    settings: SettingsDep,
    user: Author,
) -> OperationPublic:
    """Start the plan's operation: DRAFT, waiting for the Planning director and Resource
    Management, its audit saying which plan it came from. 409 once activated; 422 naming the
    field when the plan's dates have passed (change them in a new plan)."""
    return await service.activate_plan(
        session=session,
        client=client,
        user=user,
        code=country,
        plan_id=plan_id,
        task_queue=settings.TEMPORAL_TASK_QUEUE,
    )
