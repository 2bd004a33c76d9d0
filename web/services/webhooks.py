"""Webhook subscriptions of API clients: make, list, read and delete them, and read their
delivery log. A requester has their own; an admin sees and deletes every one."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.roles import Role
from crc.settings import Settings
from crc.tables import User, WebhookDelivery, WebhookSubscription
from crc.webhook_urls import RefusedURL, check_url
from crc.webhooks import WebhookEvent, new_secret, new_subscription_id
from web.services.errors import FieldError, InvalidFields, NotFound

NOT_FOUND = "no webhook subscription of yours has this id"


async def create_subscription(
    session: AsyncSession,
    *,
    owner: User,
    url: str,
    events: list[WebhookEvent],
    settings: Settings,
    now: datetime,
) -> WebhookSubscription:
    """Subscribe the owner's URL to the events, with a new signing secret."""
    try:
        await check_url(url, settings)
    except RefusedURL as exc:
        raise InvalidFields([FieldError("url", str(exc), url)]) from None
    subscription = WebhookSubscription(
        id=new_subscription_id(),
        owner=owner.username,
        url=url,
        events=[e.value for e in dict.fromkeys(events)],
        secret=new_secret(),
        created_at=now,
    )
    session.add(subscription)
    await session.commit()
    return subscription


def _visible(user: User) -> list[sa.ColumnElement[bool]]:
    visible: list[sa.ColumnElement[bool]] = [col(WebhookSubscription.active).is_(True)]
    if Role.ADMIN not in user.roles:
        visible.append(col(WebhookSubscription.owner) == user.username)
    return visible


async def list_subscriptions(session: AsyncSession, user: User) -> list[WebhookSubscription]:
    """The subscriptions the user may see, oldest first."""
    query = select(WebhookSubscription).where(*_visible(user))
    return list((await session.exec(query.order_by(col(WebhookSubscription.created_at)))).all())


async def get_subscription(session: AsyncSession, user: User, subscription_id: str) -> WebhookSubscription:
    """One subscription the user may see; NotFound for another requester's or a deleted one."""
    query = select(WebhookSubscription).where(col(WebhookSubscription.id) == subscription_id, *_visible(user))
    found = (await session.exec(query)).one_or_none()
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


async def delete_subscription(session: AsyncSession, user: User, subscription_id: str) -> None:
    """Stop sending to a subscription; its delivery log is kept (and no longer shown)."""
    found = await get_subscription(session, user, subscription_id)
    found.active = False
    await session.commit()


async def list_deliveries(
    session: AsyncSession, user: User, subscription_id: str, *, limit: int
) -> tuple[list[WebhookDelivery], int]:
    """A subscription's deliveries, newest first, and how many there are in all."""
    await get_subscription(session, user, subscription_id)
    mine = col(WebhookDelivery.subscription_id) == subscription_id
    query = (
        select(WebhookDelivery)
        .where(mine)
        .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc())
        .limit(limit)
    )
    total = (await session.exec(select(func.count()).select_from(WebhookDelivery).where(mine))).one()
    return list((await session.exec(query)).all()), total
