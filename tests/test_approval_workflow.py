"""The approval stage of DeploymentWorkflow on the time-skipping server, with the real read-model."""

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from crc import names
from crc.db import session_factory
from crc.domain import Component
from crc.progress import WaitingFor
from crc.stages import Stage
from crc.tables import Deployment
from crc.types import Amendment
from tests import factories
from tests.mail_helpers import Mailbox, parts
from tests.workflow_helpers import (
    amend,
    db_events,
    db_notifications,
    db_tasks,
    decide,
    open_tasks_by_role,
    refusal,
    start,
    status,
    wait_until,
)
from worker import build_worker

OFFICES = ["planning", "resource_management", "chief_of_mission"]


async def deployment_row(engine: AsyncEngine, deployment_id: str) -> Deployment:
    async with session_factory(engine)() as session:
        row = await session.get(Deployment, deployment_id)
        assert row is not None
        return row


async def approve_all(handle: WorkflowHandle, tasks: dict[str, str]) -> None:
    for role, task in tasks.items():
        await decide(handle, task, "approve", user=f"{role}.officer", roles=[role])


async def test_all_offices_approve_moves_to_vetting(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    # An expired medical clearance holds the deployment at VETTING once approved.
    request = await factories.requested_deployment(
        engine, duration_days=90, medical_expires=date.today() + timedelta(days=30)
    )
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        handle = await start(temporal_client, task_queue, request)
        tasks = await open_tasks_by_role(handle, 3)
        assert sorted(tasks) == sorted(OFFICES)
        results = [
            await decide(handle, tasks[role], "approve", user=f"{role}.officer", roles=[role], comment="ok")
            for role in OFFICES
        ]
        # Each answers once recorded, where the deployment then stood; the run moves on after.
        assert [r.stage for r in results] == [Stage.APPROVAL, Stage.APPROVAL, Stage.APPROVAL]
        assert results[-1].task.status == "completed"

        await wait_until(handle, lambda s: s.status == "Waiting for vetting reviews")
        row = await deployment_row(engine, request.deployment_id)
        assert (row.stage, row.status) == ("VETTING", "Waiting for vetting reviews")
        # 90 days of $250 per diem; danger pay 35% and (after day 42) differential 30% of $300/day.
        assert row.cost_estimate_usd == Decimal("22500.00") + Decimal("9450.00") + Decimal("4320.00")
        kinds = [e.kind for e in await db_events(engine, request.deployment_id)]
        assert kinds == [
            "requested",
            "approval_opened",
            "approved",
            "approved",
            "approved",
            "stage_changed",
            "tasks_opened",
        ]
        rows = [t for t in await db_tasks(engine, request.deployment_id) if t.kind == "approval"]
        assert sorted((t.role, t.status, t.outcome, t.completed_by) for t in rows) == [
            (role, "completed", "approve", f"{role}.officer") for role in sorted(OFFICES)
        ]
        assert rows[0].due_at is not None and rows[0].created_at is not None
        assert rows[0].due_at - rows[0].created_at == timedelta(hours=24)
        current = await status(handle)
        assert current.stage == Stage.VETTING
        assert [(t.kind, t.role) for t in current.open_tasks] == [("vetting_review", "medical")]


async def test_standby_member_needs_home_agency_release(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    request = await factories.requested_deployment(
        engine, component=Component.STANDBY, approval=factories.policy(due_seconds=5 * factories.DAY)
    )
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        handle = await start(temporal_client, task_queue, request)
        tasks = await open_tasks_by_role(handle, 4)
        assert sorted(tasks) == sorted([*OFFICES, "home_agency"])
        home_task = next(t for t in await db_tasks(engine, request.deployment_id) if t.role == "home_agency")
        assert home_task.title == f"Release by USAID: Avery Quinn to {request.post_code}"
        await approve_all(handle, {r: tasks[r] for r in OFFICES})
        assert (await status(handle)).stage == Stage.APPROVAL  # still waiting for the agency
        result = await decide(handle, tasks["home_agency"], "approve", user="usaid.hr", roles=["home_agency"])
        assert result.task.status == "completed"
        # Approved: the run moves on (vetting, then training, as this member passes the checks).
        moved = await wait_until(handle, lambda s: s.stage != Stage.APPROVAL)
        assert moved.stage in (Stage.VETTING, Stage.TRAINING)


@pytest.mark.parametrize("office", [*OFFICES, "home_agency"])
async def test_any_office_rejecting_ends_the_request(
    office: str, engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    request = await factories.requested_deployment(engine, component=Component.STANDBY)
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        handle = await start(temporal_client, task_queue, request)
        tasks = await open_tasks_by_role(handle, 4)
        result = await decide(
            handle, tasks[office], "reject", user="officer", roles=[office], comment="Not this quarter"
        )
        assert (result.task.outcome, result.stage) == ("reject", Stage.APPROVAL)  # recorded; ends next
        outcome = await handle.result()
        assert outcome.stage == Stage.REJECTED
        assert outcome.reason == "Rejected by officer: Not this quarter"

        row = await deployment_row(engine, request.deployment_id)
        assert (row.stage, row.status) == ("REJECTED", "Rejected by officer: Not this quarter")
        statuses = {t.role: t.status for t in await db_tasks(engine, request.deployment_id)}
        assert statuses == {r: ("completed" if r == office else "cancelled") for r in tasks}


async def test_request_changes_then_amend_then_approve(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    request = await factories.requested_deployment(
        engine, duration_days=120, medical_expires=date.today() + timedelta(days=30)
    )
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        handle = await start(temporal_client, task_queue, request)
        first = await open_tasks_by_role(handle, 3)
        await decide(handle, first["planning"], "approve", user="p1", roles=["planning"])
        result = await decide(
            handle,
            first["resource_management"],
            "request_changes",
            user="rm1",
            roles=["resource_management"],
            comment="Shorten to 60 days",
        )
        assert result.task.outcome == "request_changes"
        returned = await wait_until(handle, lambda s: s.waiting_for == WaitingFor.AMENDMENT)
        assert (returned.stage, returned.status) == (
            Stage.APPROVAL,
            "Changes requested by rm1: Shorten to 60 days",
        )
        # Nobody but the requester may amend, and a decided or withdrawn task takes no decision.
        refused = await refusal(amend(handle, Amendment(user="p1", duration_days=60)))
        assert refused.type == names.ERR_NOT_REQUESTER
        refused = await refusal(
            decide(handle, first["chief_of_mission"], "approve", user="com", roles=["chief_of_mission"])
        )
        assert refused.type == names.ERR_TASK_NOT_OPEN

        new_start = request.start_date + timedelta(days=7)
        amended = await amend(
            handle,
            Amendment(user="req.user", duration_days=60, start_date=new_start, comment="Cut to 60 days"),
        )
        assert (amended.stage, amended.revision, len(amended.open_tasks)) == (Stage.APPROVAL, 2, 3)
        assert set(t.id for t in amended.open_tasks).isdisjoint(first.values())
        refused = await refusal(amend(handle, Amendment(user="req.user", duration_days=30)))
        assert refused.type == names.ERR_NOT_AMENDABLE

        row = await deployment_row(engine, request.deployment_id)
        assert (row.duration_days, row.start_date, row.revision) == (60, new_start, 2)
        assert row.end_date == new_start + timedelta(days=59)
        await approve_all(handle, {t.role: t.id for t in amended.open_tasks})
        # Vetting writes on after the approvals answer: read once it holds for the review.
        held = await wait_until(handle, lambda s: s.waiting_for == WaitingFor.VETTING_REVIEW)
        assert held.stage == Stage.VETTING
        kinds = [e.kind for e in await db_events(engine, request.deployment_id)]
        assert kinds == [
            "requested",
            "approval_opened",
            "approved",
            "changes_requested",
            "tasks_withdrawn",
            "returned_for_changes",
            "amended",
            "approval_opened",
            "approved",
            "approved",
            "approved",
            "stage_changed",
            "tasks_opened",
        ]


async def test_reminder_escalation_and_expiry(
    engine: AsyncEngine, temporal_env: WorkflowEnvironment, task_queue: str, mailbox: Mailbox
) -> None:
    client = temporal_env.client
    request = await factories.requested_deployment(
        engine, approval=factories.policy(due_seconds=8 * factories.HOUR)
    )
    # Each office's officer, a Chief of Mission of another post (never told), and two directors:
    # one for all offices, one for Planning only (not told of other offices' escalations).
    await factories.add(
        engine,
        *(factories.user(f"{role}.officer", role) for role in OFFICES),
        factories.user("com.elsewhere", "chief_of_mission", scopes={"chief_of_mission": ["XXX"]}),
        factories.user("dir", "director"),
        factories.user("dir.planning", "director", scopes={"director": ["planning"]}),
        factories.user("req.user", "requester"),
    )
    async with build_worker(client, engine, task_queue=task_queue):
        handle = await start(client, task_queue, request)
        tasks = await open_tasks_by_role(handle, 3)
        await decide(handle, tasks["planning"], "approve", user="p1", roles=["planning"])

        await temporal_env.sleep(timedelta(hours=6, minutes=5))  # reminder 2 h before the 8 h due time
        await wait_until(handle, lambda s: [e.kind for e in s.timeline].count("reminder") == 2)
        notes = await db_notifications(engine, request.deployment_id)
        assert sorted((n.username, n.kind) for n in notes if n.kind != "task") == [
            ("chief_of_mission.officer", "reminder"),
            ("req.user", "decision"),
            ("resource_management.officer", "reminder"),
        ]
        [decision] = [n for n in notes if n.kind == "decision"]
        about = f"{request.member_name} to {request.post_code}"
        assert decision.subject == f"Planning approved your request: {about}"
        told = sorted(n.username for n in notes if n.kind == "task")
        assert told == [f"{r}.officer" for r in sorted(OFFICES)]
        # Before the due time the director may not step in.
        refused = await refusal(
            decide(handle, tasks["chief_of_mission"], "approve", user="dir", roles=["director"])
        )
        assert refused.type == names.ERR_WRONG_ROLE

        await temporal_env.sleep(timedelta(hours=2))  # due: escalate to each office's director
        current = await wait_until(handle, lambda s: [e.kind for e in s.timeline].count("escalated") == 2)
        assert sorted(t.role for t in current.open_tasks if t.escalated) == [
            "chief_of_mission",
            "resource_management",
        ]
        notes = await db_notifications(engine, request.deployment_id)
        assert [(n.username, n.kind, n.task_id, n.urgent) for n in notes][-2:] == [
            ("dir", "escalation", tasks["resource_management"], True),
            ("dir", "escalation", tasks["chief_of_mission"], True),
        ]
        escalated = {t.role: t.escalated for t in await db_tasks(engine, request.deployment_id)}
        assert escalated == {"planning": False, "resource_management": True, "chief_of_mission": True}
        # The director now decides in the office's stead.
        result = await decide(handle, tasks["chief_of_mission"], "approve", user="dir", roles=["director"])
        assert result.task.completed_by == "dir" and result.stage == Stage.APPROVAL

        await temporal_env.sleep(timedelta(hours=8))  # twice the due time: expired
        outcome = await handle.result()
        assert (outcome.stage, outcome.reason) == (Stage.EXPIRED, "No decision from every office in time")
        row = await deployment_row(engine, request.deployment_id)
        assert row.stage == "EXPIRED"
        statuses = {t.role: t.status for t in await db_tasks(engine, request.deployment_id)}
        assert statuses == {
            "planning": "completed",
            "chief_of_mission": "completed",
            "resource_management": "cancelled",
        }
    # Every kind told here went out by email, each once, to its recipient with its subject and the
    # deployment's link; only the stage change stays in the app (its default).
    notes = await db_notifications(engine, request.deployment_id)
    emailed = [n for n in notes if n.kind != "stage_change"]
    assert {n.kind for n in emailed} == {"task", "reminder", "decision", "escalation", "expiry"}
    [expiry] = [n for n in notes if n.kind == "expiry"]
    assert (expiry.username, expiry.subject) == (
        "req.user",
        f"{about}: Approval → Expired. No decision from every office in time",
    )
    link = f"/deployments/{request.deployment_id}"
    sent = await mailbox.wait_for(lambda m: link in parts(m)[0], count=len(emailed))
    assert sorted((m["To"], m["Subject"].strip()) for m in sent) == sorted(
        (f"{n.username}@crc.example.gov", n.subject) for n in emailed
    )


async def test_unamended_request_expires(
    engine: AsyncEngine, temporal_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = temporal_env.client
    request = await factories.requested_deployment(
        engine, approval=factories.policy(due_seconds=factories.HOUR)
    )
    async with build_worker(client, engine, task_queue=task_queue):
        handle = await start(client, task_queue, request)
        tasks = await open_tasks_by_role(handle, 3)
        await decide(
            handle, tasks["planning"], "request_changes", user="p1", roles=["planning"], comment="Shorter"
        )
        await temporal_env.sleep(timedelta(hours=2, minutes=1))
        outcome = await handle.result()
        assert (outcome.stage, outcome.reason) == (Stage.EXPIRED, "Not amended in time")


async def test_refusals_leave_the_workflow_untouched(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    request = await factories.requested_deployment(engine, requested_by="alex")
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        handle = await start(temporal_client, task_queue, request)
        tasks = await open_tasks_by_role(handle, 3)
        before = await status(handle)

        # Four eyes: the requester holds the planning role but may not decide their own request.
        own = await refusal(decide(handle, tasks["planning"], "approve", user="alex", roles=["planning"]))
        assert (own.type, own.message) == (names.ERR_OWN_REQUEST, "nobody may decide on their own request")
        wrong = await refusal(decide(handle, tasks["planning"], "approve", user="bo", roles=["medical"]))
        assert (wrong.type, wrong.message) == (names.ERR_WRONG_ROLE, "this task is for the planning role")
        odd = await refusal(decide(handle, tasks["planning"], "maybe", user="bo", roles=["planning"]))
        assert odd.type == names.ERR_UNKNOWN_OUTCOME
        unknown = await refusal(decide(handle, "no-such-task", "approve", user="bo", roles=["planning"]))
        assert unknown.type == names.ERR_UNKNOWN_TASK
        early = await refusal(amend(handle, Amendment(user="alex", duration_days=30)))
        assert early.type == names.ERR_NOT_AMENDABLE

        after = await status(handle)
        assert after == before
        assert all(t.status == "open" for t in await db_tasks(engine, request.deployment_id))
        assert [e.kind for e in await db_events(engine, request.deployment_id)] == [
            "requested",
            "approval_opened",
        ]


async def test_double_click_decides_once(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    request = await factories.requested_deployment(engine)
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        handle = await start(temporal_client, task_queue, request)
        tasks = await open_tasks_by_role(handle, 3)
        attempts = await asyncio.gather(
            *[decide(handle, tasks["planning"], "approve", user="p1", roles=["planning"]) for _ in range(5)],
            return_exceptions=True,
        )
        accepted = [a for a in attempts if not isinstance(a, BaseException)]
        assert len(accepted) == 1
        assert [e.kind for e in await db_events(engine, request.deployment_id)].count("approved") == 1


async def test_amendment_in_the_past_is_refused(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    request = await factories.requested_deployment(engine)
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        handle = await start(temporal_client, task_queue, request)
        tasks = await open_tasks_by_role(handle, 3)
        await decide(
            handle, tasks["planning"], "request_changes", user="p1", roles=["planning"], comment="Shorter"
        )
        await wait_until(handle, lambda s: s.waiting_for == WaitingFor.AMENDMENT)
        past = await refusal(
            amend(handle, Amendment(user="req.user", start_date=date.today() - timedelta(days=3)))
        )
        assert past.type == names.ERR_INVALID_DATA
        # Too long an amendment cannot be built: the duration's rule is the model's own, and a
        # client that sends one all the same is refused when the workflow decodes it.
        with pytest.raises(ValidationError, match="must be a whole number from 1 to 365"):
            Amendment(user="req.user", duration_days=400)
        too_long = await refusal(amend(handle, Amendment.model_construct(user="req.user", duration_days=400)))
        assert (too_long.type, too_long.message) == ("RuntimeError", "Failed decoding arguments")
        assert (await status(handle)).revision == 1
