"""Sends what one read-model write has to send: each email and webhook delivery by its activity,
with retries, so a slow mail server or subscriber never holds a deployment."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.outbox import DELIVERY_WORKFLOW, Deliveries

# A mail server that is down is tried again for a day, backing off to once an hour.
EMAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), backoff_coefficient=2, maximum_interval=timedelta(hours=1)
)
EMAIL_GIVE_UP = timedelta(days=1)


@workflow.defn(name=DELIVERY_WORKFLOW)
class DeliveryWorkflow:
    """One write's emails and webhook deliveries, sent side by side."""

    @workflow.run
    async def run(self, deliveries: Deliveries) -> None:
        """Send every email; each one retried on its own until it goes or the day is out."""
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
        # One that fails for good does not stop the others.
        await asyncio.gather(*sends, return_exceptions=True)
