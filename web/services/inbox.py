"""The inbox page's queries: open tasks with their deployment, filtered and sorted; claims."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.db import commit_unless_duplicate
from crc.lifecycle_tables import KitReservation
from crc.settings import Settings
from crc.tables import Deployment, Member, Post, Task, TaskClaim, User
from crc.tasks import TaskKind
from web.services.claims import claim_expiry, live_claim, may_take_over_from, refuse_if_held
from web.services.errors import Conflict
from web.services.tasks import list_open_tasks, open_task_for

DUE_SOON = timedelta(hours=24)
SORTS = ("due", "age")


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox shows, as the URL's query says it."""

    kind: str = ""
    stage: str = ""
    post: str = ""
    overdue: bool = False
    q: str = ""
    sort: str = "due"

    def query(self) -> dict[str, str]:
        """The filters as query parameters (only those set)."""
        params = {"kind": self.kind, "stage": self.stage, "post": self.post, "q": self.q}
        found = {k: v for k, v in params.items() if v}
        if self.overdue:
            found["overdue"] = "1"
        if self.sort != "due":
            found["sort"] = self.sort
        return found


@dataclass
class InboxRow:
    """One open task and what its row shows."""

    task: Task
    deployment: Deployment
    member: Member | None
    post: Post | None
    claim: TaskClaim | None = None  # only a claim that still holds
    # The user is a director of the task's office, so someone else's claim does not stop them.
    may_take_over: bool = False
    kit_skus: list[str] = field(default_factory=list)

    def urgency(self, now: datetime) -> str:
        """'overdue', 'due-soon' or ''."""
        due = self.task.due_at
        if due is None:
            return ""
        if due < now:
            return "overdue"
        return "due-soon" if due - now < DUE_SOON else ""


@dataclass(frozen=True)
class Inbox:
    """The rows shown, and the choices the filters offer (from all the user's open tasks)."""

    rows: list[InboxRow]
    total: int
    kinds: list[str]
    stages: list[str]
    posts: list[str]


async def _rows(session: AsyncSession, tasks: list[Task], *, user: User, now: datetime) -> list[InboxRow]:
    deployment_ids = {t.deployment_id for t in tasks}
    deployments = {
        d.id: d
        for d in (await session.exec(select(Deployment).where(col(Deployment.id).in_(deployment_ids)))).all()
    }
    member_ids = {d.member_id for d in deployments.values()}
    post_codes = {d.post_code for d in deployments.values()}
    members = {
        m.id: m for m in (await session.exec(select(Member).where(col(Member.id).in_(member_ids)))).all()
    }
    posts = {
        p.code: p for p in (await session.exec(select(Post).where(col(Post.code).in_(post_codes)))).all()
    }
    task_ids = [t.id for t in tasks]
    claims = {
        c.task_id: c
        for c in (await session.exec(select(TaskClaim).where(col(TaskClaim.task_id).in_(task_ids)))).all()
        if c.expires_at > now
    }
    kit_ids = {t.deployment_id for t in tasks if t.kind == TaskKind.KIT_RETURN}
    kit: dict[str, list[str]] = {}
    if kit_ids:
        query = (
            select(KitReservation)
            .where(col(KitReservation.deployment_id).in_(kit_ids))
            .order_by(col(KitReservation.sku))
        )
        for r in (await session.exec(query)).all():
            kit.setdefault(r.deployment_id, []).append(r.sku)
    rows = []
    for t in tasks:
        d = deployments[t.deployment_id]
        rows.append(
            InboxRow(
                task=t,
                deployment=d,
                member=members.get(d.member_id),
                post=posts.get(d.post_code),
                claim=claims.get(t.id),
                may_take_over=may_take_over_from(user, t, d),
                kit_skus=kit.get(d.id, []) if t.kind == TaskKind.KIT_RETURN else [],
            )
        )
    return rows


def _matches(row: InboxRow, filters: InboxFilters) -> bool:
    if filters.stage and row.task.stage != filters.stage:
        return False
    if filters.post and row.deployment.post_code != filters.post:
        return False
    if filters.q:
        needle = filters.q.casefold()
        haystack = " ".join(
            [
                row.member.name if row.member else "",
                row.deployment.post_code,
                row.post.country if row.post else "",
                row.post.city if row.post else "",
                row.task.title,
            ]
        ).casefold()
        return needle in haystack
    return True


def _sort_key_due(row: InboxRow) -> tuple[bool, datetime, datetime]:
    far = datetime.max.replace(tzinfo=UTC)
    return (row.task.due_at is None, row.task.due_at or far, row.task.created_at)


async def load_inbox(session: AsyncSession, *, user: User, filters: InboxFilters, now: datetime) -> Inbox:
    """The user's open tasks (at most a few hundred, by role), filtered and sorted for the page."""
    tasks = await list_open_tasks(
        session, user=user, kind=filters.kind or None, overdue=filters.overdue, now=now
    )
    everything = await list_open_tasks(session, user=user) if (filters.kind or filters.overdue) else tasks
    rows = [r for r in await _rows(session, tasks, user=user, now=now) if _matches(r, filters)]
    if filters.sort == "age":
        rows.sort(key=lambda r: r.task.created_at)  # oldest first: the longest waiting
    else:
        rows.sort(key=_sort_key_due)
    return Inbox(
        rows=rows,
        total=len(everything),
        kinds=sorted({t.kind for t in everything}),
        stages=sorted({t.stage for t in everything}),
        posts=sorted({d.post_code for d in await _deployments_of(session, everything)}),
    )


async def _deployments_of(session: AsyncSession, tasks: list[Task]) -> list[Deployment]:
    ids = {t.deployment_id for t in tasks}
    if not ids:
        return []
    return list((await session.exec(select(Deployment).where(col(Deployment.id).in_(ids)))).all())


async def inbox_row(session: AsyncSession, task: Task, *, user: User, now: datetime) -> InboxRow:
    """The row of one task (for the row an action swaps in)."""
    return (await _rows(session, [task], user=user, now=now))[0]


async def claim_task(
    session: AsyncSession, *, user: User, task_id: str, now: datetime, settings: Settings
) -> TaskClaim:
    """Take the task so others of the office leave it until the claim lapses (else 409)."""
    # Only those who may decide it may claim it; a director of its office takes it from whoever
    # holds it.
    task, deployment = await open_task_for(session, user=user, task_id=task_id)
    await refuse_if_held(session, user=user, task=task, deployment=deployment, now=now)
    held = await session.get(TaskClaim, task_id, populate_existing=True)
    if held is not None and held.username == user.username and held.expires_at > now:
        return held  # claiming again does not lengthen the term
    claim = TaskClaim(
        task_id=task_id, username=user.username, claimed_at=now, expires_at=claim_expiry(settings, task, now)
    )
    if held is None:
        session.add(claim)
    else:
        # Replace the claim we read (lapsed, or taken over), and only that one: a rival who
        # replaced it meanwhile keeps theirs.
        replaced = await session.exec(
            sa.update(TaskClaim)
            .where(
                col(TaskClaim.task_id) == task_id,
                col(TaskClaim.username) == held.username,
                col(TaskClaim.claimed_at) == held.claimed_at,
            )
            .values(username=claim.username, claimed_at=claim.claimed_at, expires_at=claim.expires_at)
        )
        if replaced.rowcount == 0:
            await session.rollback()
            return await _after_race(session, user=user, task_id=task_id, now=now)
    if not await commit_unless_duplicate(session):
        return await _after_race(session, user=user, task_id=task_id, now=now)
    return claim


async def _after_race(session: AsyncSession, *, user: User, task_id: str, now: datetime) -> TaskClaim:
    """The claim of whoever won a race to claim the task: the user's own, else 409 naming them."""
    winner = await live_claim(session, task_id, now)
    if winner is not None and winner.username == user.username:
        return winner
    raise Conflict(f"{winner.username if winner else 'someone'} claimed this task just now")


async def unclaim_task(session: AsyncSession, *, user: User, task_id: str, now: datetime) -> None:
    """Let go of the task; only its holder may (a lapsed claim holds nothing to let go of)."""
    await open_task_for(session, user=user, task_id=task_id)
    held = await live_claim(session, task_id, now)
    if held is None:
        return
    if held.username != user.username:
        raise Conflict(f"{held.username} holds this task; only they can let it go")
    await session.exec(sa.delete(TaskClaim).where(col(TaskClaim.task_id) == task_id))
    await session.commit()
