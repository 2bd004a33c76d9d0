"""/api/v1/webhooks: API clients subscribe a URL to deployment and task events, delivered as
signed Standard Webhooks messages, and read the log of those deliveries."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from crc.roles import Role
from crc.tables import User
from crc.webhooks import DeliveryStatus, WebhookEvent
from web.api.responses import documented
from web.deps import NowDep, SessionDep, SettingsDep, require_roles
from web.schemas import Page
from web.services import webhooks as service

# Only requesters and admins subscribe: any other role gets 403.
router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=documented(403))
Subscriber = Annotated[User, Depends(require_roles(Role.REQUESTER.value, Role.ADMIN.value))]


class WebhookCreate(BaseModel):
    """A URL to send events to, and which events."""

    url: str = Field(
        min_length=1,
        max_length=2000,
        description="where to POST each message: https (outside dev), not an intranet address",
    )
    events: list[WebhookEvent] = Field(min_length=1, description="the event types to receive")


class WebhookPublic(BaseModel):
    """A subscription (without its secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    url: str
    events: list[WebhookEvent]
    created_at: datetime


class WebhookCreated(WebhookPublic):
    """A new subscription with its signing secret, which is shown only in this answer."""

    secret: str = Field(description='"whsec_" and base64: verify each message with it (Standard Webhooks)')


class WebhookDeliveryPublic(BaseModel):
    """One message to a subscription and how its sending went."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    msg_id: str = Field(description="the webhook-id header, the same on every attempt")
    type: WebhookEvent
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = Field(description="the subscriber's last answer; null if none came")
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@router.post("", status_code=status.HTTP_201_CREATED, summary="Subscribe a URL to events")
async def create_webhook(
    body: WebhookCreate, user: Subscriber, session: SessionDep, settings: SettingsDep, now: NowDep
) -> WebhookCreated:
    """Subscribe a URL; the answer's `secret` is shown only here. 422 names `url` (not http(s);
    outside dev not https, or resolving to a loopback, private, link-local or reserved address
    not on the allow-list) or `events` (none, or one not known)."""
    created = await service.create_subscription(
        session, owner=user, url=body.url, events=body.events, settings=settings, now=now
    )
    return WebhookCreated.model_validate(created)


@router.get("", summary="List webhook subscriptions")
async def read_webhooks(user: Subscriber, session: SessionDep) -> Page[WebhookPublic]:
    """The caller's subscriptions (an admin's: everyone's), oldest first, without secrets."""
    found = await service.list_subscriptions(session, user)
    return Page(items=[WebhookPublic.model_validate(s) for s in found], total=len(found))


@router.get("/{webhook_id}", summary="Read a webhook subscription", responses=documented(404))
async def read_webhook(webhook_id: str, user: Subscriber, session: SessionDep) -> WebhookPublic:
    """One subscription, without its secret; 404 for another requester's or a deleted one."""
    return WebhookPublic.model_validate(await service.get_subscription(session, user, webhook_id))


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook subscription",
    responses=documented(404),
)
async def delete_webhook(webhook_id: str, user: Subscriber, session: SessionDep) -> Response:
    """Stop sending to the subscription (messages still being retried are dropped)."""
    await service.delete_subscription(session, user, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", summary="A webhook's delivery log", responses=documented(404))
async def read_deliveries(
    webhook_id: str,
    user: Subscriber,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500, description="at most this many, newest first")] = 100,
) -> Page[WebhookDeliveryPublic]:
    """The subscription's deliveries, newest first: status (pending while being retried,
    delivered, failed), attempts and the last answer."""
    found, total = await service.list_deliveries(session, user, webhook_id, limit=limit)
    return Page(items=[WebhookDeliveryPublic.model_validate(d) for d in found], total=total)
