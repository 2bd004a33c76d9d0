"""Signing in and out of the pages (a signed session cookie)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from web.deps import SessionDep
from web.security import USER_SESSION_KEY, authenticate, start_session
from web.templating import render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a local path, so the login form cannot send anyone elsewhere."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form (or the dashboard when already signed in)."""
    if request.session.get(USER_SESSION_KEY):
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password and start a fresh session."""
    user = await authenticate(session, username=username, password=password)
    if user is None:
        context = {"next": _safe_next(next), "error": "Incorrect username or password.", "username": username}
        return render(request, "login.html", context, status_code=401)
    start_session(request.session, user.username)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session."""
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
