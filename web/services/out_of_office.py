"""Out of office: a user's period away with a delegate, and what the period offers the delegate.

While a user is away, the tasks offered to them are offered to their delegate too: the
delegate's Actor gains the absent user's scope for each role handed over (so the workflow's
validator, which trusts the Actor it is given, accepts their decision), and the absent user's
claims stand in the delegate's way no more.
"""

from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.roles import ESCALATION_ROLE, ROLE_LABELS, SCOPED_ROLES, Role
from crc.tables import OutOfOffice, User, utcnow
from crc.tasks import TASK_KINDS
from web.services.errors import FieldError, InvalidFields

# The roles that decide tasks, and so may be handed over while away (a member's own tasks are
# theirs alone; the coordinator offices that act for them decide those too).
DECIDING_ROLES: frozenset[str] = frozenset(
    {role for spec in TASK_KINDS.values() for role in spec.roles if role != Role.MEMBER}
    | {spec.on_behalf for spec in TASK_KINDS.values() if spec.on_behalf is not None}
    | {ESCALATION_ROLE}
)


def day_label(day: date) -> str:
    """A date as the inbox says it: "5 Dec 2026"."""
    return f"{day.day} {day:%b %Y}"


@dataclass(frozen=True)
class Cover:
    """An absent user whose tasks the signed-in delegate is offered today."""

    absent: str  # username
    absent_name: str
    ends_on: date
    roles: frozenset[str]  # handed over, and held by the delegate
    scopes: dict[str, list[str]]  # the absent user's scopes (a role not named covers all)

    @property
    def reason(self) -> str:
        """Why an inbox row is offered to the delegate."""
        return f"Offered to you while {self.absent_name} is out of office until {day_label(self.ends_on)}"


async def out_of_office_of(session: AsyncSession, username: str) -> OutOfOffice | None:
    """The user's out-of-office period (set, running or to come), if any."""
    return await session.get(OutOfOffice, username, populate_existing=True)


async def set_out_of_office(
    session: AsyncSession,
    *,
    user: User,
    delegate: str,
    starts_on: date,
    ends_on: date,
    today: date,
) -> OutOfOffice:
    """Set (or replace) the user's period away; 422 naming the field that is wrong."""
    errors: list[FieldError] = []
    if starts_on < today:
        errors.append(FieldError("starts_on", "the period must not start in the past", starts_on.isoformat()))
    if ends_on < starts_on:
        errors.append(FieldError("ends_on", "must be on or after starts_on", ends_on.isoformat()))
    roles = sorted(DECIDING_ROLES.intersection(user.roles))
    problem = await _delegate_problem(session, user=user, delegate=delegate, roles=roles)
    if problem:
        errors.append(FieldError("delegate", problem, delegate))
    if errors:
        raise InvalidFields(errors)
    row = await out_of_office_of(session, user.username)
    if row is None:
        row = OutOfOffice(username=user.username, delegate=delegate, starts_on=starts_on, ends_on=ends_on)
    row.delegate, row.starts_on, row.ends_on, row.roles = delegate, starts_on, ends_on, roles
    row.created_at = utcnow()
    session.add(row)
    await session.commit()
    await session.refresh(row)
    return row


async def _delegate_problem(session: AsyncSession, *, user: User, delegate: str, roles: list[str]) -> str:
    """What is wrong with the chosen delegate, or "" if nothing."""
    if not roles:
        return "you hold no role whose tasks can be handed over"
    if delegate == user.username:
        return "choose someone other than yourself"
    found = (await session.exec(select(User).where(User.username == delegate))).first()
    if found is None or not found.is_active:
        return f"no active user is called {delegate!r}"
    missing = [ROLE_LABELS[Role(r)] for r in roles if r not in found.roles]
    if missing:
        return f"{delegate} does not hold the role you hand over: {', '.join(missing)}"
    return ""


async def cancel_out_of_office(session: AsyncSession, *, user: User) -> bool:
    """End the user's period away now; False if none was set."""
    row = await out_of_office_of(session, user.username)
    if row is None:
        return False
    await session.delete(row)
    await session.commit()
    return True


async def covers_for(session: AsyncSession, username: str, today: date) -> list[Cover]:
    """The absent users whose tasks `username` is offered today, as their delegate."""
    query = (
        select(OutOfOffice, User)
        .join(User, col(User.username) == col(OutOfOffice.username))
        .where(
            OutOfOffice.delegate == username,
            col(OutOfOffice.starts_on) <= today,
            col(OutOfOffice.ends_on) >= today,
            User.is_active == True,  # noqa: E712 - SQL, not Python truth
        )
        .order_by(col(OutOfOffice.username))
    )
    return [
        Cover(
            absent=away.username,
            absent_name=absent.full_name or absent.username,
            ends_on=away.ends_on,
            roles=frozenset(away.roles).intersection(absent.roles),
            scopes=dict(absent.scopes),
        )
        for away, absent in (await session.exec(query)).all()
    ]


def merged_scopes(user: User, covers: list[Cover]) -> dict[str, list[str]]:
    """The user's scopes widened by each absent user's, for each role handed over that they hold."""
    scopes = {role: list(values) for role, values in user.scopes.items()}
    for cover in covers:
        for role in cover.roles.intersection(user.roles):
            if role not in SCOPED_ROLES:
                continue
            theirs = cover.scopes.get(role)
            if theirs is None or role not in scopes:  # either covers all: so does the delegate now
                scopes.pop(role, None)
            else:
                scopes[role] = sorted(set(scopes[role]) | set(theirs))
    return scopes


def acting_user(user: User, covers: list[Cover]) -> User:
    """The user as they act today: with the absent users' scopes (a copy never written back)."""
    if not covers:
        return user
    merged = merged_scopes(user, covers)
    if merged == user.scopes:
        return user
    return User(**(user.model_dump() | {"scopes": merged}))


async def possible_delegates(session: AsyncSession, user: User) -> list[User]:
    """The active users who hold each of the user's deciding roles (those a page offers)."""
    roles = DECIDING_ROLES.intersection(user.roles)
    if not roles:
        return []
    query = select(User).where(User.is_active == True, User.username != user.username)  # noqa: E712
    found = (await session.exec(query.order_by(col(User.full_name), col(User.username)))).all()
    return [u for u in found if roles.issubset(u.roles)]
