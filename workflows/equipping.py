"""EQUIPPING: reserve the post's kit without over-allocating; wait out shortages; member signs."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from crc.lifecycle import KitRequest, KitResult
    from crc.stages import Stage
    from crc.types import TaskView

from workflows.core import DeploymentCore, start_of_day

RESTOCKED = "restocked"
ACKNOWLEDGE = "acknowledge"


async def run_equipping(wf: DeploymentCore) -> None:
    """Reserve kit, retrying with backoff while Logistics restocks, then get the member's receipt."""
    policy = wf.request.lifecycle
    delay = policy.restock_retry_seconds
    wf.compensations.append("kit")  # before reserving: returning kit never reserved is a no-op
    shortage: TaskView | None = None
    shortages = 0
    while True:
        result = await wf.act(
            "reserve_kit",
            KitRequest(deployment_id=wf.request.deployment_id, post_code=wf.request.post_code),
            KitResult,
        )
        if result.reserved:
            break
        if shortage is None:
            shortages += 1
            shortage = wf.new_task(
                f"kit/shortage/{shortages}",
                kind="kit_shortage",
                role="logistics",
                title=f"Out of stock for {wf.request.member_name} ({wf.request.post_code}): "
                + ", ".join(result.short),
                outcomes=[RESTOCKED],
                due_at=workflow.now() + timedelta(days=2),
            )
            await wf.open_tasks([shortage], "Kit out of stock: " + ", ".join(result.short), kind="kit_short")
            await wf.set_status("Waiting for kit: " + ", ".join(result.short))
        # Retry when Logistics says it restocked, or after the backoff delay, whichever is first.
        answered = await wf.wait_answer([shortage], until=workflow.now() + timedelta(seconds=delay))
        if answered is not None:
            wf.acted.add(shortage.id)
            shortage = None
        delay = min(delay * 2, policy.restock_retry_max_seconds)
    if shortage is not None:
        await wf.withdraw_open_tasks("Kit reserved", tasks=[shortage])
    wf.kit_skus = [line.sku for line in result.lines]
    items = ", ".join(f"{line.quantity} x {line.name}" for line in result.lines)
    receipt = wf.new_task(
        "kit/receipt",
        kind="kit_receipt",
        role="member",
        title=f"Acknowledge receipt of your kit: {items}",
        outcomes=[ACKNOWLEDGE],
        due_at=start_of_day(wf.request.start_date) - timedelta(days=1),
    )
    await wf.open_tasks([receipt], f"Kit reserved and issued: {items}", kind="kit_issued")
    await wf.set_status("Waiting for the member to acknowledge the kit")
    answered = await wf.wait_answer([receipt])
    assert answered is not None  # no deadline: only an answer or a cancellation ends the wait
    await wf.record_stage(
        Stage.TRAVEL,
        "Requesting country clearance",
        wf.event("stage_changed", "Kit acknowledged; travel next"),
    )
    wf.acted.add(receipt.id)
