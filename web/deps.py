"""FastAPI dependencies: settings, database session, Temporal client, the signed-in user."""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from crc.auth_tables import RevokedToken
from crc.settings import Settings
from crc.tables import User
from web.security import TokenClaims, csrf_matches, get_active_user, read_access_token
from web.services.errors import Unavailable
from web.services.out_of_office import acting_user, covers_for
from web.sessions import SESSION_ID_KEY, session_user
from web.throttle import SignInThrottle

logger = logging.getLogger(__name__)

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a secret
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL)


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A database session for one request."""
    session: AsyncSession = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        try:
            await session.close()
        except sa.exc.DBAPIError as exc:
            # The connection died after the request's last query (pg_terminate_backend, a
            # failover): there is nothing left to roll back, the pool drops it, and the answer
            # may already be on its way, so raising now would only cut it off.
            if not exc.connection_invalidated:
                raise
            logger.warning("closed a request's session on a lost database connection: %s", exc.orig)


def get_temporal_client(request: Request) -> Client:
    """The app's Temporal client."""
    client: Client | None = getattr(request.app.state, "temporal_client", None)
    if client is None:
        raise Unavailable("Temporal is not connected; try again shortly")  # with Retry-After
    return client


def get_now(request: Request) -> datetime:
    """The app's current time (tests move the app's clock to cross session and lock boundaries)."""
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def get_throttle(request: Request) -> SignInThrottle:
    """The app's sign-in throttle."""
    throttle: SignInThrottle = request.app.state.throttle
    return throttle


def client_address(request: Request) -> str:
    """The caller's address (uvicorn takes it from X-Forwarded-For only behind a trusted proxy)."""
    return request.client.host if request.client else "unknown"


SettingsDep = Annotated[Settings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]
ThrottleDep = Annotated[SignInThrottle, Depends(get_throttle)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalClientDep = Annotated[Client, Depends(get_temporal_client)]
TokenDep = Annotated[str, Depends(oauth2_scheme)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


async def token_user(
    session: AsyncSession, settings: Settings, token: str, now: datetime
) -> tuple[User, TokenClaims] | None:
    """The active user of a valid token that is neither revoked nor voided by a later sign-out."""
    claims = read_access_token(settings, token, now=now)
    if claims is None or await session.get(RevokedToken, claims.jti) is not None:
        return None
    user = await get_active_user(session, claims.username)
    if user is None or (user.tokens_valid_after is not None and claims.issued_at <= user.tokens_valid_after):
        return None
    return user, claims


async def _bearer(
    token: TokenDep, session: SessionDep, settings: SettingsDep, now: NowDep
) -> tuple[User, TokenClaims]:
    """The caller and their token's claims (401 if it is missing, bad, expired or revoked)."""
    found = await token_user(session, settings, token, now)
    if found is None:
        raise _unauthorized("invalid, expired or revoked token")
    return found


_BearerDep = Annotated[tuple[User, TokenClaims], Depends(_bearer)]


async def get_token_claims(bearer: _BearerDep) -> TokenClaims:
    """The claims of the caller's valid bearer token."""
    return bearer[1]


async def get_current_user(bearer: _BearerDep, session: SessionDep, now: NowDep) -> User:
    """The API caller named by a valid bearer token (as they act today: web.services.out_of_office)."""
    return acting_user(bearer[0], await covers_for(session, bearer[0].username, now.date()))


CurrentUser = Annotated[User, Depends(get_current_user)]
TokenClaimsDep = Annotated[TokenClaims, Depends(get_token_claims)]


def _check_roles(user: User, roles: Iterable[str]) -> User:
    wanted = set(roles)
    if not wanted.intersection(user.roles):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {', '.join(sorted(wanted))}"
        )
    return user


def require_roles(*roles: str) -> Callable[[User], Awaitable[User]]:
    """A dependency: the API caller, who must hold one of the roles (else 403)."""

    async def dependency(user: CurrentUser) -> User:
        return _check_roles(user, roles)

    return dependency


# --- Pages -------------------------------------------------------------------------------------


async def get_page_user(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep) -> User:
    """The user of a live server-side session (as they act today); 401 (a redirect to /login) if none."""
    user = await session_user(session, request.session, settings, now=now)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first")
    return acting_user(user, await covers_for(session, user.username, now.date()))


PageUser = Annotated[User, Depends(get_page_user)]


def require_page_roles(*roles: str) -> Callable[[User], Awaitable[User]]:
    """A dependency: the signed-in page user, who must hold one of the roles (else 403)."""

    async def dependency(user: PageUser) -> User:
        return _check_roles(user, roles)

    return dependency


class SessionGone(HTTPException):
    """A form from a page whose session has since ended (signed out in another tab, the cookie
    gone): still refused (403), but answered with a way to sign in again, not as an attack."""


async def verify_csrf(request: Request) -> None:
    """Refuse a state-changing page request without this session's CSRF token (403)."""
    if request.method not in _UNSAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not csrf_matches(request.session, given):
        if given and SESSION_ID_KEY not in request.session and request.url.path != "/login":
            raise SessionGone(status.HTTP_403_FORBIDDEN, "your session ended; sign in again")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or invalid CSRF token")
