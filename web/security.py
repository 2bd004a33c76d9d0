"""Sign-in: password checks, API bearer tokens and the per-session CSRF token."""

import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.passwords import verify_password
from crc.settings import Settings
from crc.tables import User

_TOKEN_SALT = "api-token"  # noqa: S105 - a salt name, not a secret
CSRF_SESSION_KEY = "csrf"
USER_SESSION_KEY = "username"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.CRC_SECRET_KEY, salt=_TOKEN_SALT)


def create_access_token(settings: Settings, username: str) -> str:
    """A signed, timestamped token that names the user."""
    return _serializer(settings).dumps(username)


def read_access_token(settings: Settings, token: str) -> str | None:
    """The username in a valid, unexpired token, else None."""
    try:
        username = _serializer(settings).loads(token, max_age=settings.CRC_TOKEN_TTL_SECONDS)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    return username if isinstance(username, str) else None


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
    ok = verify_password(password, user.password_hash if user else None)
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


def start_session(session: dict[str, Any], username: str) -> None:
    """Sign the user in with a fresh session (a new CSRF token, nothing kept from before)."""
    session.clear()
    session[USER_SESSION_KEY] = username
    csrf_token(session)
