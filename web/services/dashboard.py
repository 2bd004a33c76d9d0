"""The dashboard's numbers: stages, overdue tasks by office, who is in country, roster readiness."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.availability import available_condition
from crc.roles import SEE_ALL_ROLES
from crc.stage_counts import StageCount
from crc.stages import Stage
from crc.tables import Certificate, Deployment, Member, Post, Task, User
from crc.tasks import TaskKind
from web.services.deployments import counts_by_stage
from web.services.roster import on_roster
from web.services.visibility import visible_to

EXPIRING_WITHIN = timedelta(days=90)


@dataclass(frozen=True)
class Readiness:
    """How ready the roster is to deploy."""

    members: int
    available: int
    expiring_certificates: int  # valid today, expiring within 90 days
    members_with_expiring: int


@dataclass(frozen=True)
class NeedsHelp:
    """A deployed member who asked for help, until Operations closes the task."""

    deployment_id: str
    member: str
    post_code: str
    title: str
    since: datetime


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard draws."""

    needing_help: list[NeedsHelp]
    by_stage: dict[str, int]
    overdue_by_office: dict[str, int]
    in_country_by_post: dict[str, int]
    readiness: Readiness
    recent: list[Deployment]  # the latest the user may see, newest first
    members: dict[int, Member]  # the recent deployments' members, by id
    posts: dict[str, Post]  # and their posts, by code
    total: int  # every deployment the user may see (the stages' counts added up)


async def _grouped(session: AsyncSession, query: object) -> dict[str, int]:
    rows = (await session.exec(query)).all()  # type: ignore[call-overload]
    return {str(k): int(n) for k, n in sorted(rows, key=lambda r: (-int(r[1]), str(r[0])))}


def _by_count(found: dict[str, int]) -> dict[str, int]:
    return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))


async def stage_and_post_counts(session: AsyncSession, user: User) -> tuple[dict[str, int], dict[str, int]]:
    """(deployments by stage, every stage; deployed ones by post) among those the user may see."""
    if not SEE_ALL_ROLES.intersection(user.roles):  # need to know: count the rows the user sees
        deployed = await _grouped(
            session,
            select(Deployment.post_code, func.count())
            .where(Deployment.stage == Stage.DEPLOYED, visible_to(user))
            .group_by(col(Deployment.post_code)),
        )
        return await counts_by_stage(session, user), deployed
    # Every deployment: the counts the database keeps (crc.stage_counts), a row per stage and post.
    kept = select(StageCount.stage, StageCount.post_code, StageCount.n).where(col(StageCount.n) > 0)
    by_stage = {str(s): 0 for s in Stage}
    in_country: dict[str, int] = {}
    for stage, post_code, n in (await session.exec(kept)).all():
        by_stage[stage] = by_stage.get(stage, 0) + n
        if stage == Stage.DEPLOYED:
            in_country[post_code] = n
    return by_stage, _by_count(in_country)


async def needing_help(session: AsyncSession, user: User) -> list[NeedsHelp]:
    """Members with an open "needs help" task on a deployment the user may see, longest waiting first."""
    query = (
        select(Task, col(Member.name), col(Deployment.post_code))
        .join(Deployment, col(Deployment.id) == col(Task.deployment_id))
        .join(Member, col(Member.id) == col(Deployment.member_id))
        .where(Task.status == "open", Task.kind == TaskKind.NEEDS_HELP, visible_to(user))
        .order_by(col(Task.created_at))
    )
    return [
        NeedsHelp(task.deployment_id, name, post_code, task.title, task.created_at)
        for task, name, post_code in (await session.exec(query)).all()
    ]


async def load_dashboard(
    session: AsyncSession, *, user: User, now: datetime, today: date, recent: int = 10
) -> Dashboard:
    """The counts over the deployments the user may see (the roster's readiness is the whole
    roster's), and the latest `recent` deployments: a few statements, none counting every row."""
    see_all = bool(SEE_ALL_ROLES.intersection(user.roles))
    # Grouped by role || '': SQLite would otherwise walk every open task in role order on the
    # (status, role, due_at) index to skip a sort, rather than read only the overdue ones from
    # (status, due_at, role). PostgreSQL picks the latter either way.
    office = col(Task.role).concat("")
    overdue_tasks = select(office, func.count()).where(Task.status == "open", col(Task.due_at) < now)
    if not see_all:  # only then does the need-to-know filter need each task's deployment
        overdue_tasks = overdue_tasks.join(Deployment, col(Deployment.id) == col(Task.deployment_id)).where(
            visible_to(user)
        )
    overdue = await _grouped(session, overdue_tasks.group_by(office))
    readiness = await _readiness(session, today)
    newest_first = (col(Deployment.created_at).desc(), col(Deployment.id).desc())
    # With their members and posts (the rows' names and countries), in the same round trip.
    latest = (
        select(Deployment, Member, Post)
        .outerjoin(Member, col(Member.id) == col(Deployment.member_id))
        .outerjoin(Post, col(Post.code) == col(Deployment.post_code))
        .where(visible_to(user))
        .order_by(*newest_first)
        .limit(recent)
    )
    rows = (await session.exec(latest)).all()
    by_stage, in_country = await stage_and_post_counts(session, user)
    return Dashboard(
        needing_help=await needing_help(session, user),
        by_stage=by_stage,
        overdue_by_office=overdue,
        in_country_by_post=in_country,
        readiness=readiness,
        recent=[d for d, _, _ in rows],
        members={m.id: m for _, m, _ in rows if m is not None and m.id is not None},
        posts={p.code: p for _, _, p in rows if p is not None},
        total=sum(by_stage.values()),
    )


async def _readiness(session: AsyncSession, today: date) -> Readiness:
    """The roster's readiness in one statement: members, those available (the roster page's rule,
    crc.availability), certificates expiring within 90 days and their holders."""
    soon = today + EXPIRING_WITHIN
    expiring = (col(Certificate.expires_on) >= today, col(Certificate.expires_on) <= soon)
    certificates = select(func.count()).select_from(Certificate).where(*expiring).scalar_subquery()
    holders = select(func.count(sa.distinct(col(Certificate.member_id)))).where(*expiring).scalar_subquery()
    on = select(func.count()).select_from(Member).where(on_roster(today))
    free = on.where(available_condition(today, today, today))
    query = select(on.scalar_subquery(), free.scalar_subquery(), certificates, holders)
    members, available, expiring_certificates, members_with_expiring = (await session.exec(query)).one()
    return Readiness(
        members=int(members),
        available=int(available),
        expiring_certificates=int(expiring_certificates),
        members_with_expiring=int(members_with_expiring),
    )
