"""ReconcileWorkflow: one sweep for lost starts, run every minute by a Temporal schedule."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.reconcile import OrphanSweep, OrphanSweepResult, ReconcileActivities
    from workflows.options import ACTIVITY_RETRY

RECONCILE_WORKFLOW = "ReconcileDeployments"
SCHEDULE_ID = "crc-reconcile-deployments"
EVERY = timedelta(minutes=1)


@workflow.defn(name=RECONCILE_WORKFLOW)
class ReconcileWorkflow:
    """Starts the workflows of deployment rows whose start was lost."""

    @workflow.run
    async def run(self, sweep: OrphanSweep) -> OrphanSweepResult:
        return await workflow.execute_activity_method(
            ReconcileActivities.start_orphans,
            sweep,
            start_to_close_timeout=timedelta(minutes=2),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=ACTIVITY_RETRY,
        )
