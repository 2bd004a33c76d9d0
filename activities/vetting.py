"""Vetting: checks the member's clearance, medical and passport against the post and dates."""

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.read_model import ReadModelActivities
from activities.rows import require
from crc.db import session_factory
from crc.domain import FACT_REQUIRED_AFTER_DAYS
from crc.lifecycle import (
    ExtensionCheck,
    ExtensionCheckResult,
    RecordRenewal,
    VettingCheck,
    VettingFailure,
    VettingReport,
    VettingRequest,
)
from crc.member_time import days_abroad, overlapping_deployment
from crc.readiness import clearance_problem, fact_problem, medical_problem, passport_problem
from crc.roles import Role
from crc.tables import Certificate, Member, Post

# The member field each check reads and a renewal writes.
_EXPIRY_FIELD = {
    VettingCheck.CLEARANCE: "clearance_expires",
    VettingCheck.MEDICAL: "medical_expires",
    VettingCheck.PASSPORT: "passport_expires",
}


class VettingActivities:
    """Roster checks and renewals, owned by one database engine."""

    def __init__(self, engine: AsyncEngine, read_model: ReadModelActivities | None = None) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        # Records the stage change a check carries (the move into VETTING), before the check.
        self._read_model = read_model

    @activity.defn(name="vet_member")
    async def vet_member(self, request: VettingRequest) -> VettingReport:
        """Run every check that is not waived; each failure names the role that may clear it."""
        if request.stage_change is not None:
            assert self._read_model is not None, "a stage change needs the read-model's writer"
            await self._read_model.record_stage(request.stage_change)
        async with self._sessions() as session:
            member = await require(session, Member, request.member_id)
            post = await require(session, Post, request.post_code)
        problems = {
            VettingCheck.CLEARANCE: (Role.SECURITY, clearance_problem(member, post, request.end_date)),
            VettingCheck.MEDICAL: (Role.MEDICAL, medical_problem(member, request.end_date)),
            VettingCheck.PASSPORT: (Role.SECURITY, passport_problem(member, request.end_date)),
        }
        failures = [
            VettingFailure(
                check=check,
                role=role.value,
                reason=reason,
                required_level=post.clearance_required if check == VettingCheck.CLEARANCE else None,
            )
            for check, (role, reason) in problems.items()
            if reason is not None and check not in request.waived
        ]
        return VettingReport(failures=failures)

    @activity.defn(name="check_extension")
    async def check_extension(self, request: ExtensionCheck) -> ExtensionCheckResult:
        """The checks a longer stay must pass again: clearance, medical and passport through the new
        end date, no other deployment of the member in the added days, and FACT for the year."""
        async with self._sessions() as session:
            member = await require(session, Member, request.member_id)
            post = await require(session, Post, request.post_code)
            end = request.new_end_date
            problems = [
                clearance_problem(member, post, end),
                medical_problem(member, end),
                passport_problem(member, end),
            ]
            clash = await overlapping_deployment(
                session,
                member_id=request.member_id,
                first=request.start_date,
                last=end,
                exclude_id=request.deployment_id,
            )
            if clash is not None:
                problems.append(
                    f"The member is in deployment {clash.id} from {clash.start_date}, before {end}"
                )
            days = await days_abroad(
                session,
                member_id=request.member_id,
                first=request.start_date,
                last=end,
                exclude_id=request.deployment_id,
            )
            if days >= FACT_REQUIRED_AFTER_DAYS:
                held = (
                    await session.exec(select(Certificate).where(Certificate.member_id == member.id))
                ).all()
                problems.append(fact_problem(held, end, days))
        return ExtensionCheckResult(problems=[p for p in problems if p is not None])

    @activity.defn(name="record_renewal")
    async def record_renewal(self, renewal: RecordRenewal) -> None:
        """Record the member's renewed clearance, medical clearance or passport."""
        async with self._sessions.begin() as session:
            member = await require(session, Member, renewal.member_id)
            setattr(member, _EXPIRY_FIELD[renewal.check], renewal.valid_until)
            if renewal.level is not None:
                member.clearance_level = renewal.level
