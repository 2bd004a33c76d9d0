"""Who of the roster could deploy within 48 hours, by sector: the office dashboard's readiness."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.availability import available_condition
from crc.dates import add_months
from crc.domain import SECTORS, ClearanceLevel, Component
from crc.readiness import CALL_UP_WITHIN_DAYS, PASSPORT_MARGIN_MONTHS
from crc.tables import Member
from web.services.roster import on_roster

_CLEARED = [str(level) for level in ClearanceLevel if level != ClearanceLevel.NONE]


class SectorCount(BaseModel):
    """How many members of a sector could deploy within 48 hours."""

    sector: str
    deployable: int = Field(ge=0)


class DeployableMember(BaseModel):
    """A member who could deploy within 48 hours."""

    id: int
    name: str
    agency: str
    sectors: list[str]
    clearance_level: str
    clearance_expires: date
    medical_expires: date
    passport_expires: date


class ReadinessPublic(BaseModel):
    """Active members deployable within 48 hours: per sector (a member counts in each of their
    sectors), and the members themselves (of `sector` when one is asked for), by name."""

    as_of: date
    deployable_by: date = Field(description="the 48-hour mark: clearances must hold through it")
    total: int = Field(ge=0, description="deployable members, each counted once")
    sector: str | None = Field(description="the sector the member list is narrowed to, if any")
    by_sector: list[SectorCount]
    members: list[DeployableMember]


@dataclass(frozen=True)
class Deployable:
    """The rule's dates: judged on `today`, ready through `by`."""

    today: date

    @property
    def by(self) -> date:
        """The 48-hour mark (crc.readiness.CALL_UP_WITHIN_DAYS)."""
        return self.today + timedelta(days=CALL_UP_WITHIN_DAYS)

    def condition(self) -> sa.ColumnElement[bool]:
        """A WHERE clause on Member: Active, on the roster, nothing (a deployment, a leave or
        other-duties window) holding them from today to the mark, a security clearance and a
        medical clearance valid through it, a passport six months past it (crc.readiness's margin)."""
        return sa.and_(
            col(Member.component) == Component.ACTIVE,
            on_roster(self.today),
            col(Member.clearance_level).in_(_CLEARED),
            col(Member.clearance_expires) >= self.by,
            col(Member.medical_expires) >= self.by,
            col(Member.passport_expires) >= add_months(self.by, PASSPORT_MARGIN_MONTHS),
            available_condition(self.today, self.by, self.today),
        )


def _by_sector(members: Sequence[Member]) -> list[SectorCount]:
    counts = dict.fromkeys(SECTORS, 0)
    for m in members:
        for s in m.sectors:
            if s in counts:
                counts[s] += 1
    return [SectorCount(sector=s, deployable=n) for s, n in counts.items()]


def _public(m: Member) -> DeployableMember:
    # The condition guarantees the dates; the asserts tell the type checker.
    assert m.id is not None and m.clearance_expires and m.medical_expires and m.passport_expires
    return DeployableMember(
        id=m.id,
        name=m.name,
        agency=m.agency,
        sectors=list(m.sectors),
        clearance_level=m.clearance_level,
        clearance_expires=m.clearance_expires,
        medical_expires=m.medical_expires,
        passport_expires=m.passport_expires,
    )


async def readiness(session: AsyncSession, *, today: date, sector: str | None = None) -> ReadinessPublic:
    """The deployable members in one statement (the roster is hundreds, the sectors a JSON list
    counted here rather than unnested in each dialect's own way)."""
    rule = Deployable(today)
    query = select(Member).where(rule.condition()).order_by(col(Member.name), col(Member.id))
    members = list((await session.exec(query)).all())
    listed = [m for m in members if sector is None or sector in m.sectors]
    return ReadinessPublic(
        as_of=today,
        deployable_by=rule.by,
        total=len(members),
        sector=sector,
        by_sector=_by_sector(members),
        members=[_public(m) for m in listed],
    )
