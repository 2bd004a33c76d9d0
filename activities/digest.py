"""The daily digest: one email to each user who chose it for some kind, listing the open tasks
they may act on (the overdue ones marked) and their digest notifications since the last one."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from crc import mail
from crc.db import commit_unless_duplicate, session_factory
from crc.notifications import Delivery, delivery_for
from crc.permissions import Actor, Parties, may_act_on
from crc.settings import Settings
from crc.tables import Deployment, DigestSent, Notification, NotificationPreference, Task, User, utcnow

MAX_ITEMS = 200  # tasks, and notifications, listed in one email at most


class DigestRun(BaseModel):
    """The digest of one UTC day."""

    day: date


class DigestResult(BaseModel):
    """Who was emailed a digest by this run (not those emailed by an earlier attempt)."""

    sent: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class DigestTask:
    """A task as the digest lists it."""

    title: str
    link: str
    due: str
    overdue: bool


@dataclass(frozen=True)
class DigestNote:
    """A notification as the digest lists it."""

    subject: str
    link: str
    when: str


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%d %b %Y %H:%M UTC")


class DigestActivities:
    """The digest, owned by one database engine and the SMTP settings."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self._settings = settings

    async def _subscribers(self, session: AsyncSession, day: date) -> list[tuple[User, dict[str, str]]]:
        """Active users with an email who chose the digest for some kind and have none for `day` yet."""
        chosen: dict[str, dict[str, str]] = {}
        for pref in (await session.exec(select(NotificationPreference))).all():
            chosen.setdefault(pref.username, {})[pref.kind] = pref.delivery
        wanting = [name for name, kinds in chosen.items() if Delivery.DIGEST in kinds.values()]
        done = select(DigestSent.username).where(DigestSent.day == day)
        users = await session.exec(
            select(User)
            .where(col(User.username).in_(wanting), col(User.is_active), col(User.username).not_in(done))
            .order_by(col(User.username))
        )
        return [(user, chosen[user.username]) for user in users.all() if user.email]

    async def _notes(self, session: AsyncSession, user: User, chosen: dict[str, str]) -> list[Notification]:
        """The user's notifications that wait for a digest: not emailed, of a kind they digest."""
        waiting = await session.exec(
            select(Notification)
            .where(Notification.username == user.username, col(Notification.emailed_at).is_(None))
            .order_by(col(Notification.created_at), col(Notification.id))
        )
        return [n for n in waiting.all() if delivery_for(n.kind, chosen, urgent=n.urgent) == Delivery.DIGEST][
            :MAX_ITEMS
        ]

    @activity.defn(name="send_digests")
    async def send_digests(self, run: DigestRun) -> DigestResult:
        """Email each subscriber their digest for the day, once: a retry skips those already sent."""
        now = utcnow()
        async with self._sessions() as session:
            subscribers = await self._subscribers(session, run.day)
            open_tasks = (
                await session.exec(
                    select(Task, Deployment)
                    .join(Deployment, col(Deployment.id) == col(Task.deployment_id))
                    .where(Task.status == "open")
                    .order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.created_at))
                )
            ).all()
            waiting = {
                user.username: await self._notes(session, user, chosen) for user, chosen in subscribers
            }
        result = DigestResult()
        for user, _chosen in subscribers:
            actor = Actor.of(user.username, user.roles, user.member_id, user.scopes)
            # The inbox's rule: the open tasks the user may act on.
            tasks = [
                DigestTask(
                    title=task.title,
                    link=f"/deployments/{deployment.id}",
                    due=_stamp(task.due_at) if task.due_at else "",
                    overdue=task.due_at is not None and task.due_at < now,
                )
                for task, deployment in open_tasks
                if may_act_on(actor, task, _parties(deployment)) is None
            ][:MAX_ITEMS]
            notes = waiting[user.username]
            if not tasks and not notes:
                continue  # nothing to say: no email
            overdue = sum(t.overdue for t in tasks)
            message = mail.compose(
                self._settings,
                to=user.email,
                subject=_subject(len(tasks), overdue, len(notes)),
                template="digest",
                message_id=f"digest-{run.day.isoformat()}-{user.username}",
                name=user.full_name or user.username,
                day=run.day.strftime("%A %d %B %Y"),
                tasks=tasks,
                overdue=overdue,
                notes=[DigestNote(n.subject, n.link, _stamp(n.created_at)) for n in notes],
            )
            # smtplib blocks: keep it off the worker's event loop.
            await asyncio.to_thread(mail.send, self._settings, message)
            # Recorded right after the send: a retry of this run skips the user. (A crash between
            # the two sends it again, with the same Message-ID.)
            async with self._sessions() as session:
                session.add(
                    DigestSent(
                        username=user.username,
                        day=run.day,
                        sent_at=utcnow(),
                        tasks=len(tasks),
                        notifications=len(notes),
                    )
                )
                if notes:
                    digested = sa.update(Notification).where(col(Notification.id).in_([n.id for n in notes]))
                    await session.exec(digested.values(emailed_at=utcnow()))
                if await commit_unless_duplicate(session):
                    result.sent.append(user.username)
        return result


def _parties(deployment: Deployment) -> Parties:
    return Parties(
        deployment.requested_by, deployment.member_id, deployment.post_code, deployment.member_agency
    )


def _subject(tasks: int, overdue: int, notes: int) -> str:
    parts = [f"{tasks} open task{'' if tasks == 1 else 's'}"]
    if overdue:
        parts[0] += f" ({overdue} overdue)"
    if notes:
        parts.append(f"{notes} notification{'' if notes == 1 else 's'}")
    return "Your daily digest: " + ", ".join(parts)
