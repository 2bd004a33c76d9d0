"""The side effects of PostDepartureWorkflow: the post's open deployments, the roll-call's rows,
the departure's status and its audit log."""

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.rows import insert_ignoring_duplicates, require
from crc.db import session_factory
from crc.departure_tables import DepartureEvent, DepartureRollCall, PostDeparture
from crc.departures import (
    DepartureEntry,
    DepartureStatusChange,
    ListedMembers,
    ListMembers,
    RollCallMember,
    RollCallWrite,
    standing_at,
)
from crc.stages import TERMINAL, Stage
from crc.tables import Deployment, Member, utcnow

# The roll-call row's fields a report changes.
ROW_FIELDS = (
    "standing",
    "accounted_at",
    "accounted_by",
    "departed_at",
    "return_booked_at",
    "ended_at",
)


async def _audit(session: AsyncSession, departure_id: str, entry: DepartureEntry) -> None:
    row = {
        "key": entry.key,
        "departure_id": departure_id,
        "kind": entry.kind,
        "actor": entry.actor,
        "message": entry.message,
        "data": entry.data,
        "occurred_at": entry.at,
    }
    await insert_ignoring_duplicates(session, DepartureEvent, [row], ["key"])


class DepartureActivities:
    """Reads of the post's deployments and writes of the departures read-model."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)

    @activity.defn(name="departure_list_members")
    async def list_members(self, listing: ListMembers) -> ListedMembers:
        """Every open deployment at the post, each a first roll-call row (once), oldest first."""
        async with self._sessions.begin() as session:
            rows = (
                await session.exec(
                    select(Deployment, Member)
                    .join(Member, col(Member.id) == col(Deployment.member_id))
                    .where(
                        Deployment.post_code == listing.post_code,
                        col(Deployment.stage).not_in([s.value for s in TERMINAL]),
                    )
                    .order_by(col(Deployment.created_at), col(Deployment.id))
                )
            ).all()
            members = [
                RollCallMember(
                    deployment_id=deployment.id,
                    member_id=deployment.member_id,
                    member_name=member.name,
                    stage=deployment.stage,
                    standing=standing_at(Stage(deployment.stage)),
                )
                for deployment, member in rows
            ]
            now = utcnow()
            await insert_ignoring_duplicates(
                session,
                DepartureRollCall,
                [
                    {
                        "departure_id": listing.departure_id,
                        "deployment_id": m.deployment_id,
                        "member_id": m.member_id,
                        "member_name": m.member_name[:200],
                        "stage": m.stage,
                        "standing": m.standing.value,
                        "settled": False,
                        "updated_at": now,
                    }
                    for m in members
                ],
                ["departure_id", "deployment_id"],
            )
            await _audit(session, listing.departure_id, listing.entry)
        return ListedMembers(members=members)

    @activity.defn(name="departure_write_roll_call")
    async def write_roll_call(self, write: RollCallWrite) -> None:
        """Write one member's row as it now stands, and the audit entry that says what changed."""
        member = write.member
        async with self._sessions.begin() as session:
            row = (
                await session.exec(
                    select(DepartureRollCall).where(
                        DepartureRollCall.departure_id == write.departure_id,
                        DepartureRollCall.deployment_id == member.deployment_id,
                    )
                )
            ).one()
            for name in ROW_FIELDS:
                setattr(row, name, getattr(member, name))
            row.settled = member.settled
            row.updated_at = write.entry.at
            await _audit(session, write.departure_id, write.entry)

    @activity.defn(name="departure_record_status")
    async def record_status(self, change: DepartureStatusChange) -> None:
        """Write the departure's status (and when it ended), and its audit entry."""
        async with self._sessions.begin() as session:
            row = await require(session, PostDeparture, change.departure_id)
            row.status = change.status.value
            row.ended_at = change.ended_at
            await _audit(session, change.departure_id, change.entry)
