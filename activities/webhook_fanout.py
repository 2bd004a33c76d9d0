"""Which webhook messages one read-model write makes, and for which subscriptions: stored with
the write, once per (subscription, source event, type), for activities.webhooks to send."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.rows import insert_ignoring_duplicates
from crc import webhooks
from crc.roles import Role
from crc.stages import Stage
from crc.tables import Deployment, Task, User, WebhookDelivery, WebhookSubscription
from crc.webhooks import DeliveryStatus, WebhookEvent

if TYPE_CHECKING:
    from activities.outbox import Change


@dataclass(frozen=True)
class _Message:
    type: WebhookEvent
    key: str  # the source event's key, and the task's id for task events
    data: dict[str, Any]


async def _messages(session: AsyncSession, deployment: Deployment, change: "Change") -> list[_Message]:
    key, d = change.event.key, deployment
    messages: list[_Message] = []
    if change.previous_stage is not None and change.previous_stage != d.stage:
        moved = {"deployment_id": d.id, "stage": d.stage, "previous_stage": change.previous_stage}
        messages.append(_Message(WebhookEvent.STAGE_CHANGED, key, moved))
        if d.stage == Stage.COMPLETED:
            messages.append(_Message(WebhookEvent.DEPLOYMENT_COMPLETED, key, moved))
    task_ids = [*change.opened_task_ids, *([change.completed_task_id] if change.completed_task_id else [])]
    tasks = {}
    if task_ids:
        found = await session.exec(select(Task).where(col(Task.id).in_(task_ids)))
        tasks = {t.id: t for t in found}
    for task_id in sorted(change.opened_task_ids):
        if task := tasks.get(task_id):
            created = {"task_id": task.id, "kind": task.kind, "role": task.role, "title": task.title}
            messages.append(
                _Message(WebhookEvent.TASK_CREATED, f"{key}/{task.id}", {**created, "deployment_id": d.id})
            )
    if change.completed_task_id and (task := tasks.get(change.completed_task_id)):
        completed = {
            "task_id": task.id,
            "kind": task.kind,
            # A task decided before (a retried write) keeps its first decision.
            "outcome": task.outcome or change.completed_outcome,
            "completed_by": task.completed_by,
            "deployment_id": d.id,
        }
        messages.append(_Message(WebhookEvent.TASK_COMPLETED, f"{key}/{task.id}", completed))
    return messages


def _may_know(owner: User | None, deployment: Deployment) -> bool:
    """Need-to-know: an admin hears of every deployment, a requester of those they requested."""
    if owner is None or not owner.is_active:
        return False
    if Role.ADMIN in owner.roles:
        return True
    return Role.REQUESTER in owner.roles and deployment.requested_by == owner.username


async def enqueue_webhooks(session: AsyncSession, change: "Change") -> list[int]:
    """Store the webhook messages of this write for every subscriber who may know of it, and
    return the ids of those not yet delivered (a retried write inserts nothing new)."""
    deployment = await session.get(Deployment, change.deployment_id)
    if deployment is None:
        return []
    messages = await _messages(session, deployment, change)
    if not messages:
        return []
    subscriptions = list(
        (await session.exec(select(WebhookSubscription).where(col(WebhookSubscription.active)))).all()
    )
    if not subscriptions:
        return []
    owners = {
        u.username: u
        for u in await session.exec(
            select(User).where(col(User.username).in_({s.owner for s in subscriptions}))
        )
    }
    rows = [
        {
            "msg_id": webhooks.message_id(s.id, m.key, m.type),
            "subscription_id": s.id,
            "event_key": m.key,
            "type": m.type.value,
            "payload": webhooks.body(m.type, change.event.at, m.data),
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "created_at": change.event.at,
        }
        for s in sorted(subscriptions, key=lambda s: s.id)
        if _may_know(owners.get(s.owner), deployment)
        for m in messages
        if m.type in s.events
    ]
    if not rows:
        return []
    await insert_ignoring_duplicates(session, WebhookDelivery, rows, ["subscription_id", "event_key", "type"])
    stored = await session.exec(
        select(WebhookDelivery.id).where(
            col(WebhookDelivery.msg_id).in_([r["msg_id"] for r in rows]),
            col(WebhookDelivery.status) == DeliveryStatus.PENDING,
        )
    )
    return sorted(i for i in stored if i is not None)
