"""One deployment's page: stage bar, facts, timeline, open tasks, documents, and the actions the
signed-in user may take (amend, cancel, request an extension, check in). Its stage, status and
timeline change live (web.pages.events pushes them)."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from crc.domain import MAX_DURATION_DAYS, SECTORS
from crc.lifecycle_tables import Document
from crc.permissions import who_may
from crc.progress import Action, WaitingFor
from crc.requests import DeploymentAmend
from crc.roles import REQUEST_ROLES
from crc.stages import LIFECYCLE, Stage
from crc.tables import Deployment, User
from crc.tasks import TaskKind
from web.bounds import DocumentId
from web.deps import PageUser, SessionDep, SettingsDep, TemporalClientDep, require_page_roles
from web.drafts import take_drafts
from web.flash import flash
from web.pages.common import nav, see_other
from web.pages.forms import AMEND_FIELDS, form_values, parse_form
from web.schemas import CancelBody, CheckInBody, ExtensionBody
from web.services.access import actions_for, actor_of, parties_of
from web.services.deployments import DeploymentView, get_deployment_view
from web.services.errors import InvalidFields, ServiceError
from web.services.inbox import rows_to_decide
from web.services.lessons import after_action_report
from web.services.lifecycle import cancel_deployment, check_in, request_extension
from web.services.people import full_names
from web.services.requests import amend_request, today_utc
from web.services.visibility import may_read_document, visible_document
from web.templating import page_or_fragment, render

router = APIRouter()
PageRequester = Annotated[User, Depends(require_page_roles(*REQUEST_ROLES))]


def _reached(view: DeploymentView) -> str | None:
    """The last lifecycle stage the deployment was at (where an ended one stopped)."""
    order = {str(s) for s in LIFECYCLE}
    stages = [e.stage for e in view.timeline if e.stage in order]
    return stages[-1] if stages else None


def stay_dates(d: Deployment, today: date) -> dict[str, Any]:
    """The approved dates (with any extension) and the actual days in country, counted alike."""
    approved_days = (d.end_date - d.start_date).days + 1
    actual: dict[str, Any] | None = None
    if d.arrived_on is not None:
        last = d.left_on or min(today, d.end_date)
        actual = {"from": d.arrived_on, "to": d.left_on, "days": max((last - d.arrived_on).days + 1, 0)}
    return {"approved_days": approved_days, "extension_days": d.extension_days, "actual": actual}


async def _context(session: AsyncSession, user: User, deployment_id: str) -> dict[str, Any]:
    view = await get_deployment_view(session, user, deployment_id)
    d = view.deployment
    documents = [
        doc
        for doc in (
            await session.exec(
                select(Document).where(Document.deployment_id == d.id).order_by(col(Document.id))
            )
        ).all()
        if may_read_document(user, d, doc)
    ]
    today = today_utc()
    allowed = actions_for(user, d, today)
    arrival_waits = (
        d.waiting_for == WaitingFor.ARRIVAL
        and d.arrival_opens_on is not None
        and today < d.arrival_opens_on
        and who_may(Action.CHECK_IN, actor_of(user), parties_of(d)) is None
    )
    can_amend = Action.AMEND in allowed
    report = await after_action_report(session, d.id)
    return {
        # Completed by the member, or by Operations on their behalf (completed_by says which).
        "report": report,
        "report_text": str((report.data or {}).get("report", "")) if report else "",
        "report_by": await full_names(session, [report.completed_by or ""]) if report else {},
        "view": view,
        "d": d,
        "reached": _reached(view),
        "documents": documents,
        # Each action by name (crc.progress.Action), True when the page should offer it.
        "actions": {a.value: a in allowed for a in Action},
        # The member (or Operations) sees when the arrival check-in opens rather than no form.
        "arrival_opens_on": d.arrival_opens_on if arrival_waits else None,
        "dates": stay_dates(d, today),
        "needs_help": [t for t in view.open_tasks if t.kind == TaskKind.NEEDS_HELP],
        "can_amend": can_amend,
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
        "typed": {},
        "action_error": {},
        "max_days": MAX_DURATION_DAYS,
        # The decision form of each open task the viewer may decide (partials/open_task_forms.html).
        "open_task_forms": await rows_to_decide(
            session, user=user, deployment_id=d.id, now=datetime.now(UTC)
        ),
        "now": datetime.now(UTC),
    }


async def page_context(session: AsyncSession, user: User, deployment_id: str) -> dict[str, Any]:
    """What partials/deployment_body.html shows (the live stream renders it when the offer changes)."""
    return await _context(session, user, deployment_id)


def offered(context: dict[str, Any]) -> tuple[object, ...]:
    """What the page offers the user to do: when this changes (an arrival check-in opens), the
    live stream swaps the page body, else only its status region."""
    actions = frozenset(name for name, on in context["actions"].items() if on)
    return (actions, context["arrival_opens_on"], context["can_amend"])


async def status_context(session: AsyncSession, user: User, deployment_id: str) -> dict[str, Any]:
    """What partials/deployment_status.html shows (the live stream renders it on each change)."""
    view = await get_deployment_view(session, user, deployment_id)
    d = view.deployment
    can_amend = Action.AMEND in actions_for(user, d, today_utc())
    return {"view": view, "d": d, "reached": _reached(view), "can_amend": can_amend}


@router.get("/deployments/{deployment_id}")
async def deployment(
    request: Request,
    deployment_id: str,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
) -> Response:
    """One deployment; its status region changes live as the stage moves (web.pages.events)."""
    context = await _context(session, user, deployment_id)
    # Comments typed when the session had ended, by task id, for its decision forms (web.drafts);
    # the inbox takes them, so they are read here without being dropped.
    context["drafts"] = take_drafts(request, settings, user.username)
    context |= await nav(session, user)
    return page_or_fragment(request, "deployment.html", "partials/deployment_status.html", context, user=user)


async def _again(
    request: Request,
    session: AsyncSession,
    user: User,
    deployment_id: str,
    err: ServiceError,
    **extra: Any,
) -> Response:
    context = await _context(session, user, deployment_id) | extra | await nav(session, user)
    return render(request, "deployment.html", context, user=user, status_code=err.status_code)


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
            changes=parse_form(DeploymentAmend, form),
        )
    except ServiceError as err:
        errors = err.by_field() if isinstance(err, InvalidFields) else {"form": err.detail}
        return await _again(
            request, session, user, deployment_id, err, amend_values=values, amend_errors=errors
        )
    flash(request, "Amendment sent: the request is back with the approvers.")
    return see_other(request, f"/deployments/{deployment_id}")


async def _refused(
    request: Request,
    session: AsyncSession,
    user: User,
    deployment_id: str,
    err: ServiceError,
    *,
    action: str,
    form: FormData,
    body: type[BaseModel],
) -> Response:
    """The page again with what was typed in the action's form and why it was refused."""
    errors = err.by_field() if isinstance(err, InvalidFields) else {"form": err.detail}
    typed = form_values(form, tuple(body.model_fields))
    return await _again(
        request, session, user, deployment_id, err, typed=typed, action_error={action: errors}
    )


@router.post("/deployments/{deployment_id}/cancel")
async def cancel(
    request: Request, deployment_id: str, session: SessionDep, client: TemporalClientDep, user: PageUser
) -> Response:
    """Cancel before DEPLOYED (undone, CANCELLED); once deployed, an early return."""
    form = await request.form()
    try:
        body = parse_form(CancelBody, form)
        row = await cancel_deployment(
            session=session, client=client, user=user, deployment_id=deployment_id, reason=body.reason
        )
    except ServiceError as err:
        return await _refused(
            request, session, user, deployment_id, err, action="cancel", form=form, body=CancelBody
        )
    if row.stage == Stage.REDEPLOYMENT:
        flash(request, "Early return ordered: the member comes home and redeployment has started.")
    else:
        flash(request, "Deployment cancelled: seats, kit, bookings and clearance are being released.")
    return see_other(request, f"/deployments/{deployment_id}")


@router.post("/deployments/{deployment_id}/check-in")
async def check_in_page(
    request: Request, deployment_id: str, session: SessionDep, client: TemporalClientDep, user: PageUser
) -> Response:
    """A check-in by or for the member; the first after booking is the arrival."""
    form = await request.form()
    try:
        body = parse_form(CheckInBody, form)
        result = await check_in(
            session=session,
            client=client,
            user=user,
            deployment_id=deployment_id,
            status=body.status,
            location=body.location,
            note=body.note,
        )
    except ServiceError as err:
        return await _refused(
            request, session, user, deployment_id, err, action="check_in", form=form, body=CheckInBody
        )
    flash(request, "Arrival recorded: the member is deployed." if result.arrival else "Check-in recorded.")
    return see_other(request, f"/deployments/{deployment_id}")


@router.post("/deployments/{deployment_id}/extension")
async def extension(
    request: Request, deployment_id: str, session: SessionDep, client: TemporalClientDep, user: PageUser
) -> Response:
    """Ask Planning and Resource Management for a longer stay."""
    form = await request.form()
    try:
        body = parse_form(ExtensionBody, form)
        await request_extension(
            session=session,
            client=client,
            user=user,
            deployment_id=deployment_id,
            days=body.days,
            justification=body.justification,
        )
    except ServiceError as err:
        return await _refused(
            request,
            session,
            user,
            deployment_id,
            err,
            action=Action.REQUEST_EXTENSION,
            form=form,
            body=ExtensionBody,
        )
    days = f"{body.days} day{'s' if body.days != 1 else ''}"
    flash(request, f"Extension of {days} requested: Planning and Resource Management approve it next.")
    return see_other(request, f"/deployments/{deployment_id}")


@router.get("/deployments/{deployment_id}/documents/{document_id}")
async def document(
    deployment_id: str, document_id: DocumentId, session: SessionDep, user: PageUser
) -> Response:
    """A stored document (travel orders), shown as its own page; it may run no scripts."""
    found = await visible_document(session, user, deployment_id, document_id)
    headers = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox"}
    return Response(found.body, media_type=found.content_type, headers=headers)
