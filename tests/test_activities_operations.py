"""The operation's activities write once however often they are retried, and a cancel sent to a
deployment that is gone is a no-op, not a failure."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.operations import OperationActivities
from crc.db import session_factory
from crc.operation_tables import Operation, OperationDeployment, OperationEvent, OperationPosition
from crc.operations import (
    AuditEntry,
    CancelChild,
    CancelSent,
    NewDeployment,
    NewDeployments,
    OperationStatus,
    OperationStatusChange,
    Position,
    PositionWrite,
)
from crc.settings import Settings
from crc.stages import Stage
from crc.tables import Deployment
from tests import factories
from tests.web_helpers import count_rows

START = date.today() + timedelta(days=45)
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def entry(n: int) -> AuditEntry:
    return AuditEntry(key=f"operation/test/{n}", kind="test", actor="planning", message=f"entry {n}", at=AT)


async def _operation(engine: AsyncEngine) -> tuple[str, str, int]:
    member, post = factories.member(), factories.post(code=f"P{uuid.uuid4().hex[:6].upper()}")
    await factories.add(engine, member, post)
    operation_id = str(uuid.uuid4())
    await factories.add(
        engine,
        Operation(
            id=operation_id,
            workflow_id=f"operation-{operation_id}",
            name="Juba stabilization",
            post_codes=[post.code],
            objective="Courts",
            lead="planning",
            start_date=START,
            end_date=START + timedelta(days=90),
            status="DRAFT",
            created_by="planning",
        ),
    )
    assert member.id is not None
    return operation_id, post.code, member.id


def _judges(post_code: str, count: int) -> Position:
    """A line of the plan: `count` judges at the post for 60 days from START."""
    return Position(
        id=str(uuid.uuid4()),
        post_code=post_code,
        sector="rule_of_law",
        role_title="Judge",
        start_date=START,
        duration_days=60,
        count=count,
    )


async def test_each_write_lands_once_however_often_it_is_retried(
    engine: AsyncEngine, temporal_env: WorkflowEnvironment
) -> None:
    operation_id, post_code, member_id = await _operation(engine)
    acts = OperationActivities(engine, temporal_env.client, Settings(CRC_ENV="dev"))
    position = _judges(post_code, 1)
    new = NewDeployment(
        operation_id=operation_id,
        position_id=position.id,
        deployment_id=str(uuid.uuid4()),
        member_id=member_id,
        post_code=post_code,
        sector="rule_of_law",
        role_title="Judge",
        start_date=START,
        duration_days=60,
        justification="Operation Juba stabilization: Courts",
        requested_by="planning",
        entry=entry(2),
    )
    status = OperationStatusChange(
        operation_id=operation_id, status=OperationStatus.APPROVED, note="Approved", entry=entry(3)
    )
    for _ in range(2):  # a retried activity
        await ActivityEnvironment().run(
            acts.write_position, PositionWrite(operation_id=operation_id, position=position, entry=entry(1))
        )
        started = await ActivityEnvironment().run(acts.write_deployment, new)
        await ActivityEnvironment().run(acts.record_status, status)
    assert (started.request.deployment_id, started.request.member_id, started.request.requested_by) == (
        new.deployment_id,
        member_id,
        "planning",
    )
    assert await count_rows(engine, select(OperationPosition)) == 1
    assert await count_rows(engine, select(OperationDeployment)) == 1
    async with session_factory(engine)() as session:
        row = await session.get(Deployment, new.deployment_id)
        operation = await session.get(Operation, operation_id)
        audit = (await session.exec(select(OperationEvent.key).order_by(col(OperationEvent.id)))).all()
    assert row is not None and (row.stage, row.end_date) == (Stage.REQUESTED, START + timedelta(days=59))
    assert operation is not None and (operation.status, operation.note) == ("APPROVED", "Approved")
    assert list(audit) == ["operation/test/1", "operation/test/2", "operation/test/3"]


async def test_a_cancel_for_a_deployment_with_no_workflow_is_nothing_to_undo(
    engine: AsyncEngine, temporal_env: WorkflowEnvironment
) -> None:
    acts = OperationActivities(engine, temporal_env.client, Settings(CRC_ENV="dev"))
    sent = await ActivityEnvironment().run(
        acts.cancel_deployment,
        CancelChild(deployment_id=str(uuid.uuid4()), user="planning", user_name="operation X", reason="gone"),
    )
    assert sent.accepted is False and sent == CancelSent(accepted=False, refusal=sent.refusal)


async def test_a_fill_writes_its_rows_together_once_or_refuses_a_busy_member(
    engine: AsyncEngine, temporal_env: WorkflowEnvironment
) -> None:
    operation_id, post_code, member_id = await _operation(engine)
    others = [factories.member(name="Bo Free"), factories.member(name="Cy Free")]
    await factories.add(engine, *others)
    free, spare = (m.id for m in others)
    assert free is not None and spare is not None
    acts = OperationActivities(engine, temporal_env.client, Settings(CRC_ENV="dev"))
    position = _judges(post_code, 3)
    await ActivityEnvironment().run(
        acts.write_position, PositionWrite(operation_id=operation_id, position=position, entry=entry(1))
    )

    def new(member: int, n: int) -> NewDeployment:
        return NewDeployment(
            operation_id=operation_id,
            position_id=position.id,
            deployment_id=str(uuid.uuid4()),
            member_id=member,
            post_code=post_code,
            sector="rule_of_law",
            role_title="Judge",
            start_date=START + timedelta(days=10),
            duration_days=60,
            justification="Operation Juba stabilization: Courts",
            requested_by="planning",
            entry=entry(n),
        )

    fill = NewDeployments(deployments=[new(member_id, 2), new(free, 3)])
    for _ in range(2):  # a retried activity finds its own rows, not a clash with them
        written = await ActivityEnvironment().run(acts.write_deployments, fill)
    assert [s.request.deployment_id for s in written.started] == [d.deployment_id for d in fill.deployments]
    busy = NewDeployments(deployments=[new(spare, 4), new(member_id, 5)])
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(acts.write_deployments, busy)
    first = fill.deployments[0]
    assert (refused.value.type, refused.value.non_retryable, refused.value.message) == (
        "MemberBusy",
        True,
        f"member {member_id} (Avery Quinn) is already in deployment {first.deployment_id} "
        f"({first.start_date} to {first.start_date + timedelta(days=59)}, REQUESTED)",
    )
    # Nothing of the refused fill was written, not even the free member's row.
    assert await count_rows(engine, select(Deployment)) == 2
    assert await count_rows(engine, select(OperationDeployment)) == 2
    assert await count_rows(engine, select(OperationEvent)) == 3
