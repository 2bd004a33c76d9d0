"""Sends what one read-model write has to send: each email and webhook delivery by its activity,
with retries, so a slow mail server or subscriber never holds a deployment."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.outbox import DELIVERY_WORKFLOW, Deliveries

# A mail server that is down is tried again for a day, backing off to once an hour.
EMAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), backoff_coefficient=2, maximum_interval=timedelta(hours=1)
)
EMAIL_GIVE_UP = timedelta(days=1)
# A subscriber that fails is tried again for a day too (the first wait comes with the input).
WEBHOOK_GIVE_UP = timedelta(days=1)
WEBHOOK_MAX_INTERVAL = timedelta(hours=1)
# One attempt: the request's own timeout is 10 seconds; the rest is the database and the lookup.
WEBHOOK_ATTEMPT = timedelta(seconds=30)


@workflow.defn(name=DELIVERY_WORKFLOW)
class DeliveryWorkflow:
    """One write's emails and webhook deliveries, sent side by side."""

    @workflow.run
    async def run(self, deliveries: Deliveries) -> None:
        """Send every email and webhook message; each one retried on its own until it goes or
        the day is out."""
        sends = [
            workflow.execute_activity(
                "send_notification_email",
                notification_id,
                start_to_close_timeout=timedelta(minutes=1),
                schedule_to_close_timeout=EMAIL_GIVE_UP,
                retry_policy=EMAIL_RETRY,
            )
            for notification_id in deliveries.emails
        ]
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=deliveries.webhook_retry_seconds),
            backoff_coefficient=2,
            maximum_interval=WEBHOOK_MAX_INTERVAL,
        )
        webhooks = [self._webhook(delivery_id, retry) for delivery_id in deliveries.webhooks]
        # One that fails for good does not stop the others.
        await asyncio.gather(*sends, *webhooks, return_exceptions=True)

    async def _webhook(self, delivery_id: int, retry: RetryPolicy) -> None:
        """Deliver one message; once its retries run out (or it is refused), log it as failed."""
        try:
            await workflow.execute_activity(
                "deliver_webhook",
                delivery_id,
                start_to_close_timeout=WEBHOOK_ATTEMPT,
                schedule_to_close_timeout=WEBHOOK_GIVE_UP,
                retry_policy=retry,
            )
        except ActivityError:
            await workflow.execute_activity(
                "give_up_webhook", delivery_id, start_to_close_timeout=timedelta(minutes=1)
            )
