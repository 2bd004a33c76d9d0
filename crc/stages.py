"""The lifecycle stages of a deployment."""

from enum import StrEnum


class Stage(StrEnum):
    """Where a deployment stands; the workflow is the source of truth."""

    REQUESTED = "REQUESTED"
    APPROVAL = "APPROVAL"
    VETTING = "VETTING"
    TRAINING = "TRAINING"
    EQUIPPING = "EQUIPPING"
    TRAVEL = "TRAVEL"
    DEPLOYED = "DEPLOYED"
    REDEPLOYMENT = "REDEPLOYMENT"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


# The path a deployment walks when nothing goes wrong, in order: the one place the order is
# written (the workflow runs its stages in this order; the pages draw their stage bar from it).
LIFECYCLE: tuple[Stage, ...] = (
    Stage.REQUESTED,
    Stage.APPROVAL,
    Stage.VETTING,
    Stage.TRAINING,
    Stage.EQUIPPING,
    Stage.TRAVEL,
    Stage.DEPLOYED,
    Stage.REDEPLOYMENT,
    Stage.COMPLETED,
)

# The stages the workflow runs, each with a module of its own under workflows/.
PIPELINE: tuple[Stage, ...] = LIFECYCLE[1:-1]

TERMINAL: frozenset[Stage] = frozenset({Stage.COMPLETED, Stage.REJECTED, Stage.EXPIRED, Stage.CANCELLED})

# Stages whose deployments hold the member's dates (an overlapping request is refused).
HOLDS_MEMBER: frozenset[Stage] = frozenset(Stage) - {Stage.REJECTED, Stage.EXPIRED, Stage.CANCELLED}
