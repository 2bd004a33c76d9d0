"""Deployment pages: the list, one deployment (polling while it moves), the request form."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from crc.domain import SECTORS
from crc.roles import REQUEST_ROLES
from crc.stages import Stage
from crc.tables import User
from web.deps import PageUser, SessionDep, SettingsDep, TemporalClientDep, require_page_roles
from web.pages.forms import (
    AMEND_FIELDS,
    REQUEST_FIELDS,
    amendment_from_form,
    form_values,
    request_from_form,
)
from web.services.deployments import get_deployment_view, list_deployments, members_and_posts
from web.services.errors import InvalidFields, ServiceError
from web.services.requests import amend_request, submit_request, today_utc
from web.services.roster import list_members, list_posts
from web.templating import is_htmx, page_or_fragment, render

router = APIRouter()
PER_PAGE = 25
PageRequester = Annotated[User, Depends(require_page_roles(*REQUEST_ROLES))]


def _see_other(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@router.get("/deployments")
async def deployments(
    request: Request,
    session: SessionDep,
    user: PageUser,
    stage: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """Deployments, newest first, filtered by stage, a page at a time."""
    rows, total = await list_deployments(
        session, stage=stage or None, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
    )
    members, posts = await members_and_posts(session, rows)
    context = {
        "deployments": rows,
        "members": members,
        "posts": posts,
        "stage": stage,
        "stages": [str(s) for s in Stage],
        "page": page,
        "pages": max(1, -(-total // PER_PAGE)),
        "total": total,
    }
    return page_or_fragment(request, "deployments.html", "partials/deployment_table.html", context, user=user)


async def _form_context(session: AsyncSession, values: dict[str, str]) -> dict[str, Any]:
    return {
        "members": await list_members(session, today=today_utc()),
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
    values = dict.fromkeys(REQUEST_FIELDS, "") | {"member_id": member_id, "duration_days": "90"}
    context = await _form_context(session, values) | {"errors": {}}
    return render(request, "request_form.html", context, user=user)


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
    values = form_values(form, (*REQUEST_FIELDS, "idempotency_key"))
    try:
        row, _ = await submit_request(
            session=session,
            client=client,
            settings=settings,
            user=user,
            request=request_from_form(values),
            idempotency_key=values["idempotency_key"] or None,
        )
    except ServiceError as err:
        errors = err.by_field() if isinstance(err, InvalidFields) else {"form": err.detail}
        context = await _form_context(session, values) | {"errors": errors}
        return render(request, "request_form.html", context, user=user, status_code=err.status_code)
    return _see_other(request, f"/deployments/{row.id}")


async def _detail_context(session: AsyncSession, user: User, deployment_id: str) -> dict[str, Any]:
    view = await get_deployment_view(session, deployment_id)
    d = view.deployment
    can_amend = view.awaiting_amendment and d.requested_by == user.username
    return {
        "view": view,
        "d": d,
        "can_amend": can_amend,
        # Poll while the deployment moves, but not under a requester filling the amend form.
        "polling": d.stage not in {"COMPLETED", "REJECTED", "EXPIRED", "CANCELLED"} and not can_amend,
        "sectors": SECTORS,
        "amend_values": {
            "sector": d.sector,
            "role_title": d.role_title,
            "start_date": d.start_date.isoformat(),
            "duration_days": str(d.duration_days),
            "justification": d.justification,
            "urgent_justification": d.urgent_justification or "",
            "comment": "",
        },
        "amend_errors": {},
    }


@router.get("/deployments/{deployment_id}")
async def deployment(request: Request, deployment_id: str, session: SessionDep, user: PageUser) -> Response:
    """One deployment; htmx polls its status fragment while it is not finished."""
    context = await _detail_context(session, user, deployment_id)
    return page_or_fragment(request, "deployment.html", "partials/deployment_status.html", context, user=user)


@router.post("/deployments/{deployment_id}/amend")
async def amend(
    request: Request,
    deployment_id: str,
    session: SessionDep,
    client: TemporalClientDep,
    user: PageRequester,
) -> Response:
    """The requester's amendment; a new approval round opens."""
    form = await request.form()
    values = form_values(form, AMEND_FIELDS)
    try:
        await amend_request(
            session=session,
            client=client,
            user=user,
            deployment_id=deployment_id,
            changes=amendment_from_form(values),
        )
    except ServiceError as err:
        context = await _detail_context(session, user, deployment_id)
        errors = err.by_field() if isinstance(err, InvalidFields) else {"form": err.detail}
        context |= {"amend_values": values, "amend_errors": errors}
        return render(request, "deployment.html", context, user=user, status_code=err.status_code)
    return _see_other(request, f"/deployments/{deployment_id}")
