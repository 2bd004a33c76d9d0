"""Server-side page sessions: the signed cookie carries a random id, the database says if it still holds."""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.accounts import SecurityEventKind, record_security_event
from crc.auth_tables import UserSession
from crc.settings import Settings
from crc.tables import User
from web.security import csrf_token

SESSION_ID_KEY = "sid"
# Set in the cookie (to the username) when a session expires, so the next page says so.
ENDED_KEY = "ended"
# last_seen_at is written at most this often, so reading pages does not write on every request.
TOUCH_EVERY = timedelta(minutes=1)


def _hash(session_id: str) -> str:
    # Only the hash is stored: a copy of the table (a backup, a read-only leak) opens no session.
    return hashlib.sha256(session_id.encode()).hexdigest()


async def start_session(db: AsyncSession, cookie: dict[str, Any], username: str, *, now: datetime) -> None:
    """Sign the user in: a new session row, and a cookie with its id and a new CSRF token only."""
    session_id = secrets.token_urlsafe(32)
    db.add(UserSession(id_hash=_hash(session_id), username=username, created_at=now, last_seen_at=now))
    await db.commit()
    cookie.clear()
    cookie[SESSION_ID_KEY] = session_id
    csrf_token(cookie)


async def end_session(db: AsyncSession, cookie: dict[str, Any]) -> str | None:
    """End the cookie's session (its row goes); the username it belonged to, if any."""
    session_id = cookie.get(SESSION_ID_KEY)
    cookie.clear()
    if not isinstance(session_id, str):
        return None
    row = await db.get(UserSession, _hash(session_id))
    if row is None:
        return None
    await db.delete(row)
    await db.commit()
    return row.username


def _expired(row: UserSession, settings: Settings, now: datetime) -> bool:
    idle = now - row.last_seen_at >= timedelta(minutes=settings.CRC_SESSION_IDLE_MINUTES)
    too_old = now - row.created_at >= timedelta(hours=settings.CRC_SESSION_MAX_HOURS)
    return idle or too_old


async def session_user(
    db: AsyncSession, cookie: dict[str, Any], settings: Settings, *, now: datetime
) -> User | None:
    """The active user of a live session; an expired session is ended, a live one touched."""
    session_id = cookie.get(SESSION_ID_KEY)
    if not isinstance(session_id, str):
        return None
    # The session and its user in one statement: every signed-in page starts here.
    query = (
        select(UserSession, User)
        .outerjoin(User, col(User.username) == col(UserSession.username))
        .where(col(UserSession.id_hash) == _hash(session_id))
    )
    found = (await db.exec(query)).first()
    if found is None:
        return None
    row, user = found
    if _expired(row, settings, now):
        record_security_event(db, SecurityEventKind.SESSION_EXPIRED, username=row.username, actor="system")
        await end_session(db, cookie)
        cookie[ENDED_KEY] = row.username
        return None
    if user is None or not user.is_active:
        return None
    # Detached (as get_active_user leaves it), so a commit or rollback later cannot expire it.
    db.expunge(user)
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.add(row)
        await db.commit()
    return user


async def session_holds(db: AsyncSession, session_id: object, settings: Settings, *, now: datetime) -> bool:
    """Whether the session with this id still holds; unlike session_user it neither touches nor
    ends it (a page's open live stream is not the user at work)."""
    if not isinstance(session_id, str):
        return False
    row = await db.get(UserSession, _hash(session_id), populate_existing=True)
    return row is not None and not _expired(row, settings, now)
