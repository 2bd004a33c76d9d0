"""POST /api/v1/auth/token: the OAuth2 password flow."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from web.api.responses import documented
from web.deps import SessionDep, SettingsDep
from web.schemas import Token
from web.security import authenticate, create_access_token

router = APIRouter(tags=["auth"])


@router.post("/auth/token", responses=documented(401, 413, 429))
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    """A bearer token for a username and password."""
    user = await authenticate(session, username=form.username, password=form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Token(access_token=create_access_token(settings, user.username))
