"""Roster queries for the pages: members with certificates and current deployment, the request
form's member search (availability and missing certificates), and the admin's edits."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.availability import Busy, busy_members
from crc.domain import COURSE_FACT, COURSE_ORIENTATION
from crc.stages import TERMINAL
from crc.tables import Certificate, Deployment, Member, User
from web.services.roster import RosterSearch, certificates_of, on_roster, search_roster
from web.services.visibility import visible_to

REQUIRED_COURSES = (COURSE_FACT, COURSE_ORIENTATION)
EXPIRING_WITHIN = timedelta(days=90)
SEARCH_LIMIT = 50


@dataclass
class MemberCard:
    """A member as the roster page and the member search show them."""

    member: Member
    certificates: list[Certificate] = field(default_factory=list)
    busy_with: Busy | None = None  # what holds them over the asked dates (crc.availability)
    current: Deployment | None = None  # the running deployment, if any
    notes: list[str] = field(default_factory=list)  # missing or expiring certificates

    @property
    def available(self) -> bool:
        """Free over the asked dates."""
        return self.busy_with is None


def certificate_notes(certs: list[Certificate], *, until: date, today: date) -> list[str]:
    """What is missing or runs out: FACT and orientation, needed valid through `until`."""
    notes = []
    for course in REQUIRED_COURSES:
        held = [c for c in certs if c.course_code == course]
        best = max(held, key=lambda c: c.expires_on or date.max, default=None)
        if best is None:
            notes.append(f"{course} missing")
        elif best.expires_on is not None and best.expires_on < today:
            notes.append(f"{course} expired {best.expires_on.isoformat()}")
        elif best.expires_on is not None and best.expires_on < until:
            notes.append(f"{course} expires {best.expires_on.isoformat()}")
    return notes


async def _running(session: AsyncSession, user: User, member_ids: list[int]) -> dict[int, Deployment]:
    """Each member's running deployment that the user may see (need-to-know)."""
    if not member_ids:
        return {}
    query = (
        select(Deployment)
        .where(col(Deployment.member_id).in_(member_ids), visible_to(user))
        .where(col(Deployment.stage).not_in([str(s) for s in TERMINAL]))
        .order_by(col(Deployment.start_date))
    )
    found: dict[int, Deployment] = {}
    for d in (await session.exec(query)).all():
        found.setdefault(d.member_id, d)
    return found


async def member_cards(
    session: AsyncSession,
    members: list[Member],
    *,
    user: User,
    today: date,
    start: date | None = None,
    end: date | None = None,
) -> list[MemberCard]:
    """Cards for members: certificates, what holds them from `start` to `end` (default: today on),
    and the running deployment if the user may see it."""
    ids = [m.id for m in members if m.id is not None]
    first = start or today
    last = end or first
    certs = await certificates_of(session, ids)
    holding = await busy_members(session, ids, first=first, last=last, today=today)
    running = await _running(session, user, ids)
    until = max(last, today + EXPIRING_WITHIN)
    return [
        MemberCard(
            member=m,
            certificates=certs.get(m.id or 0, []),
            busy_with=holding.get(m.id or 0),
            current=running.get(m.id or 0),
            notes=certificate_notes(certs.get(m.id or 0, []), until=until, today=today),
        )
        for m in members
    ]


async def search_members(
    session: AsyncSession,
    *,
    user: User,
    text: str,
    today: date,
    start: date | None,
    end: date | None,
    selected: int | None = None,
) -> list[MemberCard]:
    """Members whose name, agency or sector matches, the selected one first, with availability."""
    # Retired members cannot be requested, so the request form never offers them.
    query = (
        select(Member).where(on_roster(today)).order_by(col(Member.name), col(Member.id)).limit(SEARCH_LIMIT)
    )
    needle = text.strip().lower()
    if needle:
        query = query.where(
            func.lower(col(Member.name)).contains(needle, autoescape=True)
            | func.lower(col(Member.agency)).contains(needle, autoescape=True)
        )
    members = list((await session.exec(query)).all())
    if selected is not None and all(m.id != selected for m in members):
        chosen = await session.get(Member, selected)
        if chosen is not None and (chosen.retired_on is None or chosen.retired_on > today):
            members.insert(0, chosen)
    return await member_cards(session, members, user=user, today=today, start=start, end=end)


async def roster_cards(
    session: AsyncSession, search: RosterSearch, *, user: User, today: date
) -> list[MemberCard]:
    """The roster page's members, searched; availability over the search's dates."""
    search.check(today)
    first, last = search.span(today)
    members = await search_roster(session, search, today=today)
    return await member_cards(session, members, user=user, today=today, start=first, end=last)
