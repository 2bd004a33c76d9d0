"""Searching the roster, and the members and posts as the API shows them."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.availability import available_condition, busy_members
from crc.tables import AvailabilityWindow, Certificate, Course, Member, Post
from web.schemas import CertificatePublic, MemberPublic, PostPublic, WindowPublic
from web.services.errors import FieldError, InvalidFields


@dataclass(frozen=True)
class RosterSearch:
    """What the roster is searched by; empty fields match everyone."""

    name: str = ""  # a part of the name, any case
    sector: str | None = None
    component: str | None = None
    agency: str | None = None
    language: str | None = None  # any case
    min_level: int | None = None  # with `language`: at least this ILR level
    certificate: str | None = None  # holds a certificate of this course, valid today
    missing_certificate: str | None = None  # holds none valid today
    available_from: date | None = None
    available_to: date | None = None
    include_retired: bool = False

    def asks_dates(self) -> bool:
        """Whether only the members available over some dates are asked for."""
        return self.available_from is not None or self.available_to is not None

    def span(self, today: date) -> tuple[date, date]:
        """The days availability is judged over: the asked ones, else today."""
        first = self.available_from or today
        return first, self.available_to or first

    def check(self, today: date) -> None:
        """InvalidFields for filters that cannot go together."""
        errors = []
        if self.min_level is not None and not self.language:
            errors.append(FieldError("min_level", "give a language too", location="query"))
        first, last = self.span(today)
        if last < first:
            name = "available_from" if self.available_to is None else "available_to"
            errors.append(FieldError(name, "must not be before available_from (or today)", location="query"))
        if errors:
            raise InvalidFields(errors)


async def check_courses(session: AsyncSession, search: RosterSearch) -> None:
    """InvalidFields for a certificate filter naming a course nobody knows (it would match nothing)."""
    errors = []
    for name in ("certificate", "missing_certificate"):
        code = getattr(search, name)
        if code and await session.get(Course, code) is None:
            errors.append(FieldError(name, "no course has this code", location="query"))
    if errors:
        raise InvalidFields(errors)


def on_roster(today: date) -> sa.ColumnElement[bool]:
    """Members not retired by `today`."""
    return sa.or_(col(Member.retired_on).is_(None), col(Member.retired_on) > today)


def _valid_certificate(course: str, today: date) -> sa.ColumnElement[bool]:
    return sa.exists().where(
        col(Certificate.member_id) == col(Member.id),
        col(Certificate.course_code) == course,
        sa.or_(col(Certificate.expires_on).is_(None), col(Certificate.expires_on) >= today),
    )


def _speaks(member: Member, language: str, min_level: int | None) -> bool:
    wanted = language.strip().casefold()
    for spoken in member.languages:
        if spoken.casefold() == wanted:
            level = member.language_levels.get(spoken)
            return min_level is None or (level is not None and level >= min_level)
    return False


async def search_roster(session: AsyncSession, search: RosterSearch, *, today: date) -> list[Member]:
    """The members matching every filter, by name."""
    query = select(Member).order_by(col(Member.name), col(Member.id))
    if not search.include_retired:
        query = query.where(on_roster(today))
    needle = search.name.strip().lower()
    if needle:
        query = query.where(func.lower(col(Member.name)).contains(needle, autoescape=True))
    if search.component:
        query = query.where(Member.component == search.component)
    if search.agency:
        query = query.where(Member.agency == search.agency)
    if search.certificate:
        query = query.where(_valid_certificate(search.certificate, today))
    if search.missing_certificate:
        query = query.where(sa.not_(_valid_certificate(search.missing_certificate, today)))
    if search.asks_dates():
        first, last = search.span(today)
        query = query.where(available_condition(first, last, today))
    members = list((await session.exec(query)).all())
    # Sectors and languages are JSON lists, which SQLite and PostgreSQL search differently;
    # the roster is a few hundred people, so these two filters run here on every database.
    if search.sector:
        members = [m for m in members if search.sector in m.sectors]
    if search.language:
        members = [m for m in members if _speaks(m, search.language, search.min_level)]
    return members


async def certificates_of(session: AsyncSession, member_ids: Sequence[int]) -> dict[int, list[Certificate]]:
    """Each member's certificates, by course."""
    found: dict[int, list[Certificate]] = defaultdict(list)
    if member_ids:
        query = (
            select(Certificate)
            .where(col(Certificate.member_id).in_(member_ids))
            .order_by(col(Certificate.course_code))
        )
        for c in (await session.exec(query)).all():
            found[c.member_id].append(c)
    return found


async def windows_of(session: AsyncSession, member_ids: Sequence[int]) -> dict[int, list[AvailabilityWindow]]:
    """Each member's availability windows, earliest first."""
    found: dict[int, list[AvailabilityWindow]] = defaultdict(list)
    if member_ids:
        query = (
            select(AvailabilityWindow)
            .where(col(AvailabilityWindow.member_id).in_(member_ids))
            .order_by(col(AvailabilityWindow.starts_on), col(AvailabilityWindow.id))
        )
        for w in (await session.exec(query)).all():
            found[w.member_id].append(w)
    return found


async def members_public(
    session: AsyncSession, members: Sequence[Member], *, first: date, last: date, today: date
) -> list[MemberPublic]:
    """The members as the API shows them, `available` over `first` to `last`."""
    ids = [m.id for m in members if m.id is not None]
    busy = await busy_members(session, ids, first=first, last=last, today=today)
    certs = await certificates_of(session, ids)
    windows = await windows_of(session, ids)
    return [
        MemberPublic.model_validate(
            {
                **m.model_dump(),
                "certificates": [CertificatePublic.model_validate(c) for c in certs.get(m.id or 0, [])],
                "windows": [WindowPublic.model_validate(w) for w in windows.get(m.id or 0, [])],
                # A retired member is never available: they cannot be requested.
                "available": m.id not in busy and (m.retired_on is None or m.retired_on > last),
            }
        )
        for m in members
    ]


async def list_members(session: AsyncSession, search: RosterSearch, *, today: date) -> list[MemberPublic]:
    """The members matching the search, each with whether they are free over its dates."""
    search.check(today)
    first, last = search.span(today)
    return await members_public(
        session, await search_roster(session, search, today=today), first=first, last=last, today=today
    )


async def count_available(session: AsyncSession, *, today: date) -> tuple[int, int]:
    """(members on the roster, those of them available today), by the one availability rule."""
    on = select(func.count()).select_from(Member).where(on_roster(today))
    members = int((await session.exec(on)).one())
    free = int((await session.exec(on.where(available_condition(today, today, today)))).one())
    return members, free


async def list_posts(session: AsyncSession) -> list[PostPublic]:
    """Every receiving post, by code."""
    posts = (await session.exec(select(Post).order_by(Post.code))).all()
    return [PostPublic.model_validate(p) for p in posts]
