"""Rules fixed when a workflow starts, taken from settings so the workflow stays deterministic;
and what a post's threat level asks of a deployment there (kit, training)."""

from crc.domain import (
    SKU_BALLISTIC_VEST,
    SKU_HELMET,
    SKU_INDIVIDUAL_KIT,
    Component,
    ThreatLevel,
)
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


# Posts at these threat levels need ballistic protection.
BALLISTIC_THREATS = frozenset({ThreatLevel.HIGH, ThreatLevel.CRITICAL})
# At these, FACT is needed before travel however short the stay (elsewhere: 90 days abroad).
FACT_ALWAYS_THREATS = frozenset({ThreatLevel.CRITICAL})


def kit_for_threat(threat_level: str) -> dict[str, int]:
    """SKU and quantity one member needs at a post of this threat level: individual kit, plus
    vest and helmet where the threat is high or critical."""
    kit = {SKU_INDIVIDUAL_KIT: 1}
    if threat_level in BALLISTIC_THREATS:
        kit |= {SKU_BALLISTIC_VEST: 1, SKU_HELMET: 1}
    return kit


def fact_required_by_threat(threat_level: str | None) -> bool:
    """Whether the post's threat alone makes FACT a course to pass before travel."""
    return threat_level in FACT_ALWAYS_THREATS
