"""/api/v1/posts/{code}/threat-level: Operations, directors and admins change a post's threat
level; every open deployment there re-evaluates its kit, training, clearance and danger pay."""

from typing import Annotated

from fastapi import APIRouter, Depends

from crc.roles import SEE_ALL_ROLES, THREAT_LEVEL_ROLES, WATCHLIST_READERS
from crc.tables import User
from crc.threat import ThreatLevelChange
from web.api.responses import documented
from web.deps import SessionDep, TemporalClientDep, require_roles
from web.schemas import Page
from web.services import threat_levels as service
from web.services.threat_levels import ThreatChangePublic

router = APIRouter(prefix="/posts", tags=["roster"], responses=documented(403, 404))
Changer = Annotated[User, Depends(require_roles(*THREAT_LEVEL_ROLES))]
Reader = Annotated[User, Depends(require_roles(*(SEE_ALL_ROLES | WATCHLIST_READERS)))]


@router.post("/{code}/threat-level", responses=documented(409))
async def change_threat_level(
    code: str, body: ThreatLevelChange, session: SessionDep, client: TemporalClientDep, user: Changer
) -> ThreatChangePublic:
    """Set the post's threat level (with its clearance and danger pay, if they change too), logged;
    each open deployment at the post is told and opens a task for each new need (kit, FACT,
    clearance review) and re-prices its danger pay. 422 names threat_level when nothing changes."""
    return await service.change_threat_level(session, client, user, code, body)


@router.get("/{code}/threat-changes")
async def read_threat_changes(code: str, session: SessionDep, user: Reader) -> Page[ThreatChangePublic]:
    """The post's threat-level changes, newest first."""
    items = await service.changes_of(session, code)
    return Page(items=items, total=len(items))
