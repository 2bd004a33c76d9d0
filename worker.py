"""The worker: runs DeploymentWorkflow and its activities against the configured Temporal."""

import asyncio
import contextlib
import logging
import signal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.closeout import CloseOutActivities
from activities.departures import DepartureActivities
from activities.digest import DigestActivities
from activities.equipping import EquippingActivities
from activities.liveness import LivenessInterceptor
from activities.mail import MailActivities
from activities.operations import OperationActivities
from activities.outbox import Deliverer
from activities.read_model import ReadModelActivities
from activities.reconcile import OrphanSweep, ReconcileActivities
from activities.training import TrainingActivities
from activities.travel import TravelActivities, TravelProvider
from activities.vetting import VettingActivities
from activities.webhooks import WebhookActivities
from crc.db import create_engine
from crc.search_attributes import SearchAttributeConflict, ensure_registered, registration_commands
from crc.settings import Settings, get_settings
from workflows.delivery import DeliveryWorkflow
from workflows.departure import PostDepartureWorkflow
from workflows.deployment import DeploymentWorkflow
from workflows.digest import DIGEST_CRON, DIGEST_SCHEDULE_ID, DIGEST_WORKFLOW, DailyDigest, DigestWorkflow
from workflows.operation import OperationWorkflow
from workflows.reconcile import EVERY, RECONCILE_WORKFLOW, SCHEDULE_ID, ReconcileWorkflow

log = logging.getLogger("crc.worker")


def activities_for(
    engine: AsyncEngine, travel_provider: TravelProvider | None = None, deliver: Deliverer | None = None
) -> list[Any]:
    """Every activity the deployment workflow calls, bound to one engine (explicitly listed)."""
    read_model = ReadModelActivities(engine, deliver)
    # The stage activities write the stage change they carry through the read-model's writer.
    vetting = VettingActivities(engine, read_model)
    training = TrainingActivities(engine, read_model)
    equipping = EquippingActivities(engine, read_model)
    travel = TravelActivities(engine, travel_provider, read_model)
    close_out = CloseOutActivities(engine, read_model)
    return [
        read_model.record_stage,
        read_model.append_event,
        read_model.open_tasks,
        read_model.complete_task,
        read_model.hold_task,
        read_model.release_task,
        read_model.close_tasks,
        read_model.notify_role,
        read_model.estimate_cost,
        read_model.load_post,
        vetting.vet_member,
        vetting.record_renewal,
        vetting.check_extension,
        training.plan_training,
        training.enrol,
        training.release_seats,
        training.mark_enrolment,
        training.record_certificate,
        training.record_training_result,
        equipping.reserve_kit,
        equipping.return_kit,
        travel.book_travel,
        travel.cancel_travel,
        travel.record_country_clearance,
        travel.issue_travel_orders,
        travel.record_check_in,
        close_out.close_out,
    ]


def build_worker(
    client: Client,
    engine: AsyncEngine,
    *,
    task_queue: str,
    travel_provider: TravelProvider | None = None,
    settings: Settings | None = None,
) -> Worker:
    """A worker with the explicit list of workflows and activities, sharing one engine."""
    settings = settings or get_settings()
    reconcile = ReconcileActivities(engine, client, settings, task_queue)
    mail = MailActivities(engine, settings)
    digest = DigestActivities(engine, settings)
    webhooks = WebhookActivities(engine, settings)
    operations = OperationActivities(engine, client, settings)
    departures = DepartureActivities(engine)
    deliver = Deliverer(client, task_queue, webhook_retry_seconds=settings.CRC_WEBHOOK_RETRY_INITIAL_SECONDS)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[
            DeploymentWorkflow,
            ReconcileWorkflow,
            DeliveryWorkflow,
            DigestWorkflow,
            OperationWorkflow,
            PostDepartureWorkflow,
        ],
        activities=[
            *activities_for(engine, travel_provider, deliver),
            reconcile.start_orphans,
            mail.send_notification_email,
            digest.send_digests,
            webhooks.deliver_webhook,
            webhooks.give_up_webhook,
            operations.record_status,
            operations.write_position,
            operations.write_deployment,
            operations.write_deployments,
            operations.cancel_deployment,
            departures.list_members,
            departures.write_roll_call,
            departures.record_status,
        ],
        interceptors=[LivenessInterceptor()],
        # Bounded, so the worker's memory does not grow with every open deployment.
        max_cached_workflows=settings.CRC_WORKER_MAX_CACHED_WORKFLOWS,
        max_concurrent_workflow_tasks=settings.CRC_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    )


async def ensure_reconcile_schedule(client: Client, task_queue: str) -> None:
    """The schedule that sweeps for lost starts every minute (created once; kept if it exists)."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            RECONCILE_WORKFLOW, OrphanSweep(), id=SCHEDULE_ID, task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=EVERY)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(SCHEDULE_ID, schedule)


async def ensure_digest_schedule(client: Client, task_queue: str) -> None:
    """The schedule that sends the daily digest at 07:00 UTC (created once; kept if it exists)."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            DIGEST_WORKFLOW, DailyDigest(), id=DIGEST_SCHEDULE_ID, task_queue=task_queue
        ),
        spec=ScheduleSpec(cron_expressions=[DIGEST_CRON]),
        # A run still retrying a mail server that is down is not joined by the next day's.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(DIGEST_SCHEDULE_ID, schedule)


async def connect(settings: Settings) -> Client:
    """A Temporal client for the configured cluster, with the pydantic data converter."""
    return await Client.connect(
        settings.TEMPORAL_ADDRESS,
        namespace=settings.TEMPORAL_NAMESPACE,
        data_converter=pydantic_data_converter,
    )


async def register_search_attributes(client: Client, namespace: str) -> bool:
    """Register the deployment search attributes; False, with how to do it by hand, if refused."""
    try:
        added = await ensure_registered(client, namespace)
    except (RPCError, SearchAttributeConflict) as exc:
        # Not fatal: the worker can still serve what does not need them. Until an operator adds
        # them, the server refuses new deployments and a running one retries its next stage change.
        commands = "\n  ".join(registration_commands(namespace))
        log.error(
            "Could not register the deployment search attributes in namespace %s: %s. "
            "Register them by hand (on Temporal Cloud: the namespace's Search Attributes page "
            "or tcld), e.g.:\n  %s",
            namespace,
            exc,
            commands,
        )
        return False
    if added:
        log.info("registered search attributes %s in namespace %s", ", ".join(added), namespace)
    return True


async def main() -> None:
    """Run the worker until SIGINT or SIGTERM, then finish in-flight tasks and stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = get_settings()
    engine = create_engine(settings.database_url)
    client = await connect(settings)
    await register_search_attributes(client, settings.TEMPORAL_NAMESPACE)
    await ensure_reconcile_schedule(client, settings.TEMPORAL_TASK_QUEUE)
    await ensure_digest_schedule(client, settings.TEMPORAL_TASK_QUEUE)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with build_worker(client, engine, task_queue=settings.TEMPORAL_TASK_QUEUE):
        log.info("worker polling %s on %s", settings.TEMPORAL_TASK_QUEUE, settings.TEMPORAL_ADDRESS)
        await stop.wait()
        log.info("worker stopping")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
