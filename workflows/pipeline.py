"""The pipeline's parts: a stage step, and the transition a step ends with."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from crc.events import EventKind
    from crc.progress import WaitingFor
    from crc.stages import Stage

from workflows.core import DeploymentCore


@dataclass(frozen=True)
class Transition:
    """How a stage ended: what the timeline says, and where to go if not to the next stage.

    A `stage_changed` message gets "; <next stage> next" added; other kinds speak for
    themselves. `status` replaces the next stage's usual one (a terminal stage's is the reason).
    """

    message: str
    kind: EventKind = EventKind.STAGE_CHANGED
    to: Stage | None = None
    status: str | None = None
    actor: str = "system"
    data: dict[str, Any] | None = None
    # The step's last activity wrote the move already (and the run has followed it).
    recorded: bool = False


@dataclass(frozen=True)
class StageStep:
    """One stage of the pipeline: how it reads on entry, and the coroutine that runs it."""

    stage: Stage
    status: str
    waiting_for: WaitingFor
    run: Callable[[DeploymentCore], Awaitable[Transition]]
    # The stage's first activity carries the move into it (DeploymentCore.act), so the move
    # takes no round trip of its own; a stage that waits first records it on entry.
    carries_entry: bool = False
