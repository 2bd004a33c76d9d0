"""EQUIPPING: reserve the post's kit without over-allocating; wait out shortages; member signs."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.equipping import EquippingActivities
    from crc.events import EventKind
    from crc.lifecycle import KitRequest
    from crc.policy import kit_for_threat
    from crc.progress import WaitingFor
    from crc.stages import Stage
    from crc.tasks import TaskKind
    from crc.threat import ThreatChange
    from crc.types import TaskView

from workflows.core import DeploymentCore, start_of_day
from workflows.pipeline import StageStep, Transition


async def run_equipping(wf: DeploymentCore) -> Transition:
    """Reserve kit, retrying with backoff while Logistics restocks, then get the member's receipt."""
    policy = wf.request.lifecycle
    delay = policy.restock_retry_seconds
    wf.state.compensations.append("kit")  # before reserving: returning kit never reserved is a no-op
    shortage: TaskView | None = None
    shortages = 0
    while True:
        result = await wf.act(
            EquippingActivities.reserve_kit,
            KitRequest(deployment_id=wf.request.deployment_id, post_code=wf.request.post_code),
        )
        if result.reserved:
            break
        if shortage is None:
            shortages += 1
            short = ", ".join(result.short)
            shortage = wf.new_task(
                f"kit/shortage/{shortages}",
                TaskKind.KIT_SHORTAGE,
                due_at=workflow.now() + timedelta(days=2),
                member=wf.request.member_name,
                post=wf.request.post_code,
                short=short,
            )
            waiting = (f"Waiting for kit: {short}", WaitingFor.KIT_STOCK)
            await wf.open_tasks(
                [shortage], f"Kit out of stock: {short}", kind=EventKind.KIT_SHORT, status=waiting
            )
            await wf.set_status(*waiting)
        # Retry when Logistics says it restocked, or after the backoff delay, whichever is first.
        answered = await wf.wait_answer([shortage], until=workflow.now() + timedelta(seconds=delay))
        if answered is not None:
            wf.handled(shortage)
            shortage = None
        delay = min(delay * 2, policy.restock_retry_max_seconds)
    if shortage is not None:
        await wf.withdraw_open_tasks("Kit reserved", tasks=[shortage])
    wf.state.equipping.kit_skus = [line.sku for line in result.lines]
    items = ", ".join(f"{line.quantity} x {line.name}" for line in result.lines)
    receipt = wf.new_task(
        "kit/receipt",
        TaskKind.KIT_RECEIPT,
        due_at=start_of_day(wf.request.start_date) - timedelta(days=1),
        items=items,
    )
    waiting = ("Waiting for the member to acknowledge the kit", WaitingFor.KIT_RECEIPT)
    await wf.open_tasks(
        [receipt], f"Kit reserved and issued: {items}", kind=EventKind.KIT_ISSUED, status=waiting
    )
    await wf.set_status(*waiting)
    await wf.answer(receipt)
    return Transition("Kit acknowledged")


# Kit already reserved at these stages: a higher threat's kit needs a task; before them, the
# reservation reads the post as it is then.
KIT_RESERVED_STAGES = frozenset({Stage.EQUIPPING, Stage.TRAVEL, Stage.DEPLOYED})
UPGRADE_DUE = timedelta(days=2)


def kit_after_threat_change(wf: DeploymentCore, change: ThreatChange) -> TaskView | None:
    """A Logistics task for the kit the new threat level needs beyond what was reserved (or
    already asked for after an earlier change); None if nothing more is needed."""
    reserved = set(wf.state.equipping.kit_skus)
    if not reserved or wf.state.stage not in KIT_RESERVED_STAGES:
        return None
    asked = {
        sku
        for t in wf.state.tasks.values()
        if t.kind == TaskKind.KIT_UPGRADE and t.status != "cancelled"
        for sku in t.context.get("skus", [])
    }
    needed = kit_for_threat(change.threat_level)
    missing = [sku for sku in sorted(needed) if sku not in reserved and sku not in asked]
    if not missing:
        return None
    return wf.new_task(
        f"threat/{change.key}/kit",
        TaskKind.KIT_UPGRADE,
        due_at=workflow.now() + UPGRADE_DUE,
        context={"skus": missing},
        items=", ".join(f"{needed[sku]} x {sku}" for sku in missing),
        member=wf.request.member_name,
        post=wf.request.post_code,
        threat=change.threat_level,
    )


STEP = StageStep(Stage.EQUIPPING, "Reserving kit", WaitingFor.WORKFLOW, run_equipping, carries_entry=True)
