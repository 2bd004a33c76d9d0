"""Sign-in: password checks, API bearer tokens and the per-session CSRF token."""

import asyncio
import functools
import hmac
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.passwords import verify_password
from crc.settings import Settings
from crc.tables import User, utcnow

_TOKEN_SALT = "api-token-v2"  # noqa: S105 - a salt name, not a secret; v2 tokens carry a jti
CSRF_SESSION_KEY = "csrf"
P = ParamSpec("P")
T = TypeVar("T")
# argon2 (and zxcvbn) keep a core busy for a fifth of a second: they run here, on all cores but
# one at most, so the event loop always has a core left to answer every other request.
_PASSWORD_THREADS = max(1, len(os.sched_getaffinity(0)) - 1)


def _lower_priority() -> None:
    # On Linux a thread is a task of its own: niced, it yields the core to the event loop's thread
    # (and to the worker) whenever they have something to do.
    if hasattr(os, "setpriority"):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


_password_work = ThreadPoolExecutor(
    _PASSWORD_THREADS, thread_name_prefix="password-work", initializer=_lower_priority
)


async def password_work(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """fn's result, computed off the event loop in the password threads (CPU-bound work)."""
    return await asyncio.get_running_loop().run_in_executor(
        _password_work, functools.partial(fn, *args, **kwargs)
    )


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
    ok = await password_work(verify_password, password, user.password_hash if user else None)
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
