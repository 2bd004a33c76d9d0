"""Deployments: submit, list, read one, amend after "request changes"."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status

from crc.requests import DeploymentAmend, DeploymentCreate, DeploymentPublic, MemberId
from crc.roles import REQUEST_ROLES
from crc.tables import User
from web.api.responses import BY_ID, DECISION, documented
from web.deps import CurrentUser, SessionDep, SettingsDep, TemporalClientDep, require_roles
from web.filters import StageFilter
from web.idempotency import UpdateId
from web.schemas import DeploymentDetail, EventPublic, Page, TaskPublic
from web.services.deployments import MAX_OFFSET, MAX_PAGE, get_deployment_view, list_deployments
from web.services.requests import amend_request, submit_request

router = APIRouter(prefix="/deployments", tags=["deployments"])
Requester = Annotated[User, Depends(require_roles(*REQUEST_ROLES))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "The deployment this Idempotency-Key already created"},
        **documented(400, 403, 413),
    },
)
async def create_deployment(
    body: DeploymentCreate,
    response: Response,
    session: SessionDep,
    client: TemporalClientDep,
    settings: SettingsDep,
    user: Requester,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> DeploymentPublic:
    """Submit a request; the same Idempotency-Key again answers 200 with the same deployment."""
    row, created = await submit_request(
        session=session,
        client=client,
        settings=settings,
        user=user,
        request=body,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return DeploymentPublic.model_validate(row)


@router.get("")
async def read_deployments(
    session: SessionDep,
    user: CurrentUser,
    stage: StageFilter | None = None,
    post_code: str | None = None,
    member_id: MemberId | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Page[DeploymentPublic]:
    """The deployments the caller may see (need-to-know), newest first."""
    rows, total = await list_deployments(
        session, user=user, stage=stage, post_code=post_code, member_id=member_id, limit=limit, offset=offset
    )
    return Page(items=[DeploymentPublic.model_validate(r) for r in rows], total=total)


@router.get("/{deployment_id}", responses=BY_ID)
async def read_deployment(deployment_id: str, session: SessionDep, user: CurrentUser) -> DeploymentDetail:
    """One deployment with its timeline (oldest first) and open tasks."""
    view = await get_deployment_view(session, user, deployment_id)
    return DeploymentDetail.model_validate(
        {
            **dict(DeploymentPublic.model_validate(view.deployment)),  # its fields, excluded ones too
            "timeline": [EventPublic.model_validate(e) for e in view.timeline],
            "open_tasks": [TaskPublic.model_validate(t) for t in view.open_tasks],
        }
    )


@router.post("/{deployment_id}/amend", responses=DECISION)
async def amend_deployment(
    deployment_id: str,
    body: DeploymentAmend,
    session: SessionDep,
    client: TemporalClientDep,
    user: Requester,
    update_id: UpdateId,
) -> DeploymentPublic:
    """The requester's changes after an approver asked for them; a new approval round opens."""
    row = await amend_request(
        session=session,
        client=client,
        user=user,
        deployment_id=deployment_id,
        changes=body,
        update_id=update_id,
    )
    return DeploymentPublic.model_validate(row)
