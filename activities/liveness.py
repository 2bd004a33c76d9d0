"""What every activity gets from the worker: a heartbeat while it runs, and short, readable errors.

A worker killed mid-activity is noticed by the missing heartbeat within seconds (the workflow
sets a short heartbeat timeout) rather than at the end of the activity's whole time limit; and an
error retried many times reaches the Temporal UI as one short line, not "Failure exceeds size
limit" or a page of SQL.
"""

import asyncio
import contextlib
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

HEARTBEAT_EVERY_SECONDS = 1.0
# What of an error's message reaches Temporal: its first line, at most this long.
ERROR_MESSAGE_MAX = 300


def short_message(error: BaseException) -> str:
    """The first line of an error's message, cut to ERROR_MESSAGE_MAX characters."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= ERROR_MESSAGE_MAX else text[: ERROR_MESSAGE_MAX - 1] + "…"


class _Liveness(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        beating = asyncio.create_task(_beat())
        try:
            return await self.next.execute_activity(input)
        except ApplicationError as err:
            if len(err.message) <= ERROR_MESSAGE_MAX and "\n" not in err.message:
                raise
            raise ApplicationError(
                short_message(err), type=err.type, non_retryable=err.non_retryable
            ) from None
        except Exception as err:  # retried as before, under its class name, in one short line
            raise ApplicationError(short_message(err), type=type(err).__name__) from None
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating


async def _beat() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY_SECONDS)


class LivenessInterceptor(Interceptor):
    """Heartbeats and readable errors for every activity of the worker."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Liveness(next)
