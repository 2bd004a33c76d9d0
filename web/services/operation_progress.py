"""An operation's progress at a glance: its places filled, its deployments by stage, and how long
places took to fill (from the plan's line to the request), from the board's own data."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from crc.operations import UNFILLED_STAGES
from crc.stages import LIFECYCLE, Stage
from web.services.operations import OperationPublic

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Progress:
    """Places filled of the planned, deployments per stage (pipeline order), and days to fill."""

    filled: int
    places: int
    by_stage: list[tuple[str, int]]
    days_to_fill: float | None  # the median over the filled places; None while none is
    longest_open_days: float | None  # the oldest line with a place still open, None if none


# The lifecycle's order, then the ends other than completion.
STAGE_ORDER = (*LIFECYCLE, *(s for s in Stage if s not in LIFECYCLE))


def progress(operation: OperationPublic, now: datetime) -> Progress:
    """The operation's progress as of `now`."""
    positions = [p for p in operation.positions if not p.cut]
    stages = Counter(d.stage for p in positions for d in p.deployments)
    waits = [
        (d.requested_at - p.planned_at).total_seconds() / SECONDS_PER_DAY
        for p in positions
        for d in p.deployments
        if d.stage not in UNFILLED_STAGES
    ]
    open_since = [p.planned_at for p in positions if p.open_places]
    return Progress(
        filled=sum(min(p.filled, p.count) for p in positions),
        places=sum(p.count for p in positions),
        by_stage=[(stage.value, stages[stage.value]) for stage in STAGE_ORDER if stages[stage.value]],
        days_to_fill=round(median(waits), 1) if waits else None,
        longest_open_days=(
            round((now - min(open_since)).total_seconds() / SECONDS_PER_DAY, 1) if open_since else None
        ),
    )
