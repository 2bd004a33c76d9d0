"""Rules fixed when a workflow starts, taken from settings so the workflow stays deterministic."""

from crc.domain import Component
from crc.settings import Settings
from crc.types import ApprovalPolicy


def approval_policy(settings: Settings, component: str) -> ApprovalPolicy:
    """Approval timers for a member's component: Active requests are due in hours, Standby in days."""
    if component == Component.ACTIVE:
        due = settings.CRC_APPROVAL_DUE_ACTIVE_HOURS * 3600
    else:
        due = settings.CRC_APPROVAL_DUE_STANDBY_DAYS * 86400
    return ApprovalPolicy(
        due_seconds=due,
        reminder_before_seconds=due * settings.CRC_APPROVAL_REMINDER_FRACTION,
    )
