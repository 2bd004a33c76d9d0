"""Surge: Active members called up for every open position of an operation, to start within 48
hours: the best ranked ready members (no gaps, every call-up check passed), each picked once."""

from datetime import date, timedelta

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.domain import Component
from crc.operations import SurgePick
from crc.readiness import CALL_UP_WITHIN_DAYS
from crc.requests import DeploymentCreate
from crc.tables import User
from web.services.candidates import candidates_for
from web.services.errors import Conflict, FieldError, InvalidFields
from web.services.operations import PositionPublic, get_operation
from web.services.requests import today_utc
from web.services.validation import check_request

# How far down each position's ranking a surge looks for members ready to go.
LOOK_AT = 50


class Shortfall(BaseModel):
    """A position the surge could not fill: how many places have no ready Active member."""

    position_id: str
    role_title: str
    missing: int


class SurgePlan(BaseModel):
    """Whom a surge calls up, per position, and what stays open."""

    start_date: date
    picks: list[SurgePick]
    shortfalls: list[Shortfall]


def surge_start(start_date: date | None, today: date) -> date:
    """The surge's start date: within 48 hours (default: the last day that still is), else 422."""
    latest = today + timedelta(days=CALL_UP_WITHIN_DAYS)
    if start_date is None:
        return latest
    if not today <= start_date <= latest:
        message = f"a surge starts within 48 hours: from {today} to {latest}"
        raise InvalidFields([FieldError("start_date", message)])
    return start_date


async def plan_surge(session: AsyncSession, user: User, operation_id: str, start_date: date) -> SurgePlan:
    """The members a surge would call up now; 409 when no open position has a ready member."""
    operation = await get_operation(session, user, operation_id)
    today = today_utc()
    chosen: set[int] = set()
    picks: list[SurgePick] = []
    shortfalls: list[Shortfall] = []
    open_positions = [p for p in operation.positions if not p.cut and p.filled < p.count]
    if not open_positions:
        raise Conflict("every position is filled: there is nothing to surge")
    for position in open_positions:
        need = position.count - position.filled
        ranked = await candidates_for(
            session,
            user,
            operation_id,
            position.id,
            limit=LOOK_AT,
            start_date=start_date,
            component=Component.ACTIVE,
        )
        members: list[int] = []
        for candidate in ranked.items:
            if len(members) == need:
                break
            if candidate.gaps or candidate.member_id in chosen:
                continue
            if await _ready(session, position, candidate.member_id, start_date, today):
                members.append(candidate.member_id)
                chosen.add(candidate.member_id)
        if members:
            picks.append(SurgePick(position_id=position.id, member_ids=members))
        if len(members) < need:
            shortfalls.append(
                Shortfall(
                    position_id=position.id, role_title=position.role_title, missing=need - len(members)
                )
            )
    if not picks:
        raise Conflict("no Active member is ready to start within 48 hours for any open position")
    return SurgePlan(start_date=start_date, picks=picks, shortfalls=shortfalls)


async def _ready(
    session: AsyncSession, position: PositionPublic, member_id: int, start: date, today: date
) -> bool:
    """The member passes a call-up request's checks (clearance, medical, passport, FACT...)."""
    request = DeploymentCreate(
        member_id=member_id,
        post_code=position.post_code,
        sector=position.sector,
        role_title=position.role_title,
        start_date=start,
        duration_days=position.duration_days,
        justification="surge",
    )
    try:
        await check_request(session, request, today=today, overlaps=False)
    except InvalidFields:
        return False
    return True
