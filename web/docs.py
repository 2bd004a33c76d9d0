"""The API docs outside dev: /openapi.json, /docs and /redoc for a signed-in admin only."""

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from crc.roles import Role
from crc.tables import User
from web.deps import NowDep, SessionDep, SettingsDep, token_user
from web.sessions import session_user

OPENAPI_URL = "/openapi.json"


async def require_admin_for_docs(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep
) -> User:
    """An admin signed in by bearer token or page session (401 if nobody, 403 if not an admin)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        found = await token_user(session, settings, token, now)
        user = found[0] if found else None
    else:
        user = await session_user(session, request.session, settings, now=now)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "sign in first", headers={"WWW-Authenticate": "Bearer"}
        )
    if Role.ADMIN.value not in user.roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the API docs need the admin role")
    return user


docs_router = APIRouter(include_in_schema=False, dependencies=[Depends(require_admin_for_docs)])


@docs_router.get(OPENAPI_URL)
async def openapi_schema(request: Request) -> JSONResponse:
    """The OpenAPI schema."""
    return JSONResponse(request.app.openapi())


@docs_router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI."""
    return get_swagger_ui_html(openapi_url=OPENAPI_URL, title=f"{request.app.title} - Swagger UI")


@docs_router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc."""
    return get_redoc_html(openapi_url=OPENAPI_URL, title=f"{request.app.title} - ReDoc")
