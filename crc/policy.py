"""Rules fixed when a workflow starts, taken from settings so the workflow stays deterministic."""

from crc.domain import Component
from crc.settings import Settings
from crc.types import ApprovalPolicy, LifecyclePolicy


def approval_policy(settings: Settings, component: str, *, call_up: bool = False) -> ApprovalPolicy:
    """Approval timers: an Active call-up's are due in 4 hours (a reminder at 3), other Active
    requests' in a day, Standby requests' in days."""
    if call_up:
        due = settings.CRC_APPROVAL_DUE_CALL_UP_HOURS * 3600
    elif component == Component.ACTIVE:
        due = settings.CRC_APPROVAL_DUE_ACTIVE_HOURS * 3600
    else:
        due = settings.CRC_APPROVAL_DUE_STANDBY_DAYS * 86400
    return ApprovalPolicy(
        due_seconds=due,
        reminder_before_seconds=due * settings.CRC_APPROVAL_REMINDER_FRACTION,
    )


def lifecycle_policy(settings: Settings) -> LifecyclePolicy:
    """Timers of the stages after approval: the check-in cadence and its grace."""
    return LifecyclePolicy(
        check_in_every_seconds=settings.CRC_CHECK_IN_EVERY_DAYS * 86400,
        check_in_grace_seconds=settings.CRC_CHECK_IN_GRACE_HOURS * 3600,
    )
