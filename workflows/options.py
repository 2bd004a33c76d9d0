"""Timeouts and retries for the activities the workflows run, and the call that applies them."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from crc.lifecycle import ERR_BOOKING_REFUSED
    from crc.names import ERR_MISSING_ROW

# Every activity is idempotent, and writes and compensations must land eventually: retry
# without limit, backing off to a minute; only errors no retry can fix stop it.
ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Every activity heartbeats each second (activities/liveness.py): a worker killed mid-activity is
# noticed in seconds, and the activity retried on another.
ACTIVITY_HEARTBEAT_TIMEOUT = timedelta(seconds=5)
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=[ERR_MISSING_ROW, ERR_BOOKING_REFUSED],
)

A = TypeVar("A")
R = TypeVar("R")


async def run_activity(activity: Callable[[Any, A], Awaitable[R]], arg: A) -> R:
    """Run an activity method with the timeouts and retries above."""
    return await workflow.execute_activity_method(
        activity,
        arg,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        heartbeat_timeout=ACTIVITY_HEARTBEAT_TIMEOUT,
        retry_policy=ACTIVITY_RETRY,
    )
