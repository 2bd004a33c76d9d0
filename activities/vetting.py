"""Vetting: checks the member's clearance, medical and passport against the post and dates."""

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.rows import require
from crc.db import session_factory
from crc.lifecycle import RecordRenewal, VettingCheck, VettingFailure, VettingReport, VettingRequest
from crc.readiness import clearance_problem, medical_problem, passport_problem
from crc.roles import Role
from crc.tables import Member, Post

# The member field each check reads and a renewal writes.
_EXPIRY_FIELD = {
    VettingCheck.CLEARANCE: "clearance_expires",
    VettingCheck.MEDICAL: "medical_expires",
    VettingCheck.PASSPORT: "passport_expires",
}


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
