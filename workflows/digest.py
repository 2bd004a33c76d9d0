"""DigestWorkflow: the daily digest emails, started every morning by a Temporal schedule."""

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.digest import DigestActivities, DigestResult, DigestRun
    from workflows.delivery import EMAIL_RETRY

DIGEST_WORKFLOW = "DailyDigest"
DIGEST_SCHEDULE_ID = "crc-daily-digest"
# Every day at 07:00 UTC.
DIGEST_CRON = "0 7 * * *"


class DailyDigest(BaseModel):
    """What the schedule starts: the digest of the day the run starts on."""


@workflow.defn(name=DIGEST_WORKFLOW)
class DigestWorkflow:
    """Sends the day's digests; the activity records each one sent, so its retries send none twice."""

    @workflow.run
    async def run(self, _digest: DailyDigest) -> DigestResult:
        day = workflow.now().date()
        return await workflow.execute_activity_method(
            DigestActivities.send_digests,
            DigestRun(day=day),
            start_to_close_timeout=timedelta(minutes=10),
            # Until the next day's run takes over.
            schedule_to_close_timeout=timedelta(hours=23),
            retry_policy=EMAIL_RETRY,
        )
