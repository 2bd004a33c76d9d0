"""Cancel, check-ins, extensions and documents of a deployment under way."""

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from crc.requests import DeploymentPublic
from crc.stages import Stage
from web.api.responses import BY_ID, DECISION
from web.bounds import DocumentId
from web.deps import CurrentUser, SessionDep, TemporalClientDep
from web.idempotency import UpdateId
from web.schemas import CancelBody, CheckInBody, ExtensionBody
from web.services.lifecycle import cancel_deployment, check_in, request_extension
from web.services.visibility import visible_document

router = APIRouter(prefix="/deployments", tags=["deployments"])


class CheckInPublic(BaseModel):
    """What a check-in did: whether it was the arrival, and when the next one is due."""

    arrival: bool
    stage: Stage
    next_due_at: datetime | None


@router.post("/{deployment_id}/cancel", responses=DECISION)
async def cancel(
    deployment_id: str,
    body: CancelBody,
    session: SessionDep,
    client: TemporalClientDep,
    user: CurrentUser,
    update_id: UpdateId,
) -> DeploymentPublic:
    """Before DEPLOYED: undo what was done and end CANCELLED. Once deployed: an early return."""
    row = await cancel_deployment(
        session=session,
        client=client,
        user=user,
        deployment_id=deployment_id,
        reason=body.reason,
        update_id=update_id,
    )
    return DeploymentPublic.model_validate(row)


@router.post(
    "/{deployment_id}/check-ins",
    status_code=status.HTTP_201_CREATED,
    responses=DECISION,
)
async def create_check_in(
    deployment_id: str,
    body: CheckInBody,
    session: SessionDep,
    client: TemporalClientDep,
    user: CurrentUser,
    update_id: UpdateId,
) -> CheckInPublic:
    """The first check-in after travel is booked is the arrival; later ones are the regular ones."""
    result = await check_in(
        session=session,
        client=client,
        user=user,
        deployment_id=deployment_id,
        status=body.status,
        location=body.location,
        note=body.note,
        update_id=update_id,
    )
    return CheckInPublic.model_validate(result.model_dump())


@router.post(
    "/{deployment_id}/extensions",
    status_code=status.HTTP_201_CREATED,
    responses=DECISION,
)
async def create_extension(
    deployment_id: str,
    body: ExtensionBody,
    session: SessionDep,
    client: TemporalClientDep,
    user: CurrentUser,
    update_id: UpdateId,
) -> DeploymentPublic:
    """Ask Planning and Resource Management to approve a longer stay."""
    row = await request_extension(
        session=session,
        client=client,
        user=user,
        deployment_id=deployment_id,
        days=body.days,
        justification=body.justification,
        update_id=update_id,
    )
    return DeploymentPublic.model_validate(row)


@router.get(
    "/{deployment_id}/documents/{document_id}",
    response_class=Response,
    responses={
        200: {
            "description": "The document in its own type (travel orders are an HTML page)",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        **BY_ID,
    },
)
async def read_document(
    deployment_id: str, document_id: DocumentId, session: SessionDep, user: CurrentUser
) -> Response:
    """A document of the deployment, such as its travel orders (the member, Travel, Operations
    and admin only)."""
    document = await visible_document(session, user, deployment_id, document_id)
    return Response(document.body, media_type=document.content_type)
