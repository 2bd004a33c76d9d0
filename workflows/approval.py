"""The approval stage's rules: which offices approve, their tasks, and how a round ends."""

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from crc.domain import Component
    from crc.names import task_id
    from crc.roles import APPROVING_OFFICES, Role
    from crc.stages import Stage
    from crc.types import ApprovalPolicy, DeploymentRequest, TaskView

APPROVE = "approve"
REJECT = "reject"
REQUEST_CHANGES = "request_changes"
APPROVAL_OUTCOMES = [APPROVE, REJECT, REQUEST_CHANGES]
TASK_KIND = "approval"
# Audit event kind and past-tense verb for each outcome.
OUTCOME_EVENTS: dict[str, tuple[str, str]] = {
    APPROVE: ("approved", "approved"),
    REJECT: ("rejected", "rejected"),
    REQUEST_CHANGES: ("changes_requested", "requested changes"),
}

OFFICE_NAMES: dict[str, str] = {
    Role.PLANNING: "Planning",
    Role.RESOURCE_MANAGEMENT: "Resource Management",
    Role.CHIEF_OF_MISSION: "Chief of Mission",
    Role.HOME_AGENCY: "Home agency",
}


class RoundResult(StrEnum):
    """How an approval round ended."""

    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    EXPIRED = "expired"


def approving_offices(request: DeploymentRequest) -> list[Role]:
    """Planning, Resource Management and the post's Chief of Mission; the home agency for Standby."""
    offices = list(APPROVING_OFFICES)
    if request.member_component == Component.STANDBY:
        offices.append(Role.HOME_AGENCY)
    return offices


def _title(office: Role, request: DeploymentRequest, estimate: Decimal) -> str:
    who = f"{request.member_name} to {request.post_code}"
    return {
        Role.PLANNING: f"Operational fit: {who} as {request.role_title}",
        Role.RESOURCE_MANAGEMENT: f"Budget: {who}, estimate ${estimate:,.2f}",
        Role.CHIEF_OF_MISSION: f"Country clearance: {who}",
        Role.HOME_AGENCY: f"Release by {request.member_agency}: {who}",
    }[office]


def approval_tasks(
    request: DeploymentRequest, *, round_no: int, opened_at: datetime, estimate: Decimal
) -> list[TaskView]:
    """One open task per approving office for this round, all due at the same time."""
    due_at = opened_at + timedelta(seconds=request.approval.due_seconds)
    return [
        TaskView(
            id=task_id(request.deployment_id, f"approval/{round_no}/{office.value}"),
            kind=TASK_KIND,
            stage=Stage.APPROVAL,
            role=office.value,
            title=_title(office, request, estimate),
            outcomes=list(APPROVAL_OUTCOMES),
            due_at=due_at,
        )
        for office in approving_offices(request)
    ]


def round_deadlines(policy: ApprovalPolicy, opened_at: datetime) -> dict[str, datetime]:
    """When to remind, escalate and expire a round opened at `opened_at`."""
    due = timedelta(seconds=policy.due_seconds)
    return {
        "remind": opened_at + due - timedelta(seconds=policy.reminder_before_seconds),
        "escalate": opened_at + due,
        "expire": opened_at + due * policy.expire_after_due_multiple,
    }
