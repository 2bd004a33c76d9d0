"""Sends webhook messages, signed as the Standard Webhooks specification says, and logs every
attempt; a failed attempt raises so that Temporal tries again."""

from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from standardwebhooks import Webhook
from temporalio import activity
from temporalio.exceptions import ApplicationError

from crc.db import session_factory
from crc.settings import Settings
from crc.tables import WebhookDelivery, WebhookSubscription
from crc.webhook_urls import RefusedURL, Target, check_url
from crc.webhooks import DeliveryStatus

TIMEOUT_SECONDS = 10.0
ERR_WEBHOOK_REFUSED = "WebhookRefused"
USER_AGENT = "crc-deployments-webhooks/1"
MAX_ERROR = 500


def _pinned(target: Target) -> tuple[httpx.URL, dict[str, Any]]:
    """The URL with its host replaced by the address that was checked (so no second lookup can
    lead elsewhere), and the request's Host header and TLS server name for the real host."""
    url = httpx.URL(target.url)
    return url.copy_with(host=target.address), {"sni_hostname": target.host, "host": url.netloc.decode()}


class WebhookActivities:
    """Delivery of webhook messages, with one database engine and the settings."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self._settings = settings

    async def _record(self, delivery_id: int, **values: Any) -> None:
        """Log one attempt in a transaction of its own (it stays whatever happens next)."""
        async with self._sessions.begin() as session:
            await session.exec(
                sa.update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == delivery_id)
                .values(attempts=WebhookDelivery.attempts + 1, last_attempt_at=datetime.now(UTC), **values)
            )

    async def _fail(self, delivery_id: int, error: str) -> None:
        async with self._sessions.begin() as session:
            await session.exec(
                sa.update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == delivery_id)
                .values(status=DeliveryStatus.FAILED.value, last_error=error[:MAX_ERROR])
            )

    @activity.defn(name="deliver_webhook")
    async def deliver_webhook(self, delivery_id: int) -> None:
        """POST one message to its subscriber; raises (to be retried) unless it answers 2xx."""
        async with self._sessions() as session:
            delivery = await session.get(WebhookDelivery, delivery_id)
            if delivery is None or delivery.status != DeliveryStatus.PENDING:
                return
            subscription = await session.get(WebhookSubscription, delivery.subscription_id)
        if subscription is None or not subscription.active:
            await self._fail(delivery_id, "the subscription was deleted")
            return
        try:
            target = await check_url(subscription.url, self._settings)
        except RefusedURL as exc:
            await self._record(delivery_id, status=DeliveryStatus.FAILED.value, last_error=f"refused: {exc}")
            raise ApplicationError(f"refused: {exc}", type=ERR_WEBHOOK_REFUSED, non_retryable=True) from None
        now = datetime.now(UTC)
        url, pin = _pinned(target)
        headers = {
            "host": pin["host"],
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery.msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(subscription.secret).sign(delivery.msg_id, now, delivery.payload),
        }
        extensions = {"sni_hostname": pin["sni_hostname"]} if url.scheme == "https" else {}
        # No proxies from the environment and no redirects: only the checked address is called.
        async with httpx.AsyncClient(
            timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False
        ) as http:
            try:
                request = http.build_request(
                    "POST", url, content=delivery.payload.encode(), headers=headers, extensions=extensions
                )
                response = await http.send(request)
            except httpx.TimeoutException:
                error = f"no answer within {TIMEOUT_SECONDS:.0f} seconds"
                await self._record(delivery_id, last_status_code=None, last_error=error)
                raise ApplicationError(error) from None
            except httpx.HTTPError as exc:
                error = f"could not connect: {exc or type(exc).__name__}"[:MAX_ERROR]
                await self._record(delivery_id, last_status_code=None, last_error=error)
                raise ApplicationError(error) from None
        if 200 <= response.status_code < 300:
            await self._record(
                delivery_id,
                status=DeliveryStatus.DELIVERED.value,
                last_status_code=response.status_code,
                last_error=None,
                delivered_at=datetime.now(UTC),
            )
            return
        error = f"the subscriber answered {response.status_code}"
        await self._record(delivery_id, last_status_code=response.status_code, last_error=error)
        raise ApplicationError(error)

    @activity.defn(name="give_up_webhook")
    async def give_up_webhook(self, delivery_id: int) -> None:
        """Mark a delivery failed for good once its retries ran out (a delivered one stays)."""
        async with self._sessions.begin() as session:
            delivery = await session.get(WebhookDelivery, delivery_id)
            if delivery is None or delivery.status != DeliveryStatus.PENDING:
                return
            delivery.status = DeliveryStatus.FAILED.value
            delivery.last_error = f"gave up: {delivery.last_error or 'no answer'}"[:MAX_ERROR]
