"""A post's threat level changes: the post's rules and their log in one write, then every open
deployment at the post is told (a signal) so that it re-evaluates what depends on them."""

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from crc import names
from crc.domain import ClearanceLevel
from crc.stages import TERMINAL, Stage
from crc.tables import Deployment, Post, User, utcnow
from crc.threat import ThreatChange, ThreatLevelChange
from crc.watchlist_tables import PostThreatChange
from web.services.errors import Conflict, FieldError, InvalidFields, NotFound
from web.services.workflow_client import rpc_refusal

# Deployments past these stages no longer depend on the post's rules (on the way home, or ended).
NOT_TOLD = TERMINAL | {Stage.REDEPLOYMENT}


class ThreatChangePublic(BaseModel):
    """One change of a post's threat level, and how many open deployments were told of it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    post_code: str
    previous: str
    threat_level: str
    clearance_before: str
    clearance_after: str
    danger_pay_before: Decimal
    danger_pay_after: Decimal
    reason: str
    changed_by: str
    changed_at: datetime
    deployments_told: int


async def _post(session: AsyncSession, code: str) -> Post:
    post = await session.get(Post, code, populate_existing=True)
    if post is None:
        raise NotFound("no post has this code")
    return post


async def changes_of(session: AsyncSession, code: str) -> list[ThreatChangePublic]:
    """The post's threat-level changes, newest first; 404 for an unknown post."""
    await _post(session, code)
    rows = (
        await session.exec(
            select(PostThreatChange)
            .where(PostThreatChange.post_code == code)
            .order_by(col(PostThreatChange.changed_at).desc(), col(PostThreatChange.id))
        )
    ).all()
    return [ThreatChangePublic.model_validate(r) for r in rows]


async def change_threat_level(
    session: AsyncSession, client: Client, user: User, code: str, body: ThreatLevelChange
) -> ThreatChangePublic:
    """Change the post's threat level (and the rules given with it), log it, and signal each open
    deployment at the post; 422 naming threat_level when nothing would change, 409 when someone
    else changed the post meanwhile."""
    post = await _post(session, code)
    clearance = body.clearance_required or post.clearance_required
    danger_pay = body.danger_pay_pct if body.danger_pay_pct is not None else post.danger_pay_pct
    if rules_of(post) == (body.threat_level, clearance, Decimal(danger_pay)):
        message = f"is already {post.threat_level}, and nothing else given changes"
        raise InvalidFields([FieldError("threat_level", message, body.threat_level)])
    before = rules_of(post)
    # Written only if the post is as read: two changes at once must not both claim "previous".
    changed = await session.exec(
        sa.update(Post)
        .where(
            col(Post.code) == post.code,
            col(Post.threat_level) == before[0],
            col(Post.clearance_required) == before[1],
            col(Post.danger_pay_pct) == before[2],
        )
        .values(threat_level=body.threat_level, clearance_required=clearance, danger_pay_pct=danger_pay)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        await session.rollback()
        raise Conflict("the post was changed meanwhile: read it again and retry")
    after = (body.threat_level, clearance, danger_pay)
    return await log_and_tell(session, client, user, post.code, before, after, body.reason.strip())


# A post's rules that deployments depend on: threat level, clearance required, danger pay.
Rules = tuple[str, str, Decimal]


def rules_of(post: Post) -> Rules:
    """The post's threat level, clearance required and danger pay."""
    return post.threat_level, post.clearance_required, Decimal(post.danger_pay_pct)


async def log_and_tell(
    session: AsyncSession, client: Client, user: User, code: str, before: Rules, after: Rules, reason: str
) -> ThreatChangePublic:
    """Log a change of the post's rules (already written, in the session's open transaction or
    committed), commit, then signal each open deployment at the post."""
    row = PostThreatChange(
        id=str(uuid.uuid4()),
        post_code=code,
        previous=before[0],
        threat_level=after[0],
        clearance_before=before[1],
        clearance_after=after[1],
        danger_pay_before=before[2],
        danger_pay_after=after[2],
        reason=reason,
        changed_by=user.username,
        changed_at=utcnow(),
    )
    session.add(row)
    await session.commit()
    row.deployments_told = await _tell_deployments(session, client, user, row)
    session.add(row)
    await session.commit()
    return ThreatChangePublic.model_validate(row)


async def _tell_deployments(session: AsyncSession, client: Client, user: User, row: PostThreatChange) -> int:
    """Signal every open deployment at the post; how many were told (ended ones are skipped)."""
    workflow_ids = (
        await session.exec(
            select(Deployment.workflow_id)
            .where(Deployment.post_code == row.post_code, col(Deployment.stage).not_in(NOT_TOLD))
            .order_by(col(Deployment.created_at), col(Deployment.id))
        )
    ).all()
    await session.commit()  # hold no connection while Temporal answers
    raised = ClearanceLevel(row.clearance_after).rank > ClearanceLevel(row.clearance_before).rank
    change = ThreatChange(
        key=row.id,
        post_code=row.post_code,
        previous=row.previous,
        threat_level=row.threat_level,
        clearance_raised=raised,
        danger_pay_changed=Decimal(row.danger_pay_after) != Decimal(row.danger_pay_before),
        changed_by=user.username,
        changed_by_name=user.full_name or user.username,
        reason=row.reason,
        at=row.changed_at,
    )
    told = 0
    for workflow_id in workflow_ids:
        try:
            await client.get_workflow_handle(workflow_id).signal(names.SIGNAL_THREAT_CHANGE, change)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:  # ended since the read-model said otherwise
                continue
            raise rpc_refusal(err) from err
        told += 1
    return told
