"""A post's threat level changed: what a deployment there now needs, each need a task for the
office that meets it, and the cost estimate with the new danger pay; one timeline event."""

from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.read_model import ReadModelActivities
    from crc.events import EventKind
    from crc.roles import ROLE_LABELS
    from crc.stages import Stage
    from crc.threat import ThreatChange
    from crc.types import CostRequest, TaskView

from workflows.core import DeploymentCore
from workflows.equipping import kit_after_threat_change
from workflows.training import training_after_threat_change
from workflows.vetting import clearance_after_threat_change

# Stages whose deployment still depends on the post's rules (before them nothing is decided yet;
# after them the member is on the way home).
AFFECTED_STAGES = frozenset(
    {Stage.APPROVAL, Stage.VETTING, Stage.TRAINING, Stage.EQUIPPING, Stage.TRAVEL, Stage.DEPLOYED}
)


async def _reprice(wf: DeploymentCore) -> Decimal:
    """The cost estimate again, with the post's danger pay as it now is (stored on the deployment)."""
    r = wf.request
    estimate = await wf.act(
        ReadModelActivities.estimate_cost,
        CostRequest(
            deployment_id=r.deployment_id,
            member_id=r.member_id,
            post_code=r.post_code,
            duration_days=(wf.state.end_date - r.start_date).days + 1,
        ),
    )
    wf.state.cost = estimate.total_usd
    return estimate.total_usd


async def reevaluate(wf: DeploymentCore, change: ThreatChange) -> None:
    """Re-evaluate kit, training, clearance and danger pay where each was decided; open a task
    for each new need, and say in one event what changed and what it asks."""
    if wf.state.stage not in AFFECTED_STAGES:
        return
    said = [
        f"Threat level at {change.post_code} changed from {change.previous} to {change.threat_level} "
        f"by {change.changed_by_name}: {change.reason}"
    ]
    if change.danger_pay_changed and wf.state.cost is not None:
        said.append(f"cost estimate now ${await _reprice(wf):,.2f}")
    tasks: list[TaskView] = []
    for need in (
        kit_after_threat_change(wf, change),
        await training_after_threat_change(wf, change),
        await clearance_after_threat_change(wf, change),
    ):
        if need is not None:
            tasks.append(need)
            said.append(f"{ROLE_LABELS[need.role]}: {need.title}")
    message = "; ".join(said)
    if tasks:
        await wf.open_tasks(tasks, message, kind=EventKind.THREAT_CHANGED, actor=change.changed_by)
    else:
        await wf.log(EventKind.THREAT_CHANGED, message, actor=change.changed_by)
