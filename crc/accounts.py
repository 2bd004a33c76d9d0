"""Account actions the session rules need (sign out everywhere, disable, set a password) and their
audit: the security events, and the user audit of changes to the user."""

import asyncio
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.auth_tables import SecurityEvent, UserSession
from crc.passwords import NO_PASSWORD, hash_password, verify_password
from crc.tables import User, utcnow
from crc.user_audit import before_after, record_user_change
from crc.users import UserAction

DEFAULT_DEMO_PASSWORD = "demo"  # noqa: S105 - refused outside dev even when CRC_DEMO_PASSWORD differs
AUDIT_NAME_LENGTH = 64  # SecurityEvent.username: a typed username may be longer


class SecurityEventKind(StrEnum):
    """What a security audit entry records."""

    SIGNED_IN = "signed_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_LOCKED = "sign_in_locked"  # refused while locked, or this failure locked it
    SIGNED_OUT = "signed_out"
    SESSION_EXPIRED = "session_expired"
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - an event name
    SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"
    USER_DISABLED = "user_disabled"
    PASSWORD_SET = "password_set"  # noqa: S105 - an event name


class UnknownUser(LookupError):
    """No user has this username."""


def record_security_event(
    db: AsyncSession,
    kind: SecurityEventKind,
    *,
    username: str,
    actor: str,
    address: str = "",
    detail: str = "",
) -> None:
    """Add an audit entry to the session; the caller commits it with the change it records."""
    db.add(
        SecurityEvent(
            kind=kind.value,
            username=username[:AUDIT_NAME_LENGTH],
            actor=actor[:AUDIT_NAME_LENGTH],
            address=address[:64],
            detail=detail,
        )
    )


async def _user(db: AsyncSession, username: str) -> User:
    user = (await db.exec(select(User).where(User.username == username))).first()
    if user is None:
        raise UnknownUser(username)
    return user


async def _end_everything(
    db: AsyncSession, user: User, kind: SecurityEventKind, *, actor: str, address: str, now: datetime | None
) -> int:
    """Delete the user's page sessions, void their API tokens, audit why and commit with the change
    the caller made to the user; how many sessions ended."""
    ended = int(
        (await db.exec(sa.delete(UserSession).where(col(UserSession.username) == user.username))).rowcount
    )
    user.tokens_valid_after = now or utcnow()
    db.add(user)
    record_security_event(
        db, kind, username=user.username, actor=actor, address=address,
        detail=f"{ended} page sessions ended; API tokens void",
    )  # fmt: skip
    await db.commit()
    return ended


async def sign_out_everywhere(
    db: AsyncSession, *, username: str, actor: str, address: str = "", now: datetime | None = None
) -> int:
    """End every page session and API token of the user; the number of page sessions ended."""
    user = await _user(db, username)
    return await _end_everything(
        db, user, SecurityEventKind.SIGNED_OUT_EVERYWHERE, actor=actor, address=address, now=now
    )


async def disable_user(
    db: AsyncSession, *, username: str, actor: str, address: str = "", now: datetime | None = None
) -> None:
    """Stop the user signing in, and end their sessions and tokens now."""
    user = await _user(db, username)
    if user.is_active:
        record_user_change(
            db, UserAction.DISABLED, actor=actor, target=username,
            changes={"is_active": before_after(True, False)},
        )  # fmt: skip
    user.is_active = False
    await _end_everything(db, user, SecurityEventKind.USER_DISABLED, actor=actor, address=address, now=now)


async def set_password(
    db: AsyncSession,
    *,
    username: str,
    password: str,
    actor: str,
    address: str = "",
    now: datetime | None = None,
) -> None:
    """Give the user a new password; their sessions and tokens end, so the old one opens nothing."""
    password_hash = await asyncio.to_thread(hash_password, password)
    await set_password_hash(
        db, username=username, password_hash=password_hash, actor=actor, address=address, now=now
    )


async def set_password_hash(
    db: AsyncSession,
    *,
    username: str,
    password_hash: str,
    actor: str,
    address: str = "",
    now: datetime | None = None,
) -> None:
    """set_password with the hash made beforehand (so no write waits on argon2); commits what the
    session holds with it."""
    user = await _user(db, username)
    record_user_change(
        db, UserAction.PASSWORD_SET, actor=actor, target=username,
        changes={"has_password": before_after(not user.password_hash.startswith(NO_PASSWORD), True)},
    )  # fmt: skip
    user.password_hash = password_hash
    await _end_everything(db, user, SecurityEventKind.PASSWORD_SET, actor=actor, address=address, now=now)


async def users_with_password(db: AsyncSession, passwords: Iterable[str]) -> list[str]:
    """The active users whose password is one of these (each checked against their hash)."""
    candidates = sorted(set(passwords))
    users = (await db.exec(select(User).where(User.is_active == True).order_by(User.username))).all()  # noqa: E712

    def matches(user: User) -> bool:
        return any(verify_password(password, user.password_hash) for password in candidates)

    return [user.username for user in users if await asyncio.to_thread(matches, user)]


async def demo_password_refusal(db: AsyncSession, demo_password: str) -> str | None:
    """Why a production process must not start (active users with the demo password), else None."""
    users = await users_with_password(db, {demo_password, DEFAULT_DEMO_PASSWORD})
    if not users:
        return None
    return (
        f"these active users still have the demo password: {', '.join(users)}. Give each a new one "
        "with `crc users set-password USERNAME`, or disable it with `crc users disable USERNAME`"
    )
