"""Checks on a deployment request that a user can get wrong; every bad field is reported."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.domain import (
    MAX_DURATION_DAYS,
    MIN_DURATION_DAYS,
    SECTORS,
    STANDBY_NOTICE_DAYS,
    Component,
)
from crc.stages import HOLDS_MEMBER
from crc.tables import Deployment, Member, Post
from web.services.errors import FieldError, InvalidFields

ROLE_TITLE_MAX = 200


@dataclass(frozen=True)
class RequestDraft:
    """A request as the user typed it, before checks."""

    member_id: int
    post_code: str
    sector: str
    role_title: str
    start_date: date
    duration_days: int
    justification: str
    urgent_justification: str | None = None


@dataclass(frozen=True)
class CheckedRequest:
    """A request that passed every check, with the member and post it names."""

    draft: RequestDraft
    member: Member
    post: Post

    @property
    def end_date(self) -> date:
        """The last day of the stay."""
        return end_date(self.draft.start_date, self.draft.duration_days)


def end_date(start: date, duration_days: int) -> date:
    """The last day of a stay of `duration_days` days beginning on `start`."""
    return start + timedelta(days=duration_days - 1)


def _text_errors(draft: RequestDraft) -> list[FieldError]:
    errors: list[FieldError] = []
    if draft.sector not in SECTORS:
        errors.append(FieldError("sector", f"must be one of: {', '.join(SECTORS)}"))
    if not draft.role_title.strip():
        errors.append(FieldError("role_title", "must not be empty"))
    elif len(draft.role_title) > ROLE_TITLE_MAX:
        errors.append(FieldError("role_title", f"must be at most {ROLE_TITLE_MAX} characters"))
    if not draft.justification.strip():
        errors.append(FieldError("justification", "must not be empty"))
    return errors


async def _overlapping(
    session: AsyncSession, draft: RequestDraft, exclude_id: str | None
) -> Deployment | None:
    last = end_date(draft.start_date, draft.duration_days)
    query = (
        select(Deployment)
        .where(Deployment.member_id == draft.member_id)
        .where(col(Deployment.stage).in_([str(s) for s in HOLDS_MEMBER]))
        .where(Deployment.start_date <= last)
        .where(Deployment.end_date >= draft.start_date)
    )
    if exclude_id is not None:
        query = query.where(Deployment.id != exclude_id)
    return (await session.exec(query.limit(1))).first()


async def check_request(
    session: AsyncSession,
    draft: RequestDraft,
    *,
    today: date,
    exclude_deployment_id: str | None = None,
) -> CheckedRequest:
    """The request with its member and post, or InvalidFields naming every bad field."""
    errors = _text_errors(draft)
    member = await session.get(Member, draft.member_id)
    if member is None:
        errors.append(FieldError("member_id", "no roster member has this id"))
    post = await session.get(Post, draft.post_code)
    if post is None:
        errors.append(FieldError("post_code", "no post has this code"))
    dates_ok = True
    if draft.start_date < today:
        errors.append(FieldError("start_date", "must be today or later"))
        dates_ok = False
    if not MIN_DURATION_DAYS <= draft.duration_days <= MAX_DURATION_DAYS:
        errors.append(
            FieldError("duration_days", f"must be between {MIN_DURATION_DAYS} and {MAX_DURATION_DAYS}")
        )
        dates_ok = False
    if (
        member is not None
        and member.component == Component.STANDBY
        and (draft.start_date - today).days < STANDBY_NOTICE_DAYS
        and not (draft.urgent_justification or "").strip()
    ):
        errors.append(
            FieldError(
                "urgent_justification",
                f"a Standby member starting within {STANDBY_NOTICE_DAYS} days needs an urgent justification",
            )
        )
    if member is not None and dates_ok:
        clash = await _overlapping(session, draft, exclude_deployment_id)
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
    return CheckedRequest(draft=draft, member=member, post=post)
