"""Deployment pages: the list, the request form with its member search, and the amend form."""

import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from pydantic import TypeAdapter
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from crc.domain import AGENCIES, SECTORS, Component
from crc.requests import DeploymentCreate, DurationDays, MemberId
from crc.roles import REQUEST_ROLES
from crc.stages import Stage
from crc.state import end_date_of
from crc.tables import User
from web.deps import PageUser, SessionDep, SettingsDep, TemporalClientDep, require_page_roles
from web.filters import PageAgency, PageComponent, PageDate, PageStage
from web.flash import flash
from web.pages.common import nav, see_other
from web.pages.forms import REQUEST_FIELDS, form_values, parse_form, read_as
from web.services.deployment_list import Cursor, ListFilters, page_of_deployments
from web.services.errors import FieldError, InvalidFields, ServiceError
from web.services.requests import submit_request, today_utc
from web.services.roster import list_posts
from web.services.roster_pages import search_members
from web.services.validation import latest_start
from web.templating import page_or_fragment, render

router = APIRouter()
PageRequester = Annotated[User, Depends(require_page_roles(*REQUEST_ROLES))]
# The API's own types, so "²" or a number past 64 bits reads as no number, as the API refuses it.
_DAYS: TypeAdapter[int] = TypeAdapter(DurationDays)
_MEMBER_ID: TypeAdapter[int] = TypeAdapter(MemberId)


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _cursor(name: str, text: str) -> Cursor | None:
    try:
        return Cursor.decode(text) if text else None
    except ValueError as err:
        raise InvalidFields([FieldError(name, str(err), text, location="query")]) from None


@router.get("/deployments")
async def deployments(
    request: Request,
    session: SessionDep,
    user: PageUser,
    stage: PageStage = "",
    post: str = "",
    agency: PageAgency = "",
    component: PageComponent = "",
    start_from: PageDate = None,
    start_to: PageDate = None,
    member: str = "",
    after: str = "",
    before: str = "",
) -> Response:
    """Deployments, newest first, filtered, a page at a time (keyset pages: fast at any depth)."""
    filters = ListFilters(
        stage=stage,
        post=post,
        agency=agency,
        component=component,
        start_from=start_from,
        start_to=start_to,
        member=member.strip()[:100],
    )
    page = await page_of_deployments(
        session,
        user,
        filters,
        after=_cursor("after", after),
        before=_cursor("before", before),
        every_post=True,
    )
    query = filters.query()
    context = {
        "page": page,
        "deployments": page.rows,
        "members": page.members,
        "posts": page.posts,
        "filters": filters,
        "stages": [str(s) for s in Stage],
        "all_posts": list(page.posts.values()),  # read with the page's, once
        "agencies": AGENCIES,
        "components": [str(c) for c in Component],
        "next_href": f"/deployments?{urlencode({**query, 'after': page.next_cursor})}"
        if page.next_cursor
        else None,
        "prev_href": f"/deployments?{urlencode({**query, 'before': page.prev_cursor})}"
        if page.prev_cursor
        else None,
        "first_href": f"/deployments?{urlencode(query)}" if (after or before) else None,
        **await nav(session, user),
    }
    return page_or_fragment(request, "deployments.html", "partials/deployment_table.html", context, user=user)


async def _form_context(session: AsyncSession, user: User, values: dict[str, str]) -> dict[str, Any]:
    today = today_utc()
    start = _date(values.get("start_date", ""))
    if start is not None and start > latest_start(today):
        start = None  # refused on submit; here it would only run the end date off the calendar
    days = read_as(_DAYS, values.get("duration_days", ""))
    return {
        "choices": await search_members(
            session,
            user=user,
            text=values.get("member_q", ""),
            today=today,
            start=start,
            end=end_date_of(start, days) if start and days else None,
            selected=read_as(_MEMBER_ID, values.get("member_id", "")),
        ),
        "posts": await list_posts(session),
        "sectors": SECTORS,
        "values": values,
        "idempotency_key": values.get("idempotency_key") or str(uuid.uuid4()),
    }


@router.get("/deployments/new")
async def new_request_form(
    request: Request, session: SessionDep, user: PageRequester, member_id: str = ""
) -> Response:
    """The request form."""
    values = dict.fromkeys(REQUEST_FIELDS, "") | {
        "member_id": member_id,
        "duration_days": "90",
        "member_q": "",
    }
    context = await _form_context(session, user, values) | {"errors": {}, **await nav(session, user)}
    return render(request, "request_form.html", context, user=user)


@router.get("/deployments/new/members")
async def member_search(
    request: Request,
    session: SessionDep,
    user: PageRequester,
    member_q: str = "",
    member_id: str = "",
    start_date: str = "",
    duration_days: str = "",
) -> Response:
    """The member search's results (htmx active search): availability and certificates."""
    values = {
        "member_q": member_q[:100],
        "member_id": member_id,
        "start_date": start_date,
        "duration_days": duration_days,
    }
    context = await _form_context(session, user, values) | {"errors": {}}
    return render(request, "partials/member_choices.html", context, user=user)


@router.post("/deployments/new")
async def submit_request_form(
    request: Request,
    session: SessionDep,
    client: TemporalClientDep,
    settings: SettingsDep,
    user: PageRequester,
) -> Response:
    """Submit the form; on errors show it again with a message per field and what was typed."""
    form = await request.form()
    values = form_values(form, (*REQUEST_FIELDS, "idempotency_key", "member_q"))
    try:
        row, _ = await submit_request(
            session=session,
            client=client,
            settings=settings,
            user=user,
            request=parse_form(DeploymentCreate, form),
            idempotency_key=values["idempotency_key"] or None,
        )
    except ServiceError as err:
        errors = err.by_field() if isinstance(err, InvalidFields) else {"form": err.detail}
        context = await _form_context(session, user, values) | {"errors": errors, **await nav(session, user)}
        return render(request, "request_form.html", context, user=user, status_code=err.status_code)
    what = f"{row.role_title} at {row.post_code} from {row.start_date}"
    flash(request, f"Request submitted: {what}. It now waits for approval.")
    return see_other(request, f"/deployments/{row.id}")
