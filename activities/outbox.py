"""What a read-model write tells people and programs: the notifications it stores with the write,
and the deliveries (emails, webhooks) a delivery workflow then sends with retries."""

import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.rows import insert_ignoring_duplicates
from activities.webhook_fanout import enqueue_webhooks
from crc.events import EventKind
from crc.live import publish
from crc.notifications import Delivery, NotificationKind, delivery_for
from crc.permissions import Actor, Parties, may_act_on, scope_value
from crc.readiness import is_call_up
from crc.roles import ROLE_LABELS, SCOPED_ROLES, Role
from crc.stages import Stage
from crc.tables import Deployment, Member, Notification, NotificationPreference, OutOfOffice, Task, User
from crc.tasks import TaskKind
from crc.types import EventRecord

DELIVERY_WORKFLOW = "DeliveryWorkflow"

# Tasks that tell Operations someone may be in trouble; needs help and no-show are urgent.
ALERT_TASKS = frozenset(
    {TaskKind.MISSED_CHECK_IN, TaskKind.NEEDS_HELP, TaskKind.NO_SHOW, TaskKind.DEPARTURE_ACCOUNTABILITY}
)
URGENT_TASKS = frozenset({TaskKind.NEEDS_HELP, TaskKind.NO_SHOW, TaskKind.DEPARTURE_ACCOUNTABILITY})
# The workflow's notices (NotifyRole.kind, an event kind) as notification kinds.
NOTICE_KINDS: dict[str, NotificationKind] = {
    EventKind.REMINDER: NotificationKind.REMINDER,
    EventKind.ESCALATED: NotificationKind.ESCALATION,
    EventKind.NEEDS_HELP: NotificationKind.ALERT,
}
# The roles column of a user who is a member and nothing else, as the JSON type writes it.
MEMBER_ONLY = json.dumps([Role.MEMBER.value])
DECISION_OUTCOMES = {"approve": "approved", "reject": "rejected", "request_changes": "asked for changes to"}


class Deliveries(BaseModel):
    """What one read-model write has to send: emails (notification ids) and webhook deliveries."""

    key: str  # the source event's key: one delivery workflow per write, however often retried
    emails: list[int] = []
    webhooks: list[int] = []
    # The first wait before a failed webhook delivery is tried again (the worker's setting).
    webhook_retry_seconds: float = 5.0

    def __bool__(self) -> bool:
        return bool(self.emails or self.webhooks)


@dataclass(frozen=True)
class Change:
    """What one read-model write did to a deployment (the activities fill in what applies)."""

    deployment_id: str
    event: EventRecord
    previous_stage: str | None = None  # set by a stage change
    opened_task_ids: Sequence[str] = ()
    completed_task_id: str | None = None
    completed_outcome: str | None = None
    # A reminder or an escalation (the workflow's NotifyRole): kind, message, role, task ids.
    notice: tuple[str, str, str, Sequence[str]] | None = None


@dataclass
class _Note:
    kind: NotificationKind
    subject: str
    link: str
    recipients: set[str]
    task_id: str | None = None
    urgent: bool = False
    suffix: str = ""


@dataclass(frozen=True)
class Person:
    """What telling a user takes: the columns of an active user that notifications read."""

    username: str
    roles: list[str]
    scopes: dict[str, list[str]]
    member_id: int | None
    email: str


@dataclass(frozen=True)
class Audience:
    """Whoever a change to one deployment on `day` may tell, and the out-of-office periods
    running then: read before a write begins, so the writer lock (SQLite's one lock) is not
    held while they load."""

    deployment_id: str
    day: date
    users: list[Person]
    away: list[OutOfOffice]


# The roles (as stored) of a member's own login, which is told only of its own deployments.
_MEMBER_ONLY = json.dumps([Role.MEMBER.value])


async def audience_on(session: AsyncSession, deployment_id: str, day: date) -> Audience | None:
    """The active users a change may tell: all but other members' own logins, of which there may
    be thousands (their columns, not ORM users); None when the deployment does not exist."""
    parties = (
        await session.exec(
            select(Deployment.member_id, Deployment.requested_by).where(Deployment.id == deployment_id)
        )
    ).first()
    if parties is None:
        return None
    member_id, requested_by = parties
    away = list(
        await session.exec(
            select(OutOfOffice).where(col(OutOfOffice.starts_on) <= day, col(OutOfOffice.ends_on) >= day)
        )
    )
    # The requester and whoever covers for someone away are read whatever their roles.
    named = {requested_by, *(a.delegate for a in away)}
    users = await (await session.connection()).execute(
        sa.select(col(User.username), col(User.roles), col(User.scopes), col(User.member_id), col(User.email))
        .where(col(User.is_active))
        .where(
            sa.or_(
                sa.cast(col(User.roles), sa.Text) != _MEMBER_ONLY,
                col(User.member_id) == member_id,
                col(User.username).in_(named),
            )
        )
    )
    return Audience(deployment_id, day, [Person(*row) for row in users], away)


@dataclass
class _World:
    deployment: Deployment
    member: Member | None
    users: list[Person]
    away: list[OutOfOffice]  # the out-of-office periods running on the day of the change
    parties: Parties = field(init=False)

    def __post_init__(self) -> None:
        d = self.deployment
        self.parties = Parties(d.requested_by, d.member_id, d.post_code, d.member_agency)

    @property
    def call_up(self) -> bool:
        d, member = self.deployment, self.member
        return member is not None and is_call_up(member.component, d.start_date, d.created_at.date())

    @property
    def about(self) -> str:
        name = self.member.name if self.member else f"member {self.deployment.member_id}"
        return f"{name} to {self.deployment.post_code}"

    def member_user(self) -> Person | None:
        return next((u for u in self.users if u.member_id == self.deployment.member_id), None)

    def role_holders(self, role: str, task: Task) -> set[str]:
        """Who holds `role` with the task in scope (the director of the task's office)."""
        return {
            u.username
            for u in self.users
            if role in u.roles
            and (
                role not in SCOPED_ROLES
                or Actor.of(u.username, u.roles, scopes=u.scopes).covers(
                    role, scope_value(role, task, self.parties)
                )
            )
        }

    def task_recipients(self, task: Task) -> set[str]:
        """Who may act on the task: its role in scope (the director once escalated), the member,
        or for a member without a login the office that acts on their behalf."""
        if task.role == Role.MEMBER:
            member = self.member_user()
            if member is not None:
                return {member.username}
        return {
            u.username
            for u in self.users
            if may_act_on(Actor.of(u.username, u.roles, u.member_id, u.scopes), task, self.parties) is None
        }

    def with_delegates(self, usernames: set[str], role: str) -> set[str]:
        """The users and, for those out of office who handed `role` over, their delegates (the
        inbox offers them the task too)."""
        return usernames | {a.delegate for a in self.away if a.username in usernames and role in a.roles}

    def parties_in_person(self) -> set[str]:
        """The requester and, with a login, the member."""
        member = self.member_user()
        return {self.deployment.requested_by} | ({member.username} if member else set())


async def _world(
    session: AsyncSession, deployment_id: str, day: date, audience: Audience | None
) -> _World | None:
    deployment = await session.get(Deployment, deployment_id)
    if deployment is None:
        return None
    member = await session.get(Member, deployment.member_id)
    if audience is None or (audience.deployment_id, audience.day) != (deployment_id, day):
        audience = await audience_on(session, deployment_id, day)  # none read beforehand
        assert audience is not None  # the deployment was just read
    return _World(deployment, member, audience.users, audience.away)


async def _tasks(session: AsyncSession, task_ids: Iterable[str]) -> list[Task]:
    ids = list(task_ids)
    if not ids:
        return []
    return list((await session.exec(select(Task).where(col(Task.id).in_(ids)).order_by(col(Task.id)))).all())


async def _notice_notes(
    session: AsyncSession, world: _World, notice: tuple[str, str, str, Sequence[str]], link: str
) -> list[_Note]:
    """A reminder goes to whoever may act on the task, an escalation to its office's director; a
    needs-help word goes to Operations only when no needs-help task told them already."""
    event_kind, message, role, task_ids = notice
    kind = NOTICE_KINDS.get(event_kind)
    tasks = await _tasks(session, task_ids)
    if kind is None or (kind == NotificationKind.ALERT and tasks):
        return []
    urgent = kind != NotificationKind.REMINDER
    if not tasks:  # a run from before alerts were tasks: the role's holders
        return [
            _Note(kind, message, link, {u.username for u in world.users if role in u.roles}, urgent=urgent)
        ]
    return [
        _Note(
            kind,
            message,
            link,
            world.with_delegates(
                world.task_recipients(task) if role == task.role else world.role_holders(role, task), role
            ),
            task_id=task.id,
            urgent=urgent,
            suffix=task.id,
        )
        for task in tasks
    ]


async def _notes(session: AsyncSession, world: _World, change: Change) -> list[_Note]:
    d = world.deployment
    link = f"/deployments/{d.id}"
    notes: list[_Note] = []
    for task in await _tasks(session, change.opened_task_ids):
        alert = task.kind in ALERT_TASKS
        notes.append(
            _Note(
                kind=NotificationKind.ALERT if alert else NotificationKind.TASK,
                subject=task.title if alert else f"New task: {task.title}",
                link=link,
                recipients=world.with_delegates(world.task_recipients(task), task.role),
                task_id=task.id,
                urgent=world.call_up or task.kind in URGENT_TASKS,
                suffix=task.id,
            )
        )
    if change.notice is not None:
        notes += await _notice_notes(session, world, change.notice, link)
    if change.completed_task_id and change.completed_outcome in DECISION_OUTCOMES:
        [task] = await _tasks(session, [change.completed_task_id])
        if task.kind == TaskKind.APPROVAL:
            verb = DECISION_OUTCOMES[change.completed_outcome]
            office = ROLE_LABELS[Role(task.role)]
            notes.append(
                _Note(
                    kind=NotificationKind.DECISION,
                    subject=f"{office} {verb} your request: {world.about}",
                    link=link,
                    recipients={d.requested_by},
                    task_id=task.id,
                )
            )
    if change.previous_stage is not None and change.previous_stage != d.stage:
        kind = {
            Stage.CANCELLED: NotificationKind.CANCELLATION,
            Stage.EXPIRED: NotificationKind.EXPIRY,
        }.get(Stage(d.stage), NotificationKind.STAGE_CHANGE)
        if d.stage != Stage.REJECTED:  # the decision that rejected it said so
            notes.append(
                _Note(
                    kind=kind,
                    subject=f"{world.about}: {change.previous_stage.title()} → {d.stage.title()}. {d.status}",
                    link=link,
                    recipients=world.parties_in_person(),
                    urgent=False,
                    suffix="stage",
                )
            )
    return notes


async def _preferences(session: AsyncSession, usernames: Iterable[str]) -> dict[str, dict[str, str]]:
    rows = await session.exec(
        select(NotificationPreference).where(col(NotificationPreference.username).in_(list(usernames)))
    )
    chosen: dict[str, dict[str, str]] = {}
    for row in rows:
        chosen.setdefault(row.username, {})[row.kind] = row.delivery
    return chosen


@dataclass(frozen=True)
class Told:
    """Who a change's notifications went to, and the ids of those still to email at once."""

    usernames: frozenset[str] = frozenset()
    emails: tuple[int, ...] = ()


async def notify(session: AsyncSession, change: Change, audience: Audience | None = None) -> Told:
    """Store this change's notifications, once per recipient (a retry inserts nothing new)."""
    world = await _world(session, change.deployment_id, change.event.at.date(), audience)
    if world is None:
        return Told()
    notes = await _notes(session, world, change)
    actor = change.event.actor
    rows = [
        {
            "key": f"{change.event.key}/{note.suffix}/{username}",
            "username": username,
            "kind": note.kind.value,
            "subject": note.subject[:300],
            "link": note.link,
            "deployment_id": change.deployment_id,
            "task_id": note.task_id,
            "urgent": note.urgent,
            "created_at": change.event.at,
        }
        for note in notes
        for username in sorted(note.recipients - {actor})  # nobody is told what they did themselves
    ]
    if not rows:
        return Told()
    await insert_ignoring_duplicates(session, Notification, rows, ["key"])
    emails = {u.username for u in world.users if u.email}
    chosen = await _preferences(session, {str(r["username"]) for r in rows})
    stored = await session.exec(
        select(Notification).where(
            col(Notification.key).in_([r["key"] for r in rows]), col(Notification.emailed_at).is_(None)
        )
    )
    to_email = sorted(
        n.id
        for n in stored
        if n.id is not None
        and n.username in emails
        and delivery_for(n.kind, chosen.get(n.username, {}), urgent=n.urgent) == Delivery.IMMEDIATE
    )
    return Told(frozenset(str(r["username"]) for r in rows), tuple(to_email))


async def fan_out(session: AsyncSession, change: Change, audience: Audience | None = None) -> Deliveries:
    """Everything one read-model write tells people and programs, written in its transaction
    (`audience`, read before it began, saves reading the users inside it)."""
    told = await notify(session, change, audience)
    # Open pages learn of it too (crc.live; web.live reads it in every web process).
    notice_tasks = change.notice[3] if change.notice else ()
    completed = [change.completed_task_id] if change.completed_task_id else []
    await publish(
        session,
        change.deployment_id,
        stage=change.previous_stage is not None,
        task_ids=[*change.opened_task_ids, *completed, *notice_tasks],
        usernames=told.usernames,
    )
    webhooks = await enqueue_webhooks(session, change)
    return Deliveries(key=change.event.key, emails=list(told.emails), webhooks=webhooks)


class Deliverer:
    """Starts the delivery workflow of a write once it committed (at most one per write)."""

    def __init__(self, client: Client, task_queue: str, *, webhook_retry_seconds: float = 5.0) -> None:
        self._client = client
        self._task_queue = task_queue
        self._webhook_retry_seconds = webhook_retry_seconds

    async def __call__(self, deliveries: Deliveries) -> None:
        if not deliveries:
            return
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self._client.start_workflow(
                DELIVERY_WORKFLOW,
                deliveries.model_copy(update={"webhook_retry_seconds": self._webhook_retry_seconds}),
                id=f"deliver/{deliveries.key}",
                task_queue=self._task_queue,
                # A retried write finds its delivery started (or done) and starts nothing new.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
