"""Reading deployments from the read-model: lists, one with its history, counts by stage."""

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.stages import Stage
from crc.tables import Deployment, Event, Member, Post, Task, User
from web.services.people import full_names
from web.services.visibility import visible_deployment, visible_to

MAX_PAGE = 200
MAX_OFFSET = 2**63 - 1  # the largest OFFSET SQLite and PostgreSQL take (a signed 64-bit integer)


@dataclass(frozen=True)
class DeploymentView:
    """A deployment with what its page shows beside it."""

    deployment: Deployment
    member: Member | None
    post: Post | None
    timeline: list[Event]
    open_tasks: list[Task]
    # username -> full name of each actor in the timeline (web.services.people).
    people: dict[str, str] = field(default_factory=dict)


def _conditions(*, stage: str | None, post_code: str | None, member_id: int | None) -> list[Any]:
    conditions: list[Any] = []
    if stage:
        conditions.append(col(Deployment.stage) == stage)
    if post_code:
        conditions.append(col(Deployment.post_code) == post_code)
    if member_id is not None:
        conditions.append(col(Deployment.member_id) == member_id)
    return conditions


async def list_deployments(
    session: AsyncSession,
    *,
    user: User,
    stage: str | None = None,
    post_code: str | None = None,
    member_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Deployment], int]:
    """One page of the deployments the user may see, newest first, and how many match in all."""
    where = [visible_to(user), *_conditions(stage=stage, post_code=post_code, member_id=member_id)]
    total = (await session.exec(select(func.count()).select_from(Deployment).where(*where))).one()
    query = (
        select(Deployment)
        .where(*where)
        .order_by(col(Deployment.created_at).desc(), col(Deployment.id).desc())
    )
    rows = (await session.exec(query.offset(offset).limit(min(limit, MAX_PAGE)))).all()
    return list(rows), int(total)


async def open_tasks_of(session: AsyncSession, deployment_id: str) -> list[Task]:
    """The deployment's open tasks, oldest first."""
    query = (
        select(Task)
        .where(Task.deployment_id == deployment_id, Task.status == "open")
        .order_by(col(Task.created_at), col(Task.role))
    )
    return list((await session.exec(query)).all())


async def get_deployment_view(session: AsyncSession, user: User, deployment_id: str) -> DeploymentView:
    """A deployment the user may see, with its member, post, timeline (oldest first) and open
    tasks; 404 as for no deployment at all otherwise."""
    deployment = await visible_deployment(session, user, deployment_id)
    timeline = (
        await session.exec(
            select(Event)
            .where(Event.deployment_id == deployment_id)
            .order_by(col(Event.occurred_at), col(Event.id))
        )
    ).all()
    return DeploymentView(
        deployment=deployment,
        member=await session.get(Member, deployment.member_id),
        post=await session.get(Post, deployment.post_code),
        timeline=list(timeline),
        open_tasks=await open_tasks_of(session, deployment_id),
        people=await full_names(session, (e.actor for e in timeline)),
    )


async def counts_by_stage(session: AsyncSession, user: User) -> dict[str, int]:
    """How many deployments the user may see stand at each stage (every stage, zeros included)."""
    query = select(Deployment.stage, func.count()).where(visible_to(user)).group_by(col(Deployment.stage))
    rows = await session.exec(query)
    found = {stage: int(n) for stage, n in rows.all()}
    return {str(s): found.get(str(s), 0) for s in Stage}


async def members_and_posts(
    session: AsyncSession, deployments: list[Deployment]
) -> tuple[dict[int, Member], dict[str, Post]]:
    """The members and posts the deployments name, by id and code (for list pages)."""
    member_ids = {d.member_id for d in deployments}
    post_codes = {d.post_code for d in deployments}
    members = (await session.exec(select(Member).where(col(Member.id).in_(member_ids)))).all()
    posts = (await session.exec(select(Post).where(col(Post.code).in_(post_codes)))).all()
    return {m.id: m for m in members if m.id is not None}, {p.code: p for p in posts}
