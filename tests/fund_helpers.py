"""Rows for fund tests: an operation with deployments in it (each with an open budget approval),
a fund for it, and the figures the ledger keeps."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from crc.db import session_factory
from crc.fund_tables import Fund, FundObligation
from crc.funds import fiscal_year_of
from crc.operation_tables import Operation, OperationDeployment, OperationPosition
from crc.stages import Stage
from crc.tables import Task
from crc.types import CompleteTask, EventRecord
from tests import factories
from tests.web_helpers import open_task

# Cents that floats cannot hold exactly: ten of them must still fill a fund to the cent.
ESTIMATE = Decimal("1234.57")


def operation_row(post_code: str, **overrides: Any) -> Operation:
    """An APPROVED operation at one post."""
    operation_id = str(uuid.uuid4())
    fields: dict[str, Any] = {
        "id": operation_id,
        "workflow_id": f"operation-{operation_id}",
        "name": "Juba stabilization",
        "post_codes": [post_code],
        "objective": "Reopen the courts",
        "lead": "planning",
        "start_date": date.today() + timedelta(days=45),
        "end_date": date.today() + timedelta(days=200),
        "status": "APPROVED",
        "created_by": "planning",
    }
    fields.update(overrides)
    return Operation(**fields)


def fund_row(operation_id: str, amount: Decimal, **overrides: Any) -> Fund:
    """A fund of `amount` for the operation, for the fiscal year its deployments start in."""
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": "Juba stabilization FY",
        "fiscal_year": fiscal_year_of(date.today() + timedelta(days=45)),
        "operation_id": operation_id,
        "amount_usd": amount,
        "created_by": "resource_management",
    }
    fields.update(overrides)
    return Fund(**fields)


@dataclass
class Budgeted:
    """Deployments of one operation, each with an open budget approval, and the operation's fund."""

    operation_id: str
    fund_id: str
    deployment_ids: list[str]
    task_ids: list[str]


async def budgeted(engine: AsyncEngine, count: int, fund_amount: Decimal | None) -> Budgeted:
    """`count` deployments at APPROVAL estimated at ESTIMATE each, in an operation whose fund holds
    `fund_amount` (None: the operation has no fund)."""
    member, post = factories.member(), factories.post(code="P1")
    await factories.add(engine, member, post)
    assert member.id is not None
    operation = operation_row(post.code)
    position = OperationPosition(
        id=str(uuid.uuid4()),
        operation_id=operation.id,
        post_code=post.code,
        sector="rule_of_law",
        role_title="Rule of law adviser",
        component="active",
        start_date=operation.start_date,
        duration_days=90,
        count=count,
    )
    await factories.add(engine, operation)
    await factories.add(engine, position)
    ids = await factories.deployment_rows(
        engine, count, member_id=member.id, post_code=post.code, cost_estimate_usd=ESTIMATE
    )
    tasks = [open_task(d, role="resource_management", title="Budget") for d in ids]
    fund = fund_row(operation.id, fund_amount or Decimal(1))
    await factories.add(
        engine,
        *(
            OperationDeployment(deployment_id=d, operation_id=operation.id, position_id=position.id)
            for d in ids
        ),
        *tasks,
        *([fund] if fund_amount is not None else []),
    )
    return Budgeted(operation.id, fund.id, ids, [t.id for t in tasks])


def approval(deployment_id: str, task_id: str, estimate: Decimal | None = ESTIMATE) -> CompleteTask:
    """Resource Management's approval of the deployment's budget, as the workflow sends it."""
    now = datetime.now(UTC)
    return CompleteTask(
        deployment_id=deployment_id,
        task_id=task_id,
        outcome="approve",
        completed_by="resource_management",
        completed_at=now,
        event=EventRecord(
            key=f"{task_id}/decided",
            kind="approved",
            stage=Stage.APPROVAL,
            actor="resource_management",
            message="Resource Management approved: Budget",
            at=now,
        ),
        obligate_usd=estimate,
    )


async def fund_sums(engine: AsyncEngine, fund_id: str) -> tuple[Decimal, Decimal]:
    """The fund's (obligated, spent), in cents."""
    async with session_factory(engine)() as session:
        fund = await session.get(Fund, fund_id)
    assert fund is not None
    cent = Decimal("0.01")
    return Decimal(fund.obligated_usd).quantize(cent), Decimal(fund.spent_usd).quantize(cent)


async def obligations(engine: AsyncEngine) -> dict[str, tuple[str, Decimal, Decimal | None]]:
    """Each deployment's obligation: (status, amount, actual)."""
    async with session_factory(engine)() as session:
        rows = (await session.exec(select(FundObligation))).all()
    return {r.deployment_id: (r.status, r.amount_usd, r.actual_usd) for r in rows}


async def task_statuses(engine: AsyncEngine, task_ids: list[str]) -> list[str]:
    """The tasks' statuses, in the order given."""
    async with session_factory(engine)() as session:
        rows = (await session.exec(select(Task).where(col(Task.id).in_(task_ids)))).all()
    by_id = {t.id: t.status for t in rows}
    return [by_id[t] for t in task_ids]
