"""POST /api/v1/auth/token (the OAuth2 password flow) and /api/v1/auth/revoke."""

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlmodel import col

from crc.accounts import SecurityEventKind, record_security_event
from crc.auth_tables import RevokedToken
from web.api.responses import documented
from web.deps import NowDep, SessionDep, SettingsDep, ThrottleDep, TokenClaimsDep, client_address
from web.schemas import Token
from web.security import create_access_token
from web.signin import SignInLocked, SignInRefused, sign_in

router = APIRouter(tags=["auth"])


@router.post("/auth/token", responses=documented(401, 413, 429))
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    throttle: ThrottleDep,
    now: NowDep,
) -> Token:
    """A bearer token for a username and password; it lasts CRC_TOKEN_TTL_SECONDS unless revoked."""
    try:
        user = await sign_in(
            session, throttle, username=form.username, password=form.password,
            address=client_address(request), via="api",
        )  # fmt: skip
    except SignInLocked as locked:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, str(locked), headers={"Retry-After": str(locked.retry_after)}
        ) from None
    except SignInRefused as refused:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(refused), headers={"WWW-Authenticate": "Bearer"}
        ) from None
    return Token(access_token=create_access_token(settings, user.username, now=now))


@router.post(
    "/auth/revoke",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=documented(401),
)
async def revoke_token(
    claims: TokenClaimsDep, request: Request, session: SessionDep, now: NowDep
) -> Response:
    """Revoke the caller's own bearer token: from now on it gets 401."""
    # Rows of tokens that have expired anyway are of no more use.
    await session.exec(sa.delete(RevokedToken).where(col(RevokedToken.expires_at) <= now))
    session.add(
        RevokedToken(jti=claims.jti, username=claims.username, revoked_at=now, expires_at=claims.expires_at)
    )
    record_security_event(
        session, SecurityEventKind.TOKEN_REVOKED, username=claims.username, actor=claims.username,
        address=client_address(request), detail=f"token {claims.jti}",
    )  # fmt: skip
    try:
        await session.commit()
    except sa.exc.IntegrityError:
        await session.rollback()  # a concurrent revoke of the same token got there first
    return Response(status_code=status.HTTP_204_NO_CONTENT)
