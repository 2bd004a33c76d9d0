"""One-time set-password links: signed with the app's secret, kept only as a hash, used once."""

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.auth_tables import PasswordLink

LINK_HOURS = 72
_SALT = "set-password-link"
ASK_AGAIN = "Ask an admin for a new link."


class LinkRefused(Exception):
    """The link opens nothing: forged, already used, voided by a newer one, or expired."""

    def __init__(self, why: str, *, status_code: int) -> None:
        super().__init__(f"This link {why}. {ASK_AGAIN}")
        self.status_code = status_code


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def _hash(token: str) -> str:
    # Only the hash is stored: a copy of the table (a backup, a read-only leak) sets no password.
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_link(
    db: AsyncSession, *, username: str, issued_by: str, secret: str, now: datetime
) -> tuple[str, datetime]:
    """A new link's token and expiry; the user's older unused links are voided. The caller commits."""
    await db.exec(
        sa.delete(PasswordLink).where(
            col(PasswordLink.username) == username, col(PasswordLink.used_at).is_(None)
        )
    )
    token = _serializer(secret).dumps({"user": username, "nonce": secrets.token_urlsafe(16)})
    expires_at = now + timedelta(hours=LINK_HOURS)
    db.add(
        PasswordLink(
            token_hash=_hash(token),
            username=username,
            issued_by=issued_by,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return token, expires_at


async def live_link(db: AsyncSession, token: str, *, secret: str, now: datetime) -> PasswordLink:
    """The link's row while it still opens the form; LinkRefused (with a 4xx status) otherwise."""
    try:
        # The signature proves we made it; the row's expiry (on the app's clock) decides the rest.
        _serializer(secret).loads(token, max_age=LINK_HOURS * 3600 + 60)
    except BadSignature:
        raise LinkRefused("is not valid", status_code=404) from None
    row = await db.get(PasswordLink, _hash(token))
    if row is None:
        raise LinkRefused("was replaced by a newer one", status_code=410)
    if row.used_at is not None:
        raise LinkRefused("has already been used", status_code=410)
    if now >= row.expires_at:
        raise LinkRefused(f"has expired (links last {LINK_HOURS} hours)", status_code=410)
    return row


async def consume_link(db: AsyncSession, token: str, *, secret: str, now: datetime) -> str:
    """Mark the link used, once even under races; the username it was for. The caller commits."""
    row = await live_link(db, token, secret=secret, now=now)
    # One conditional UPDATE: of two requests racing with the same link, only one changes the row.
    used = await db.exec(
        sa.update(PasswordLink)
        .where(
            col(PasswordLink.token_hash) == row.token_hash,
            col(PasswordLink.used_at).is_(None),
            col(PasswordLink.expires_at) > now,
        )
        .values(used_at=now)
    )
    if used.rowcount != 1:
        raise LinkRefused("has already been used", status_code=410)
    return row.username
