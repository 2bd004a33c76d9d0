"""The table of task kinds: who acts on each, its outcomes, the data it needs and its title.

The workflow's validator, the API, the inbox and the timeline all read this table; a rule that
depends on a task's kind belongs here, not beside the code that happens to need it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from crc.events import EVENT_LABELS, EventKind
from crc.roles import Role
from crc.task_forms import (
    AfterActionReport,
    KitReturn,
    NoData,
    TaskData,
    VettingClearance,
)


class TaskKind(StrEnum):
    """What a human step is about."""

    APPROVAL = "approval"
    VETTING_REVIEW = "vetting_review"
    TRAINING_RESULT = "training_result"
    TRAINING_SCHEDULE = "training_schedule"
    KIT_SHORTAGE = "kit_shortage"
    KIT_RECEIPT = "kit_receipt"
    COUNTRY_CLEARANCE = "country_clearance"
    BOOKING_REFUSED = "booking_refused"
    MISSED_CHECK_IN = "missed_check_in"
    NO_SHOW = "no_show"
    NEEDS_HELP = "needs_help"
    EXTENSION = "extension"
    KIT_RETURN = "kit_return"
    AFTER_ACTION_REPORT = "after_action_report"
    MEDICAL_OUT_PROCESSING = "medical_out_processing"
    DEPARTURE_ACCOUNTABILITY = "departure_accountability"
    KIT_UPGRADE = "kit_upgrade"
    TRAINING_NEEDED = "training_needed"


class Outcome(StrEnum):
    """A way to complete a task."""

    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"
    CLEAR = "clear"
    DENY = "deny"
    PASS = "pass"  # noqa: S105 - a training result, not a credential
    FAIL = "fail"
    ACCEPT_LATER_START = "accept_later_start"
    CANCEL = "cancel"
    RESTOCKED = "restocked"
    ACKNOWLEDGE = "acknowledge"
    RETRY = "retry"
    BOOKED_MANUALLY = "booked_manually"
    ACCOUNTED_FOR = "accounted_for"
    ESCALATE = "escalate"
    RESOLVED = "resolved"
    RETURNED = "returned"
    MISSING = "missing"
    DONE = "done"


@dataclass(frozen=True)
class OutcomeSpec:
    """How an outcome reads: on its button, and in the timeline once chosen."""

    label: str
    past: str


OUTCOMES: Mapping[Outcome, OutcomeSpec] = {
    Outcome.APPROVE: OutcomeSpec("Approve", "approved"),
    Outcome.REJECT: OutcomeSpec("Reject", "rejected"),
    Outcome.REQUEST_CHANGES: OutcomeSpec("Request changes", "requested changes"),
    Outcome.CLEAR: OutcomeSpec("Clear", "cleared"),
    Outcome.DENY: OutcomeSpec("Deny", "denied"),
    Outcome.PASS: OutcomeSpec("Pass", "passed"),
    Outcome.FAIL: OutcomeSpec("Fail", "failed"),
    Outcome.ACCEPT_LATER_START: OutcomeSpec("Accept the later start", "accepted a later start"),
    Outcome.CANCEL: OutcomeSpec("Cancel the deployment", "cancelled"),
    Outcome.RESTOCKED: OutcomeSpec("Restocked", "restocked"),
    Outcome.ACKNOWLEDGE: OutcomeSpec("Acknowledge", "acknowledged"),
    Outcome.RETRY: OutcomeSpec("Try the booking again", "asked to try the booking again"),
    Outcome.BOOKED_MANUALLY: OutcomeSpec("Booked by hand", "booked by hand"),
    Outcome.ACCOUNTED_FOR: OutcomeSpec("Accounted for", "accounted for the member"),
    Outcome.ESCALATE: OutcomeSpec("Escalate", "escalated"),
    Outcome.RESOLVED: OutcomeSpec("Resolved", "resolved"),
    Outcome.RETURNED: OutcomeSpec("Returned", "returned"),
    Outcome.MISSING: OutcomeSpec("Missing", "reported missing"),
    Outcome.DONE: OutcomeSpec("Done", "done"),
}


@dataclass(frozen=True)
class TaskKindSpec:
    """Everything that depends on a task's kind."""

    kind: TaskKind
    label: str
    # The roles a task of this kind may be given to; most kinds have exactly one.
    roles: tuple[Role, ...]
    # Every outcome the kind knows, the usual positive one first; a task may offer fewer.
    outcomes: tuple[Outcome, ...]
    # str.format templates; `title_variants` are chosen by name (an approving office, a case).
    title: str
    title_variants: Mapping[str, str] = field(default_factory=dict)
    form: type[TaskData] = NoData
    # Outcomes that need a comment saying why.
    comment_required: frozenset[Outcome] = frozenset()
    # The audit event kind of a decision, where it is not "<kind>.<outcome>".
    decision_events: Mapping[Outcome, EventKind] = field(default_factory=dict)
    # A member's task: the coordinator office that holds the thing and may complete it on the
    # member's behalf (a member without a login would otherwise stall the deployment).
    on_behalf: Role | None = None

    @property
    def role(self) -> Role:
        """The role that acts on tasks of this kind (the first, where several may)."""
        return self.roles[0]

    def title_for(self, variant: str | None = None, **fields: Any) -> str:
        """The title of a task of this kind, from its template and the task's facts."""
        template = self.title_variants[variant] if variant else self.title
        return template.format(**fields)

    def decision_event(self, outcome: str) -> str:
        """The audit event kind recorded when a task of this kind gets `outcome`."""
        named = self.decision_events.get(Outcome(outcome))
        return named.value if named else f"{self.kind.value}.{outcome}"

    def parse_data(self, data: Mapping[str, Any] | None) -> TaskData:
        """The task's form data, validated; raises pydantic's ValidationError."""
        return self.form.model_validate(dict(data or {}))

    def data_errors(self, data: Mapping[str, Any] | None) -> list[tuple[str, str]]:
        """(field, message) for each problem with the data, empty when it is fine."""
        try:
            self.parse_data(data)
        except ValidationError as err:
            return [
                (
                    ".".join(str(p) for p in e["loc"]) or "data",
                    "this task takes no such field" if e["type"] == "extra_forbidden" else e["msg"],
                )
                for e in err.errors()
            ]
        return []


def _spec(**kwargs: Any) -> TaskKindSpec:
    return TaskKindSpec(**kwargs)


TASK_KINDS: Mapping[TaskKind, TaskKindSpec] = {
    spec.kind: spec
    for spec in (
        _spec(
            kind=TaskKind.APPROVAL,
            label="Approval",
            roles=(Role.PLANNING, Role.RESOURCE_MANAGEMENT, Role.CHIEF_OF_MISSION, Role.HOME_AGENCY),
            outcomes=(Outcome.APPROVE, Outcome.REJECT, Outcome.REQUEST_CHANGES),
            title="Approval: {member} to {post}",
            title_variants={
                Role.PLANNING: "Operational fit: {member} to {post} as {role_title}",
                Role.RESOURCE_MANAGEMENT: "Budget: {member} to {post}, estimate ${estimate:,.2f}",
                Role.CHIEF_OF_MISSION: "Post approval: {member} to {post}",
                Role.HOME_AGENCY: "Release by {agency}: {member} to {post}",
            },
            decision_events={
                Outcome.APPROVE: EventKind.APPROVED,
                Outcome.REJECT: EventKind.REJECTED,
                Outcome.REQUEST_CHANGES: EventKind.CHANGES_REQUESTED,
            },
            comment_required=frozenset({Outcome.REJECT, Outcome.REQUEST_CHANGES}),
        ),
        _spec(
            kind=TaskKind.VETTING_REVIEW,
            label="Vetting review",
            roles=(Role.SECURITY, Role.MEDICAL),
            outcomes=(Outcome.CLEAR, Outcome.DENY),
            title="Vetting: {reason}",
            form=VettingClearance,
        ),
        _spec(
            kind=TaskKind.TRAINING_RESULT,
            label="Training result",
            roles=(Role.TRAINING,),
            outcomes=(Outcome.PASS, Outcome.FAIL),
            title="Result of {course}{retake}: {starts_on} to {ends_on}",
        ),
        _spec(
            kind=TaskKind.TRAINING_SCHEDULE,
            label="Training schedule",
            roles=(Role.PLANNING,),
            outcomes=(Outcome.ACCEPT_LATER_START, Outcome.CANCEL),
            title="No {course} session ends before {start}: start on {new_start} instead, or cancel",
            title_variants={
                "no_session": "No session of {course} has a free seat this year: cancel the deployment"
            },
        ),
        _spec(
            kind=TaskKind.KIT_SHORTAGE,
            label="Kit shortage",
            roles=(Role.LOGISTICS,),
            outcomes=(Outcome.RESTOCKED,),
            title="Out of stock for {member} ({post}): {short}",
        ),
        _spec(
            kind=TaskKind.KIT_RECEIPT,
            label="Kit receipt",
            roles=(Role.MEMBER,),
            outcomes=(Outcome.ACKNOWLEDGE,),
            on_behalf=Role.LOGISTICS,
            title="Acknowledge receipt of your kit: {items}",
        ),
        _spec(
            kind=TaskKind.COUNTRY_CLEARANCE,
            label="Country clearance for travel",
            roles=(Role.CHIEF_OF_MISSION,),
            outcomes=(Outcome.APPROVE, Outcome.REJECT),
            title="{urgent}Country clearance for travel: {member}, arriving {place} {arrival}",
            comment_required=frozenset({Outcome.REJECT}),
        ),
        _spec(
            kind=TaskKind.BOOKING_REFUSED,
            label="Refused booking",
            roles=(Role.TRAVEL,),
            outcomes=(Outcome.RETRY, Outcome.BOOKED_MANUALLY, Outcome.CANCEL),
            title="The travel provider refused the {direction} booking: {reason}",
        ),
        _spec(
            kind=TaskKind.MISSED_CHECK_IN,
            label="Missed check-in",
            roles=(Role.OPERATIONS,),
            outcomes=(Outcome.ACCOUNTED_FOR, Outcome.ESCALATE),
            title="Missed check-in: {member} in {post}, last seen {last_seen:%Y-%m-%d %H:%M} UTC",
        ),
        _spec(
            kind=TaskKind.NEEDS_HELP,
            label="Needs help",
            roles=(Role.OPERATIONS,),
            outcomes=(Outcome.RESOLVED,),
            title="URGENT: {member} needs help{where}: {note}",
            comment_required=frozenset({Outcome.RESOLVED}),
        ),
        _spec(
            kind=TaskKind.NO_SHOW,
            label="No-show",
            roles=(Role.OPERATIONS,),
            outcomes=(Outcome.ACCOUNTED_FOR, Outcome.CANCEL),
            title="No-show: {member} has not arrived in {post}; the start date was {start}",
        ),
        _spec(
            kind=TaskKind.EXTENSION,
            label="Extension",
            roles=(Role.PLANNING, Role.RESOURCE_MANAGEMENT),
            outcomes=(Outcome.APPROVE, Outcome.REJECT),
            title="Extension of {days} days for {member} ({post}), to {new_end}",
            title_variants={
                "estimated": "Extension of {days} days for {member} ({post}), to {new_end}; "
                "estimate ${estimate:,.2f} (+${increase:,.2f})"
            },
            comment_required=frozenset({Outcome.REJECT}),
        ),
        _spec(
            kind=TaskKind.KIT_RETURN,
            label="Kit return",
            roles=(Role.LOGISTICS,),
            outcomes=(Outcome.RETURNED, Outcome.MISSING),
            title="Kit return from {member}: {skus}",
            form=KitReturn,
        ),
        _spec(
            kind=TaskKind.AFTER_ACTION_REPORT,
            label="After-action report",
            roles=(Role.MEMBER,),
            outcomes=(Outcome.DONE,),
            on_behalf=Role.OPERATIONS,
            title="After-action report for {country}",
            form=AfterActionReport,
        ),
        _spec(
            kind=TaskKind.MEDICAL_OUT_PROCESSING,
            label="Medical out-processing",
            roles=(Role.MEDICAL,),
            outcomes=(Outcome.DONE,),
            title="Medical out-processing of {member}",
        ),
        _spec(
            kind=TaskKind.DEPARTURE_ACCOUNTABILITY,
            label="Departure roll-call",
            roles=(Role.MEMBER,),
            outcomes=(Outcome.ACCOUNTED_FOR,),
            # Operations, who keeps every member accounted for, answers for one they have reached.
            on_behalf=Role.OPERATIONS,
            title="URGENT: {member} to be accounted for: {words}, {reason}",
        ),
        _spec(
            kind=TaskKind.KIT_UPGRADE,
            label="Kit for a higher threat",
            roles=(Role.LOGISTICS,),
            outcomes=(Outcome.DONE,),
            title="Issue {items} to {member} for {post}: the threat level is now {threat}",
        ),
        _spec(
            kind=TaskKind.TRAINING_NEEDED,
            label="Training now required",
            roles=(Role.TRAINING,),
            outcomes=(Outcome.DONE,),
            title="Enrol {member} in {course} before travel to {post}: the threat level is now {threat}",
        ),
    )
}


# Check-ins are no task, but the same rule holds: Operations, who keeps every member accounted for,
# checks in on a member's behalf.
CHECK_IN_ON_BEHALF = Role.OPERATIONS


def on_behalf_kinds(roles: Iterable[str]) -> list[TaskKind]:
    """The member's task kinds that holders of `roles` may complete on the member's behalf."""
    held = set(roles)
    return [spec.kind for spec in TASK_KINDS.values() if spec.on_behalf in held]


def spec_of(kind: str) -> TaskKindSpec:
    """The spec of a task kind named by its string value."""
    return TASK_KINDS[TaskKind(kind)]


def outcome_label(outcome: str) -> str:
    """The button label of an outcome."""
    return OUTCOMES[Outcome(outcome)].label


def outcome_past(outcome: str) -> str:
    """How the timeline words a chosen outcome."""
    return OUTCOMES[Outcome(outcome)].past


def event_label(kind: str) -> str:
    """How the timeline names an event kind, decisions included ("Training result: passed")."""
    if kind in EventKind._value2member_map_:
        return EVENT_LABELS[EventKind(kind)]
    task_kind, _, outcome = kind.partition(".")
    if task_kind in TaskKind._value2member_map_ and outcome in Outcome._value2member_map_:
        return f"{spec_of(task_kind).label}: {outcome_past(outcome)}"
    return kind.replace("_", " ").capitalize()  # a kind this version does not know
