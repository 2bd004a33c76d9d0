"""Vetting: checks the member's clearance, medical and passport against the post and dates."""

from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.rows import require
from crc.dates import add_months
from crc.db import session_factory
from crc.domain import ClearanceLevel
from crc.lifecycle import RecordRenewal, VettingCheck, VettingFailure, VettingReport, VettingRequest
from crc.roles import Role
from crc.tables import Member, Post

# A passport must be valid this many months past the deployment's end date.
PASSPORT_MARGIN_MONTHS = 6

# The member field each check reads and a renewal writes.
_EXPIRY_FIELD = {
    VettingCheck.CLEARANCE: "clearance_expires",
    VettingCheck.MEDICAL: "medical_expires",
    VettingCheck.PASSPORT: "passport_expires",
}


def _label(level: ClearanceLevel) -> str:
    return level.value.replace("_", " ")


def clearance_problem(member: Member, post: Post, end_date: date) -> str | None:
    """Why the member's security clearance does not meet the post's requirement, or None."""
    required = ClearanceLevel(post.clearance_required)
    if required == ClearanceLevel.NONE:
        return None
    if member.clearance_level not in set(ClearanceLevel):
        return f"Security clearance level {member.clearance_level!r} is not a known level"
    held = ClearanceLevel(member.clearance_level)
    if held == ClearanceLevel.NONE:
        return f"No security clearance; post {post.code} requires {_label(required)}"
    if held.rank < required.rank:
        return f"Security clearance is {_label(held)}; post {post.code} requires {_label(required)}"
    if member.clearance_expires is None:
        return "Security clearance has no expiry date on record"
    if member.clearance_expires < end_date:
        return f"Security clearance expires {member.clearance_expires}, before the end date {end_date}"
    return None


def medical_problem(member: Member, end_date: date) -> str | None:
    """Why the member's medical clearance does not cover the deployment, or None."""
    if member.medical_expires is None:
        return "Medical clearance has no expiry date on record"
    if member.medical_expires < end_date:
        return f"Medical clearance expires {member.medical_expires}, before the end date {end_date}"
    return None


def passport_problem(member: Member, end_date: date) -> str | None:
    """Why the member's passport is not valid six months past the end date, or None."""
    needed = add_months(end_date, PASSPORT_MARGIN_MONTHS)
    if member.passport_expires is None:
        return "Passport has no expiry date on record"
    if member.passport_expires < needed:
        return (
            f"Passport expires {member.passport_expires}; it must be valid until {needed}, "
            f"six months past the end date {end_date}"
        )
    return None


class VettingActivities:
    """Roster checks and renewals, owned by one database engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)

    @activity.defn(name="vet_member")
    async def vet_member(self, request: VettingRequest) -> VettingReport:
        """Run every check that is not waived; each failure names the role that may clear it."""
        async with self._sessions() as session:
            member = await require(session, Member, request.member_id)
            post = await require(session, Post, request.post_code)
        problems = {
            VettingCheck.CLEARANCE: (Role.SECURITY, clearance_problem(member, post, request.end_date)),
            VettingCheck.MEDICAL: (Role.MEDICAL, medical_problem(member, request.end_date)),
            VettingCheck.PASSPORT: (Role.SECURITY, passport_problem(member, request.end_date)),
        }
        failures = [
            VettingFailure(check=check, role=role.value, reason=reason)
            for check, (role, reason) in problems.items()
            if reason is not None and check not in request.waived
        ]
        return VettingReport(failures=failures)

    @activity.defn(name="record_renewal")
    async def record_renewal(self, renewal: RecordRenewal) -> None:
        """Record the member's renewed clearance, medical clearance or passport."""
        async with self._sessions.begin() as session:
            member = await require(session, Member, renewal.member_id)
            setattr(member, _EXPIRY_FIELD[renewal.check], renewal.valid_until)
