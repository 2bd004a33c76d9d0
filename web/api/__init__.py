"""The JSON API under /api/v1."""

from fastapi import APIRouter, Depends

from web.api import (
    auth,
    dashboards,
    departures,
    deployments,
    funds,
    lessons,
    lifecycle,
    me,
    notifications,
    operations,
    out_of_office,
    roster,
    stock,
    tasks,
    threat_levels,
    training,
    users,
    watchlist,
    webhooks,
)
from web.api.responses import EVERY_ROUTE, SIGNED_IN
from web.bounds import refuse_unstorable_text

api_router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(refuse_unstorable_text)], responses=EVERY_ROUTE
)
api_router.include_router(auth.router)
for signed_in in (
    me.router,
    notifications.router,
    out_of_office.router,
    roster.router,
    deployments.router,
    lifecycle.router,
    tasks.router,
    users.router,
    lessons.router,
    training.router,
    stock.router,
    webhooks.router,
    operations.router,
    dashboards.router,
    departures.router,
    funds.router,
    watchlist.router,
    threat_levels.router,
):
    api_router.include_router(signed_in, responses=SIGNED_IN)
