"""HTML pages (Jinja2 + htmx). Every POST here must carry the session's CSRF token."""

from fastapi import APIRouter, Depends

from web.bounds import refuse_unstorable_text
from web.deps import verify_csrf
from web.pages import (
    account,
    auth,
    dashboard,
    departures,
    deployment,
    deployments,
    dev_mail,
    events,
    funds,
    inbox,
    lessons,
    members,
    notifications,
    operations,
    readiness,
    roster,
    set_password,
    settings,
    stock,
    training,
    users,
    watchlist,
)

# The CSRF check and the text bounds sit on the router, so no page form can forget them.
pages_router = APIRouter(
    include_in_schema=False, dependencies=[Depends(verify_csrf), Depends(refuse_unstorable_text)]
)
pages_router.include_router(auth.router)
pages_router.include_router(dashboard.router)
pages_router.include_router(inbox.router)
pages_router.include_router(deployments.router)  # /deployments/new before /deployments/{id}
pages_router.include_router(deployment.router)
pages_router.include_router(members.router)  # /members/new and /members/import before /members/{id}
pages_router.include_router(roster.router)
pages_router.include_router(departures.router)
pages_router.include_router(lessons.router)
pages_router.include_router(training.router)
pages_router.include_router(account.router)
pages_router.include_router(users.router)
pages_router.include_router(set_password.router)
pages_router.include_router(stock.router)
pages_router.include_router(operations.router)
pages_router.include_router(readiness.router)
pages_router.include_router(funds.router)
pages_router.include_router(watchlist.router)
pages_router.include_router(notifications.router)
pages_router.include_router(settings.router)
pages_router.include_router(dev_mail.router)
pages_router.include_router(events.router)
