"""The kinds of audit events a deployment's timeline records, and how each reads."""

from enum import StrEnum


class EventKind(StrEnum):
    """What happened. A decision on a task is recorded as its kind's decision event instead
    (crc.tasks.TaskKindSpec.decision_event), e.g. `approved` or `training_result.pass`."""

    REQUESTED = "requested"
    APPROVAL_OPENED = "approval_opened"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    RETURNED_FOR_CHANGES = "returned_for_changes"
    AMENDED = "amended"
    CLOSED = "closed"
    EXPIRED = "expired"
    STAGE_CHANGED = "stage_changed"
    TASKS_OPENED = "tasks_opened"
    TASKS_WITHDRAWN = "tasks_withdrawn"
    REMINDER = "reminder"
    ESCALATED = "escalated"
    ENROLLED = "enrolled"
    NO_SEAT = "no_seat"
    START_MOVED = "start_moved"
    KIT_SHORT = "kit_short"
    KIT_ISSUED = "kit_issued"
    TRAVEL_BOOKED = "travel_booked"
    ARRIVED = "arrived"
    ARRIVAL_CHECK_IN = "arrival_check_in"
    CHECK_IN = "check_in"
    NEEDS_HELP = "needs_help"
    MISSED_CHECK_IN = "missed_check_in"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_REJECTED = "extension_rejected"
    EXTENSION_REFUSED = "extension_refused"
    EXTENDED = "extended"
    CURTAILED = "curtailed"
    RELEASED = "released"
    COMPLETED = "completed"
    COMPENSATED = "compensated"
    CANCELLED = "cancelled"
    DECISION_WITHDRAWN = "decision.withdrawn"
    DEPARTURE_ORDERED = "departure_ordered"
    DEPARTURE_HELD = "departure_held"
    DEPARTURE_LIFTED = "departure_lifted"
    BUDGET_REFUSED = "budget_refused"
    THREAT_CHANGED = "threat_changed"


EVENT_LABELS: dict[EventKind, str] = {
    EventKind.REQUESTED: "Requested",
    EventKind.APPROVAL_OPENED: "Approval round opened",
    EventKind.APPROVED: "Approved",
    EventKind.REJECTED: "Rejected",
    EventKind.CHANGES_REQUESTED: "Changes requested",
    EventKind.RETURNED_FOR_CHANGES: "Returned for changes",
    EventKind.AMENDED: "Amended",
    EventKind.CLOSED: "Closed",
    EventKind.EXPIRED: "Expired",
    EventKind.STAGE_CHANGED: "Stage changed",
    EventKind.TASKS_OPENED: "Tasks opened",
    EventKind.TASKS_WITHDRAWN: "Tasks withdrawn",
    EventKind.REMINDER: "Reminder",
    EventKind.ESCALATED: "Escalated",
    EventKind.ENROLLED: "Enrolled",
    EventKind.NO_SEAT: "No training seat",
    EventKind.START_MOVED: "Start moved",
    EventKind.KIT_SHORT: "Kit out of stock",
    EventKind.KIT_ISSUED: "Kit issued",
    EventKind.TRAVEL_BOOKED: "Travel booked",
    EventKind.ARRIVED: "Arrived",
    EventKind.ARRIVAL_CHECK_IN: "Arrival check-in",
    EventKind.CHECK_IN: "Check-in",
    EventKind.NEEDS_HELP: "Needs help",
    EventKind.MISSED_CHECK_IN: "Missed check-in",
    EventKind.EXTENSION_REQUESTED: "Extension requested",
    EventKind.EXTENSION_REJECTED: "Extension rejected",
    EventKind.EXTENSION_REFUSED: "Extension refused",
    EventKind.EXTENDED: "Extended",
    EventKind.CURTAILED: "Early return",
    EventKind.RELEASED: "Released",
    EventKind.COMPLETED: "Completed",
    EventKind.COMPENSATED: "Undone",
    EventKind.CANCELLED: "Cancelled",
    EventKind.DECISION_WITHDRAWN: "Decision withdrawn",
    EventKind.DEPARTURE_ORDERED: "Post departure",
    EventKind.DEPARTURE_HELD: "Held by a post departure",
    EventKind.DEPARTURE_LIFTED: "Post departure over",
    EventKind.BUDGET_REFUSED: "Budget not approved",
    EventKind.THREAT_CHANGED: "Threat level changed",
}


# Who an event's actor is when no person acted (timers, the workflow itself), and how it reads.
SYSTEM_ACTOR = "system"
SYSTEM_ACTOR_NAME = "CRC system"

# How a check-in's status reads (crc.types.CheckIn.status).
CHECK_IN_STATUS_LABELS: dict[str, str] = {"ok": "OK", "needs_help": "Needs help"}


def check_in_status_label(status: str) -> str:
    """How a check-in's status reads ("OK", "Needs help")."""
    return CHECK_IN_STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


# The key of an event's data naming the member someone acted for (crc.permissions.acts_on_behalf).
ON_BEHALF_OF = "on_behalf_of"


def behalf_of(member_name: str) -> str:
    """How the timeline says whom an action was taken for ("on behalf of Maria Delgado")."""
    return f"on behalf of {member_name}"


def on_behalf_data(member_id: int, member_name: str) -> dict[str, object]:
    """An event's data naming the member someone acted for."""
    return {ON_BEHALF_OF: {"member_id": member_id, "name": member_name}}
