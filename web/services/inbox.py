"""The inbox page's queries: open tasks with their deployment, in views, filtered, sorted and
paged; claims; the facts beside a decision."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlmodel import and_, col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.db import commit_unless_duplicate
from crc.fund_reads import BudgetStanding
from crc.lifecycle_tables import KitReservation
from crc.permissions import Actor, may_act_on
from crc.roles import Role
from crc.settings import Settings
from crc.tables import Deployment, Event, Member, Post, Task, TaskClaim, User
from crc.tasks import TaskKind
from web.services import task_list
from web.services.access import parties_of
from web.services.claims import claim_expiry, live_claim, may_take_over_from, refuse_if_held
from web.services.errors import Conflict, FieldError, InvalidFields
from web.services.funds import budgets_of
from web.services.out_of_office import Cover, covers_for
from web.services.people import full_names
from web.services.task_list import TaskCursor
from web.services.tasks import fetch, open_task_for, open_tasks_query

SORTS = task_list.SORTS
# "All my offices" is the default view; the others narrow it (their counts show on the page).
VIEWS = ("all", "mine", "unclaimed", "overdue")
# A page of rows, each with its decision form: as many as the deployments list shows (50 rows
# made the page 173 KB and its rendering most of its cost).
PAGE_SIZE = 25
HISTORY_SHOWN = 8


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox shows, as the URL's query says it (with the page: a keyset cursor)."""

    view: str = "all"
    kind: str = ""
    stage: str = ""
    post: str = ""
    q: str = ""
    sort: str = "due"
    after: str = ""
    before: str = ""

    def query(self) -> dict[str, str]:
        """The filters as query parameters (only those set)."""
        params = {"kind": self.kind, "stage": self.stage, "post": self.post, "q": self.q}
        found = {k: v for k, v in params.items() if v}
        if self.view != "all":
            found = {"view": self.view, **found}
        if self.sort != "due":
            found["sort"] = self.sort
        if self.after:
            found["after"] = self.after
        elif self.before:
            found["before"] = self.before
        return found

    def url(self, **changes: str) -> str:
        """The inbox URL of these filters with some changed (a new view or filter starts at the
        first page)."""
        changed = replace(self, **{"after": "", "before": "", **changes})
        query = urlencode(changed.query())
        return f"/inbox?{query}" if query else "/inbox"

    def filtered(self) -> bool:
        """Narrowed by more than the view."""
        return bool(self.kind or self.stage or self.post or self.q)


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
    # A budget approval's fund and what it has left (the approval obligates the estimate).
    budget: BudgetStanding | None = None

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
    """One page of rows, how many match, the views' counts, the choices the filters offer (kinds
    and stages of all the user's open tasks; every post), and where the neighbouring pages start."""

    rows: list[InboxRow]
    total: int
    matched: int
    counts: ViewCounts
    kinds: list[str]
    stages: list[str]
    posts: list[str]
    next_cursor: str | None = None
    prev_cursor: str | None = None


async def _rows(
    session: AsyncSession,
    found: Sequence[tuple[Task, Deployment]],
    *,
    user: User,
    away: "_Away",
    now: datetime,
) -> list[InboxRow]:
    """The rows of a page's tasks: their members, posts, claims and kit in one query each."""
    member_ids = {d.member_id for _, d in found}
    post_codes = {d.post_code for _, d in found}
    members = {
        m.id: m for m in (await session.exec(select(Member).where(col(Member.id).in_(member_ids)))).all()
    }
    posts = {
        p.code: p for p in (await session.exec(select(Post).where(col(Post.code).in_(post_codes)))).all()
    }
    task_ids = [t.id for t, _ in found]
    claims = {
        c.task_id: c
        for c in (await session.exec(select(TaskClaim).where(col(TaskClaim.task_id).in_(task_ids)))).all()
        if c.expires_at > now
    }
    kit_ids = {t.deployment_id for t, _ in found if t.kind == TaskKind.KIT_RETURN}
    kit: dict[str, list[str]] = {}
    if kit_ids:
        query = (
            select(KitReservation)
            .where(col(KitReservation.deployment_id).in_(kit_ids))
            .order_by(col(KitReservation.sku))
        )
        for r in (await session.exec(query)).all():
            kit.setdefault(r.deployment_id, []).append(r.sku)
    budgets = await budgets_of(session, found)
    rows = []
    for t, d in found:
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
                budget=budgets.get(t.id),
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


def _in_view(view: str, mine: set[str], now: datetime) -> Any:
    """The view as a SQL condition on the user's open tasks."""
    live = and_(col(TaskClaim.task_id) == col(Task.id), col(TaskClaim.expires_at) > now)
    if view == "mine":
        return sa.exists().where(live, col(TaskClaim.username).in_(mine))
    if view == "unclaimed":
        return ~sa.exists().where(live)
    if view == "overdue":
        return col(Task.due_at) < now
    return sa.true()


def _narrowing(filters: InboxFilters) -> list[Any]:
    """The filters besides the view, as SQL conditions on Task (deployments by subqueries)."""
    where: list[Any] = []
    if filters.kind:
        where.append(col(Task.kind) == filters.kind)
    if filters.stage:
        where.append(col(Task.stage) == filters.stage)
    if filters.post:
        where.append(col(Task.deployment_id).in_(_deployments(col(Deployment.post_code) == filters.post)))
    if filters.q:
        needle = filters.q.lower()

        def has(column: Any) -> Any:
            return func.lower(column).contains(needle, autoescape=True)

        named = select(Member.id).where(has(col(Member.name)))
        placed = select(Post.code).where(
            or_(has(col(Post.code)), has(col(Post.country)), has(col(Post.city)))
        )
        found = or_(col(Deployment.member_id).in_(named), col(Deployment.post_code).in_(placed))
        where.append(or_(has(col(Task.title)), col(Task.deployment_id).in_(_deployments(found))))
    return where


def _deployments(condition: Any) -> Any:
    # Never correlated with the page query's own join of deployments.
    return select(Deployment.id).where(condition).correlate(None)


@dataclass(frozen=True)
class _Group:
    """The user's open tasks of one kind and stage, counted in each view."""

    kind: str
    stage: str
    all: int
    mine: int
    unclaimed: int
    overdue: int


async def _tally(session: AsyncSession, *, user: User, mine: set[str], now: datetime) -> list[_Group]:
    """Every view's count by kind and stage, in one statement: a GROUP BY over the user's open
    tasks on the task index, and one over the live claims (few) joined to their tasks."""

    def tally(condition: Any) -> Any:
        return func.coalesce(func.sum(sa.case((condition, 1), else_=0)), 0)

    zero = sa.literal(0)
    tasks = open_tasks_query(
        user, col(Task.kind), col(Task.stage), func.count(), zero, zero, tally(col(Task.due_at) < now)
    ).group_by(col(Task.kind), col(Task.stage))
    claimed = (
        open_tasks_query(
            user,
            col(Task.kind),
            col(Task.stage),
            zero,
            func.count(),
            tally(col(TaskClaim.username).in_(mine)),
            zero,
        )
        .join(TaskClaim, col(TaskClaim.task_id) == col(Task.id))
        .where(col(TaskClaim.expires_at) > now)
        .group_by(col(Task.kind), col(Task.stage))
    )
    found: dict[tuple[str, str], list[int]] = {}
    for kind, stage, every, held, theirs, overdue in await fetch(session, sa.union_all(tasks, claimed)):
        sums = found.setdefault((str(kind), str(stage)), [0, 0, 0, 0])
        for i, n in enumerate((every, held, theirs, overdue)):
            sums[i] += int(n)
    return [
        _Group(kind, stage, every, theirs, every - held, overdue)
        for (kind, stage), (every, held, theirs, overdue) in sorted(found.items())
    ]


def _counts(groups: Sequence[_Group], filters: InboxFilters | None = None) -> ViewCounts:
    """The views' counts over the groups (those of the filters' kind and stage)."""
    f = filters or InboxFilters()
    kept = [g for g in groups if (not f.kind or g.kind == f.kind) and (not f.stage or g.stage == f.stage)]
    return ViewCounts(
        all=sum(g.all for g in kept),
        mine=sum(g.mine for g in kept),
        unclaimed=sum(g.unclaimed for g in kept),
        overdue=sum(g.overdue for g in kept),
    )


async def view_counts(session: AsyncSession, *, user: User, now: datetime) -> ViewCounts:
    """The views' counts alone (for the counts an action swaps in)."""
    mine = {user.username} | {c.absent for c in await covers_for(session, user.username, now.date())}
    return _counts(await _tally(session, user=user, mine=mine, now=now))


def _cursor(name: str, text: str) -> TaskCursor | None:
    try:
        return TaskCursor.decode(text) if text else None
    except ValueError as err:
        raise InvalidFields([FieldError(name, str(err), text, location="query")]) from None


async def _with_deployments(
    session: AsyncSession, task_ids: Any, order: list[Any]
) -> list[tuple[Task, Deployment]]:
    """The first PAGE_SIZE + 1 tasks of `task_ids` in `order`, each with its deployment: the page
    is chosen from the tasks alone, then only its rows are joined to their deployments."""
    page = task_ids.order_by(*order).limit(PAGE_SIZE + 1).subquery()
    query = (
        select(Task, Deployment)
        .join(page, page.c.id == col(Task.id))
        .join(Deployment, col(Deployment.id) == col(Task.deployment_id))
        .order_by(*order)
    )
    return [(t, d) for t, d in (await session.exec(query)).all()]


async def load_inbox(session: AsyncSession, *, user: User, filters: InboxFilters, now: datetime) -> Inbox:
    """One page of the user's open tasks in the view, filtered and sorted (a keyset page, never
    more than PAGE_SIZE rows), with every view's count; a cursor that is not one of ours: 422."""
    after, before = _cursor("after", filters.after), _cursor("before", filters.before)
    away = await _Away.of(session, user, now)
    mine = {user.username} | away.absent
    groups = await _tally(session, user=user, mine=mine, now=now)
    query = open_tasks_query(user, col(Task.id)).where(
        _in_view(filters.view, mine, now), *_narrowing(filters)
    )
    if before is not None:
        query = query.where(task_list.before(filters.sort, before))
        found = await _with_deployments(session, query, task_list.order_by(filters.sort, backwards=True))
        has_prev, has_next = len(found) > PAGE_SIZE, True
        found = list(reversed(found[:PAGE_SIZE]))
    else:
        if after is not None:
            query = query.where(task_list.after(filters.sort, after))
        found = await _with_deployments(session, query, task_list.order_by(filters.sort))
        has_prev, has_next = after is not None, len(found) > PAGE_SIZE
        found = found[:PAGE_SIZE]
    if filters.q or filters.post:  # counted by a query of their own
        counted = open_tasks_query(user, func.count()).where(
            _in_view(filters.view, mine, now), *_narrowing(filters)
        )
        matched = int((await fetch(session, counted))[0][0])
    else:
        matched = _counts(groups, filters).of(filters.view)

    def cursor(row: tuple[Task, Deployment]) -> str:
        return TaskCursor.of(row[0]).encode()

    return Inbox(
        rows=await _rows(session, found, user=user, away=away, now=now),
        total=sum(g.all for g in groups),
        matched=matched,
        counts=_counts(groups),
        kinds=sorted({g.kind for g in groups}),
        stages=sorted({g.stage for g in groups}),
        posts=list((await session.exec(select(Post.code).order_by(col(Post.code)))).all()),
        next_cursor=cursor(found[-1]) if found and has_next else None,
        prev_cursor=cursor(found[0]) if found and has_prev else None,
    )


async def rows_to_decide(
    session: AsyncSession, *, user: User, deployment_id: str, now: datetime
) -> list[InboxRow]:
    """The deployment's open tasks the user may decide, as inbox rows (for the deployment page)."""
    query = open_tasks_query(user).where(col(Task.deployment_id) == deployment_id)
    found = [(r[0], r[1]) for r in await fetch(session, query.order_by(*task_list.order_by("due")))]
    if not found:
        return []
    return await _rows(session, found, user=user, away=await _Away.of(session, user, now), now=now)


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
    deployment = await session.get(Deployment, task.deployment_id)
    assert deployment is not None  # a foreign key
    away = await _Away.of(session, user, now)
    return (await _rows(session, [(task, deployment)], user=user, away=away, now=now))[0]


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
