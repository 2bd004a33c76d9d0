"""Checks on a deployment request that need the database or today's date; every bad field is
reported. The rest of the rules are the model's own (crc/requests.py)."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.domain import STANDBY_NOTICE_DAYS, Component
from crc.member_time import overlapping_deployment
from crc.readiness import call_up_problems, is_call_up
from crc.requests import START_HORIZON_DAYS, DeploymentCreate
from crc.state import end_date_of
from crc.tables import Certificate, Deployment, Member, Post
from web.services.errors import FieldError, InvalidFields


@dataclass(frozen=True)
class CheckedRequest:
    """A request that passed every check, with the member and post it names."""

    request: DeploymentCreate
    member: Member
    post: Post

    @property
    def end_date(self) -> date:
        """The last day of the stay."""
        return end_date_of(self.request.start_date, self.request.duration_days)


def latest_start(today: date) -> date:
    """The furthest start date a request may ask for."""
    return today + timedelta(days=START_HORIZON_DAYS)


async def _overlapping(
    session: AsyncSession, request: DeploymentCreate, exclude_id: str | None
) -> Deployment | None:
    return await overlapping_deployment(
        session,
        member_id=request.member_id,
        first=request.start_date,
        last=end_date_of(request.start_date, request.duration_days),
        exclude_id=exclude_id,
    )


async def check_request(
    session: AsyncSession,
    request: DeploymentCreate,
    *,
    today: date,
    exclude_deployment_id: str | None = None,
    overlaps: bool = True,
) -> CheckedRequest:
    """The request with its member and post, or InvalidFields naming every bad field (the member's
    other deployments too unless `overlaps` is False: a fill checks those under the member's lock)."""
    errors: list[FieldError] = []
    member = await session.get(Member, request.member_id)
    if member is None:
        errors.append(FieldError("member_id", "no roster member has this id"))
    elif exclude_deployment_id is None and member.retired_on is not None and member.retired_on <= today:
        # Only new requests: an amendment keeps the member its deployment already has.
        message = f"the member retired on {member.retired_on.isoformat()}; choose a member on the roster"
        errors.append(FieldError("member_id", message))
    post = await session.get(Post, request.post_code)
    if post is None:
        errors.append(FieldError("post_code", "no post has this code"))
    if request.start_date < today:
        errors.append(FieldError("start_date", "must be today or later"))
    within_horizon = request.start_date <= latest_start(today)
    if not within_horizon:
        message = f"must be at most {START_HORIZON_DAYS} days ahead (on or before {latest_start(today)})"
        errors.append(FieldError("start_date", message))
    if (
        member is not None
        and member.component == Component.STANDBY
        and (request.start_date - today).days < STANDBY_NOTICE_DAYS
        and request.urgent_justification is None
    ):
        errors.append(
            FieldError(
                "urgent_justification",
                f"a Standby member starting within {STANDBY_NOTICE_DAYS} days needs an urgent justification",
            )
        )
    call_up = (
        request.start_date >= today
        and member is not None
        and is_call_up(member.component, request.start_date, today)
    )
    if call_up and member is not None and post is not None:
        held = (await session.exec(select(Certificate).where(Certificate.member_id == member.id))).all()
        lacking = call_up_problems(member, post, end_date_of(request.start_date, request.duration_days), held)
        if lacking:
            errors.append(
                FieldError(
                    "member_id",
                    "an Active call-up (starting within 48 hours) cannot wait for vetting or training: "
                    + "; ".join(lacking),
                )
            )
    if overlaps and member is not None and today <= request.start_date and within_horizon:
        clash = await _overlapping(session, request, exclude_deployment_id)
        if clash is not None:
            errors.append(
                FieldError(
                    "member_id",
                    f"the member is already in deployment {clash.id} "
                    f"({clash.start_date} to {clash.end_date}, {clash.stage})",
                )
            )
    if errors:
        raise InvalidFields(errors)
    assert member is not None and post is not None
    return CheckedRequest(request=request, member=member, post=post)
