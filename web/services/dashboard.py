"""The dashboard's numbers: stages, overdue tasks by office, who is in country, roster readiness."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.roles import SEE_ALL_ROLES
from crc.stages import Stage
from crc.tables import Certificate, Deployment, Member, Task, User
from crc.tasks import TaskKind
from web.services.deployments import counts_by_stage
from web.services.roster import count_available
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
    total: int  # every deployment the user may see (the stages' counts added up)


async def _grouped(session: AsyncSession, query: object) -> dict[str, int]:
    rows = (await session.exec(query)).all()  # type: ignore[call-overload]
    return {str(k): int(n) for k, n in sorted(rows, key=lambda r: (-int(r[1]), str(r[0])))}


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
    """The counts, each one indexed GROUP BY query, over the deployments the user may see (the
    roster's readiness is the whole roster's), and the latest `recent` deployments."""
    see_all = bool(SEE_ALL_ROLES.intersection(user.roles))
    overdue_tasks = select(Task.role, func.count()).where(Task.status == "open", col(Task.due_at) < now)
    if not see_all:  # only then does the need-to-know filter need each task's deployment
        overdue_tasks = overdue_tasks.join(Deployment, col(Deployment.id) == col(Task.deployment_id)).where(
            visible_to(user)
        )
    overdue = await _grouped(session, overdue_tasks.group_by(col(Task.role)))
    in_country = await _grouped(
        session,
        select(Deployment.post_code, func.count())
        .where(Deployment.stage == Stage.DEPLOYED, visible_to(user))
        .group_by(col(Deployment.post_code)),
    )
    # The roster page's rule (crc.availability): in a running deployment or away is not available.
    members, available = await count_available(session, today=today)
    soon = today + EXPIRING_WITHIN
    expiring = select(func.count(), func.count(sa.distinct(col(Certificate.member_id)))).where(
        col(Certificate.expires_on) >= today, col(Certificate.expires_on) <= soon
    )
    certificates, holders = (await session.exec(expiring)).one()
    newest_first = (col(Deployment.created_at).desc(), col(Deployment.id).desc())
    latest = await session.exec(
        select(Deployment).where(visible_to(user)).order_by(*newest_first).limit(recent)
    )
    by_stage = await counts_by_stage(session, user)
    return Dashboard(
        needing_help=await needing_help(session, user),
        by_stage=by_stage,
        overdue_by_office=overdue,
        in_country_by_post=in_country,
        readiness=Readiness(
            members=members,
            available=available,
            expiring_certificates=int(certificates),
            members_with_expiring=int(holders),
        ),
        recent=list(latest.all()),
        total=sum(by_stage.values()),
    )
