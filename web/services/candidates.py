"""Ranked roster candidates for an operation's position: the facts read here, ranked by
crc/candidates.py."""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.availability import Busy, busy_members
from crc.candidates import MemberFacts, Opening, long_date, rank
from crc.domain import COURSE_FACT, COURSE_ORIENTATION, WindowKind
from crc.operation_tables import OperationDeployment
from crc.operations import UNFILLED_STAGES
from crc.stages import HOLDS_MEMBER
from crc.state import end_date_of
from crc.tables import Certificate, Deployment, Member, Post, User
from web.services.operations import position_of
from web.services.requests import today_utc

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_LAST_DAY = sa.func.coalesce(col(Deployment.left_on), col(Deployment.end_date))


class CandidatePublic(BaseModel):
    """A roster member ranked for a position: the score, why, and the gaps to close."""

    member_id: int
    name: str
    score: int
    reasons: list[str]
    gaps: list[str]


class CandidateList(BaseModel):
    """Candidates, best first."""

    items: list[CandidatePublic]


def _busy_words(busy: Busy) -> str:
    span = f"{long_date(busy.first)} to {long_date(busy.last)}"
    if busy.deployment_id is not None:
        return f"in another deployment {span} ({busy.kind})"
    return f"{'on leave' if busy.kind == WindowKind.LEAVE else 'on other duty'} {span}"


async def _certificates(session: AsyncSession, ids: Sequence[int]) -> dict[int, dict[str, date | None]]:
    rows = await session.exec(
        select(Certificate).where(
            col(Certificate.member_id).in_(ids),
            col(Certificate.course_code).in_([COURSE_FACT, COURSE_ORIENTATION]),
        )
    )
    found: dict[int, dict[str, date | None]] = {}
    for c in rows.all():
        found.setdefault(c.member_id, {})[c.course_code] = c.expires_on
    return found


async def _last_ends(session: AsyncSession, ids: Sequence[int], before: date) -> dict[int, date]:
    """Each member's last day of deployment before `before` (ended or ending by then)."""
    rows = await session.exec(
        select(col(Deployment.member_id), sa.func.max(_LAST_DAY))
        .where(
            col(Deployment.member_id).in_(ids),
            col(Deployment.stage).in_([str(s) for s in HOLDS_MEMBER]),
            before > _LAST_DAY,
        )
        .group_by(col(Deployment.member_id))
    )
    return {member_id: last for member_id, last in rows.all()}


async def _on_operation(session: AsyncSession, operation_id: str) -> set[int]:
    rows = await session.exec(
        select(col(Deployment.member_id))
        .join(OperationDeployment, col(OperationDeployment.deployment_id) == col(Deployment.id))
        .where(
            OperationDeployment.operation_id == operation_id,
            col(Deployment.stage).not_in(sorted(UNFILLED_STAGES)),
        )
    )
    return set(rows.all())


async def candidates_for(
    session: AsyncSession,
    user: User,
    operation_id: str,
    position_id: str,
    *,
    limit: int,
    start_date: date | None = None,
    component: str | None = None,
) -> CandidateList:
    """The roster's best candidates for the position; 404 for an unknown operation or position.
    A surge ranks for its own start date and for Active members (`start_date`, `component`)."""
    position = await position_of(session, user, operation_id, position_id)
    post = await session.get(Post, position.post_code)
    assert post is not None  # a position's post is a foreign key
    today = today_utc()
    start = start_date or position.start_date
    end = end_date_of(start, position.duration_days)
    opening = Opening(
        sector=position.sector,
        languages=tuple(position.languages),
        component=component or position.component,
        start_date=start,
        end_date=end,
        threat_level=post.threat_level,
        clearance_required=post.clearance_required,
    )
    members = (
        await session.exec(
            select(Member)
            .where(sa.or_(col(Member.retired_on).is_(None), col(Member.retired_on) > today))
            .order_by(col(Member.id))
        )
    ).all()
    ids = [m.id for m in members if m.id is not None]
    busy = await busy_members(session, ids, first=start, last=end, today=today)
    certificates = await _certificates(session, ids)
    last_ends = await _last_ends(session, ids, start)
    taken = await _on_operation(session, operation_id)
    facts = [
        MemberFacts(
            member_id=m.id,
            name=m.name,
            component=m.component,
            sectors=tuple(m.sectors),
            languages=tuple(m.languages),
            language_levels=dict(m.language_levels),
            clearance_level=m.clearance_level,
            clearance_expires=m.clearance_expires,
            certificates=certificates.get(m.id, {}),
            last_deployment_end=last_ends.get(m.id),
            retired_on=m.retired_on,
            busy=_busy_words(busy[m.id]) if m.id in busy else "",
            on_this_operation=m.id in taken,
        )
        for m in members
        if m.id is not None
    ]
    ranked = rank(opening, facts, today)[:limit]
    return CandidateList(
        items=[
            CandidatePublic(member_id=c.member_id, name=c.name, score=c.score, reasons=c.reasons, gaps=c.gaps)
            for c in ranked
        ]
    )
