"""Passwords of users an admin creates: the one-time link, and setting a password through it."""

import asyncio
import logging
import smtplib
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc import mail
from crc.accounts import set_password_hash
from crc.password_links import LINK_HOURS, issue_link, live_link
from crc.password_links import consume_link as consume
from crc.password_policy import password_problem
from crc.passwords import hash_password
from crc.settings import Settings
from crc.tables import Member, User
from crc.user_audit import before_after, record_user_change
from crc.users import UserAction, UserCreate
from web.security import password_work
from web.services.errors import Conflict, FieldError, InvalidFields
from web.services.user_admin import create_user, get_user

__all__ = [
    "LINK_HOURS",
    "create_with_link",
    "email_link",
    "link_user",
    "reissue_link",
    "set_password_by_link",
]
log = logging.getLogger(__name__)


def link_path(token: str) -> str:
    """Where a set-password link points, on this site."""
    return f"/set-password/{token}"


async def email_link(
    settings: Settings, user: User, token: str, expires_at: datetime, *, created: bool
) -> bool:
    """Email the user their set-password link; False (logged) when it could not be sent.
    Sent from the web process, never through a workflow: the token must stay out of histories."""
    if not user.email:
        return False
    message = mail.compose(
        settings,
        to=user.email,
        subject="Set your password for CRC deployments"
        if created
        else "A new link to set your password for CRC deployments",
        template="password_link",
        message_id=f"password-link-{user.username}-{int(expires_at.timestamp())}",
        name=user.full_name or user.username,
        username=user.username,
        link=link_path(token),
        hours=LINK_HOURS,
        expires=expires_at.strftime("%d %b %Y %H:%M UTC"),
        created=created,
    )
    try:
        # smtplib blocks: keep it off the event loop.
        await asyncio.to_thread(mail.send, settings, message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("could not email the set-password link to %s: %s", user.username, exc)
        return False
    return True


async def _link(
    db: AsyncSession, username: str, *, actor: str, secret: str, now: datetime
) -> tuple[str, datetime]:
    token, expires_at = await issue_link(db, username=username, issued_by=actor, secret=secret, now=now)
    record_user_change(
        db, UserAction.PASSWORD_LINK_ISSUED, actor=actor, target=username,
        changes={"expires_at": before_after(None, expires_at.isoformat())},
    )  # fmt: skip
    return token, expires_at


async def create_with_link(
    db: AsyncSession, body: UserCreate, *, actor: str, secret: str, now: datetime
) -> tuple[User, str, datetime]:
    """Create the user and their first set-password link, in one commit; (user, token, expiry)."""
    user = await create_user(db, body, actor=actor)
    try:
        # The link's query flushes the new user: a clash shows there or at the commit.
        token, expires_at = await _link(db, body.username, actor=actor, secret=secret, now=now)
        await db.commit()
    except sa.exc.IntegrityError:
        # Another admin took the username or linked the member a moment ago: say which.
        await db.rollback()
        if (await db.exec(select(User.id).where(User.username == body.username))).first() is not None:
            raise Conflict(f"the username {body.username!r} is taken; choose another") from None
        raise InvalidFields(
            [FieldError("member_id", "this member was just linked to another user", body.member_id)]
        ) from None
    await db.refresh(user)
    return user, token, expires_at


async def reissue_link(
    db: AsyncSession, username: str, *, actor: str, secret: str, now: datetime
) -> tuple[str, datetime]:
    """A fresh link for the user (older ones are void), audited and committed."""
    await get_user(db, username)
    token, expires_at = await _link(db, username, actor=actor, secret=secret, now=now)
    await db.commit()
    return token, expires_at


async def link_user(db: AsyncSession, token: str, *, secret: str, now: datetime) -> User:
    """The user a live link is for; LinkRefused otherwise."""
    row = await live_link(db, token, secret=secret, now=now)
    return await get_user(db, row.username)


async def _names(db: AsyncSession, user: User) -> list[str]:
    member = await db.get(Member, user.member_id) if user.member_id is not None else None
    return [user.full_name, *([member.name] if member else [])]


async def set_password_by_link(
    db: AsyncSession, token: str, *, password: str, confirm: str, secret: str, now: datetime, address: str
) -> str:
    """Check the password, use up the link and set it (ending any sessions); the username.
    InvalidFields for a password that will not do, LinkRefused for a link that opens nothing."""
    user = await link_user(db, token, secret=secret, now=now)
    names = await _names(db, user)
    problem = await password_work(password_problem, password, username=user.username, names=names)
    if problem:
        raise InvalidFields([FieldError("password", problem)])
    if confirm != password:
        raise InvalidFields([FieldError("confirm", "does not match the new password; type it again")])
    password_hash = await password_work(hash_password, password)
    username = await consume(db, token, secret=secret, now=now)
    await set_password_hash(
        db, username=username, password_hash=password_hash, actor=username, address=address, now=now
    )  # audits it, and commits the used link, the audit and the new hash together
    return username
