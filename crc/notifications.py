"""What people are told, and how: the kinds of notification, each user's delivery choice."""

from enum import StrEnum
from typing import Final


class NotificationKind(StrEnum):
    """Why someone is told (a user chooses the delivery per kind)."""

    TASK = "task"  # a task assigned to you or your role
    REMINDER = "reminder"
    ESCALATION = "escalation"
    DECISION = "decision"  # on your request: approved, rejected, changes requested
    STAGE_CHANGE = "stage_change"  # of a deployment you requested or are the member of
    ALERT = "alert"  # missed check-in, needs help, no-show
    EXPIRY = "expiry"
    CANCELLATION = "cancellation"


class Delivery(StrEnum):
    """How a kind reaches a user beyond the bell: an email at once, the daily digest, or neither."""

    IMMEDIATE = "immediate"
    DIGEST = "digest"
    IN_APP = "in_app"


KIND_LABELS: Final[dict[NotificationKind, str]] = {
    NotificationKind.TASK: "A task for you or your office",
    NotificationKind.REMINDER: "Reminders of tasks falling due",
    NotificationKind.ESCALATION: "Escalations to a director",
    NotificationKind.DECISION: "Decisions on your requests",
    NotificationKind.STAGE_CHANGE: "Stage changes of your deployments",
    NotificationKind.ALERT: "Alerts: missed check-in, needs help, no-show",
    NotificationKind.EXPIRY: "Requests that expired",
    NotificationKind.CANCELLATION: "Cancellations",
}

DELIVERY_LABELS: Final[dict[Delivery, str]] = {
    Delivery.IMMEDIATE: "Email at once",
    Delivery.DIGEST: "Daily digest",
    Delivery.IN_APP: "In the app only",
}

# Until a user chooses: work and decisions by email at once, the running commentary in the app.
DEFAULT_DELIVERY: Final[dict[NotificationKind, Delivery]] = {
    NotificationKind.TASK: Delivery.IMMEDIATE,
    NotificationKind.REMINDER: Delivery.IMMEDIATE,
    NotificationKind.ESCALATION: Delivery.IMMEDIATE,
    NotificationKind.DECISION: Delivery.IMMEDIATE,
    NotificationKind.STAGE_CHANGE: Delivery.IN_APP,
    NotificationKind.ALERT: Delivery.IMMEDIATE,
    NotificationKind.EXPIRY: Delivery.IMMEDIATE,
    NotificationKind.CANCELLATION: Delivery.IMMEDIATE,
}

# Kinds that are always emailed at once, whatever the user chose (so the settings lock them).
ALWAYS_IMMEDIATE: Final[frozenset[NotificationKind]] = frozenset({NotificationKind.ESCALATION})


def delivery_for(kind: str, chosen: dict[str, str], *, urgent: bool) -> Delivery:
    """How this notification goes out: urgent ones (call-ups, needs help, no-show, escalations)
    at once, others as the user chose or by default."""
    if urgent or kind in ALWAYS_IMMEDIATE:
        return Delivery.IMMEDIATE
    choice = chosen.get(kind, "")
    if choice in Delivery._value2member_map_:
        return Delivery(choice)
    return DEFAULT_DELIVERY[NotificationKind(kind)]
