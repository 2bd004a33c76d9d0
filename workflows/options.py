"""Timeouts and retries for the activities the deployment workflow runs."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.read_model import ERR_MISSING_ROW

# Read-model writes must land eventually: retry without limit, backing off to a minute.
READ_MODEL_TIMEOUT = timedelta(seconds=30)
READ_MODEL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=[ERR_MISSING_ROW],
)
