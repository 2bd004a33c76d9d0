"""The inbox page's queries: open tasks with their deployment, in views, filtered, sorted and
paged; claims; the facts beside a decision."""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.db import commit_unless_duplicate
from crc.lifecycle_tables import KitReservation
from crc.permissions import Actor, may_act_on
from crc.roles import Role
from crc.settings import Settings
from crc.tables import Deployment, Event, Member, Post, Task, TaskClaim, User
from crc.tasks import TaskKind
from web.services.access import parties_of
from web.services.claims import claim_expiry, live_claim, may_take_over_from, refuse_if_held
from web.services.errors import Conflict
from web.services.out_of_office import Cover, covers_for
from web.services.people import full_names
from web.services.tasks import list_open_tasks, open_task_for

SORTS = ("due", "age")
# "All my offices" is the default view; the others narrow it (their counts show on the page).
VIEWS = ("all", "mine", "unclaimed", "overdue")
PAGE_SIZE = 50
HISTORY_SHOWN = 8


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox shows, as the URL's query says it."""

    view: str = "all"
    kind: str = ""
    stage: str = ""
    post: str = ""
    q: str = ""
    sort: str = "due"
    page: int = 1

    def query(self) -> dict[str, str]:
        """The filters as query parameters (only those set)."""
        params = {"kind": self.kind, "stage": self.stage, "post": self.post, "q": self.q}
        found = {k: v for k, v in params.items() if v}
        if self.view != "all":
            found = {"view": self.view, **found}
        if self.sort != "due":
            found["sort"] = self.sort
        if self.page > 1:
            found["page"] = str(self.page)
        return found

    def url(self, **changes: str | int) -> str:
        """The inbox URL of these filters with some changed (a new view or filter starts at page 1)."""
        changed = replace(self, **{"page": 1, **changes})  # type: ignore[arg-type]
        query = urlencode(changed.query())
        return f"/inbox?{query}" if query else "/inbox"


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
    # Why the task is offered to this user when it is not plainly theirs: a member's task done on
    # the member's behalf, or a task of a colleague who is out of office.
    why: str = ""
    # Claimed by someone out of office whose delegate the user is: the user's to act on.
    for_absent: bool = False

    def urgency(self, now: datetime) -> str:
        """'overdue', 'due-soon' or ''."""
        return urgency(self.task, now)

    def held(self, now: datetime) -> bool:
        """The workflow holds a decision on the task in its undo window."""
        until = self.task.held_until
        return self.task.held_by is not None and until is not None and until > now

    def mine(self, user: User) -> bool:
        """Claimed by the user, or by someone out of office they stand in for (a claim that holds)."""
        return self.claim is not None and (self.claim.username == user.username or self.for_absent)

    def bulk_approvable(self, user: User) -> bool:
        """An approval the user may approve in bulk: not held by someone else, open now."""
        held_by_other = self.claim is not None and not self.mine(user) and not self.may_take_over
        return self.task.kind == TaskKind.APPROVAL and "approve" in self.task.outcomes and not held_by_other


def urgency(task: Task, now: datetime) -> str:
    """'overdue' past the due time; 'due-soon' in the last quarter of the time between the task's
    creation and its due time (an urgent task is not "due soon" from its first minute); else ''."""
    due = task.due_at
    if due is None:
        return ""
    if due < now:
        return "overdue"
    return "due-soon" if (due - now) * 4 <= due - task.created_at else ""


@dataclass(frozen=True)
class ViewCounts:
    """How many open tasks each view holds."""

    all: int = 0
    mine: int = 0
    unclaimed: int = 0
    overdue: int = 0

    def of(self, view: str) -> int:
        """The count of a view by its name."""
        return int(getattr(self, view))


@dataclass(frozen=True)
class Inbox:
    """One page of rows, how many match, the views' counts, and the choices the filters offer
    (from all the user's open tasks)."""

    rows: list[InboxRow]
    total: int
    matched: int
    page: int
    pages: int
    counts: ViewCounts
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
    away = await _Away.of(session, user, now)
    rows = []
    for t in tasks:
        d = deployments[t.deployment_id]
        claim = claims.get(t.id)
        for_absent = claim is not None and claim.username in away.absent
        rows.append(
            InboxRow(
                task=t,
                deployment=d,
                member=members.get(d.member_id),
                post=posts.get(d.post_code),
                claim=claim,
                may_take_over=for_absent or may_take_over_from(user, t, d),
                kit_skus=kit.get(d.id, []) if t.kind == TaskKind.KIT_RETURN else [],
                why=_on_behalf_label(t, d, members.get(d.member_id), user) or away.reason(t, d, claim),
                for_absent=for_absent,
            )
        )
    return rows


@dataclass(frozen=True)
class _Away:
    """The absent users the viewer stands in for today, and the viewer as they are without them."""

    covers: list[Cover]
    own: Actor

    @classmethod
    async def of(cls, session: AsyncSession, user: User, now: datetime) -> "_Away":
        covers = await covers_for(session, user.username, now.date())
        scopes: Mapping[str, list[str]] = user.scopes
        if covers:  # the stored scopes, not those the delegation widened
            stored = await session.exec(select(User.scopes).where(User.username == user.username))
            scopes = stored.first() or {}
        return cls(covers, Actor.of(user.username, user.roles, user.member_id, scopes))

    @property
    def absent(self) -> set[str]:
        return {c.absent for c in self.covers}

    def reason(self, task: Task, deployment: Deployment, claim: TaskClaim | None) -> str:
        """Why a task is offered to the viewer through an absent user's delegation, or ""."""
        parties = parties_of(deployment)
        own_reach = may_act_on(self.own, task, parties) is None
        for cover in self.covers:
            theirs = Actor.of(cover.absent, cover.roles, None, cover.scopes)
            claimed = claim is not None and claim.username == cover.absent
            if claimed or (not own_reach and may_act_on(theirs, task, parties) is None):
                return cover.reason
        return ""


def _on_behalf_label(task: Task, deployment: Deployment, member: Member | None, user: User) -> str:
    """ "On behalf of Maria Delgado" on a member's task offered to their coordinator office."""
    if task.role != Role.MEMBER or (user.member_id is not None and user.member_id == deployment.member_id):
        return ""
    return f"On behalf of {member.name if member else f'member {deployment.member_id}'}"


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


def _in_view(row: InboxRow, view: str, *, user: User, now: datetime) -> bool:
    if view == "mine":
        return row.mine(user)
    if view == "unclaimed":
        return row.claim is None
    if view == "overdue":
        return row.task.due_at is not None and row.task.due_at < now
    return True


def _counts(rows: list[InboxRow], *, user: User, now: datetime) -> ViewCounts:
    def n(view: str) -> int:
        return sum(1 for r in rows if _in_view(r, view, user=user, now=now))

    return ViewCounts(all=len(rows), mine=n("mine"), unclaimed=n("unclaimed"), overdue=n("overdue"))


async def view_counts(session: AsyncSession, *, user: User, now: datetime) -> ViewCounts:
    """The views' counts alone (for the counts an action swaps in)."""
    tasks = await list_open_tasks(session, user=user)
    task_ids = [t.id for t in tasks]
    claims = (await session.exec(select(TaskClaim).where(col(TaskClaim.task_id).in_(task_ids)))).all()
    held = {c.task_id: c.username for c in claims if c.expires_at > now}
    mine = {user.username} | {c.absent for c in await covers_for(session, user.username, now.date())}
    return ViewCounts(
        all=len(tasks),
        mine=sum(1 for t in tasks if held.get(t.id) in mine),
        unclaimed=sum(1 for t in tasks if t.id not in held),
        overdue=sum(1 for t in tasks if t.due_at is not None and t.due_at < now),
    )


async def load_inbox(session: AsyncSession, *, user: User, filters: InboxFilters, now: datetime) -> Inbox:
    """One page of the user's open tasks (at most a few hundred, by role) in the view, filtered and
    sorted, with every view's count."""
    everything = await _rows(session, await list_open_tasks(session, user=user), user=user, now=now)
    rows = [
        r
        for r in everything
        if _in_view(r, filters.view, user=user, now=now)
        and (not filters.kind or r.task.kind == filters.kind)
        and _matches(r, filters)
    ]
    if filters.sort == "age":
        rows.sort(key=lambda r: r.task.created_at)  # oldest first: the longest waiting
    else:
        rows.sort(key=_sort_key_due)
    pages = max((len(rows) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(filters.page, 1), pages)
    return Inbox(
        rows=rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        total=len(everything),
        matched=len(rows),
        page=page,
        pages=pages,
        counts=_counts(everything, user=user, now=now),
        kinds=sorted({r.task.kind for r in everything}),
        stages=sorted({r.task.stage for r in everything}),
        posts=sorted({r.deployment.post_code for r in everything}),
    )


async def rows_to_decide(
    session: AsyncSession, *, user: User, deployment_id: str, now: datetime
) -> list[InboxRow]:
    """The deployment's open tasks the user may decide, as inbox rows (for the deployment page)."""
    tasks = await list_open_tasks(session, user=user, deployment_id=deployment_id)
    return await _rows(session, tasks, user=user, now=now)


@dataclass(frozen=True)
class Facts:
    """What an approver reads before deciding: the vetting findings and the recent history."""

    findings: list[Task]
    history: list[Event]
    people: dict[str, str]  # the names behind the history's usernames (web.services.people)


async def facts_of(session: AsyncSession, deployment_id: str) -> Facts:
    """The deployment's vetting findings (its vetting reviews) and its latest events, newest first."""
    findings = await session.exec(
        select(Task)
        .where(Task.deployment_id == deployment_id, Task.kind == TaskKind.VETTING_REVIEW)
        .order_by(col(Task.created_at))
    )
    history = await session.exec(
        select(Event)
        .where(Event.deployment_id == deployment_id)
        .order_by(col(Event.occurred_at).desc(), col(Event.id).desc())
        .limit(HISTORY_SHOWN)
    )
    events = list(history.all())
    return Facts(
        findings=list(findings.all()),
        history=events,
        people=await full_names(session, (e.actor for e in events)),
    )


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
