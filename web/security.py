"""Sign-in: password checks, API bearer tokens and the per-session CSRF token."""

import asyncio
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.passwords import verify_password
from crc.settings import Settings
from crc.tables import User, utcnow

_TOKEN_SALT = "api-token-v2"  # noqa: S105 - a salt name, not a secret; v2 tokens carry a jti
CSRF_SESSION_KEY = "csrf"


@dataclass(frozen=True)
class TokenClaims:
    """What a valid API token says: whose it is, its id (for revoking) and when it was issued."""

    username: str
    jti: str
    issued_at: datetime
    expires_at: datetime


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.CRC_SECRET_KEY, salt=_TOKEN_SALT)


def create_access_token(settings: Settings, username: str, *, now: datetime | None = None) -> str:
    """A signed token that names the user, with a random id and the time it was issued."""
    issued = (now or utcnow()).timestamp()
    return _serializer(settings).dumps({"sub": username, "jti": secrets.token_urlsafe(16), "iat": issued})


def read_access_token(settings: Settings, token: str, *, now: datetime | None = None) -> TokenClaims | None:
    """The claims of a well-signed, unexpired token, else None (revocation is checked by the caller)."""
    try:
        claims = _serializer(settings).loads(token)
    except BadSignature:
        return None
    if not isinstance(claims, dict):
        return None
    username, jti, iat = claims.get("sub"), claims.get("jti"), claims.get("iat")
    if not (isinstance(username, str) and isinstance(jti, str) and isinstance(iat, int | float)):
        return None
    issued_at = datetime.fromtimestamp(iat, UTC)
    expires_at = issued_at + timedelta(seconds=settings.CRC_TOKEN_TTL_SECONDS)
    if (now or utcnow()) >= expires_at:
        return None
    return TokenClaims(username, jti, issued_at, expires_at)


async def get_active_user(session: AsyncSession, username: str) -> User | None:
    """The active user with this username, if any."""
    user = (await session.exec(select(User).where(User.username == username))).first()
    if user is None or not user.is_active:
        return None
    # Detached, so a rollback later in the request cannot expire it.
    session.expunge(user)
    return user


async def authenticate(session: AsyncSession, *, username: str, password: str) -> User | None:
    """The user when the password is right; spends the same time when the user is unknown."""
    user = (await session.exec(select(User).where(User.username == username))).first()
    # argon2 takes a CPU-bound ~0.2 s: on the event loop it would hold every other request.
    ok = await asyncio.to_thread(verify_password, password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        return None
    return user


def csrf_token(session: dict[str, Any]) -> str:
    """This session's CSRF token, created on first use."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def csrf_matches(session: dict[str, Any], given: str | None) -> bool:
    """True when the given token is this session's CSRF token."""
    expected = session.get(CSRF_SESSION_KEY)
    if not isinstance(expected, str) or not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
