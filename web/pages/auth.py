"""Signing in and out of the pages (a signed cookie naming a server-side session)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crc.accounts import SecurityEventKind, record_security_event
from web.deps import NowDep, SessionDep, SettingsDep, ThrottleDep, client_address
from web.flash import flash
from web.sessions import end_session, session_user, start_session
from web.signin import SignInLocked, SignInRefused, sign_in
from web.templating import render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a local path, so the login form cannot send anyone elsewhere."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@router.get("/login")
async def login_form(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, next: str | None = None
) -> Response:
    """The sign-in form (or the dashboard when already signed in)."""
    if await session_user(session, request.session, settings, now=now):
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    throttle: ThrottleDep,
    now: NowDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password and start a fresh server-side session."""
    context = {"next": _safe_next(next), "username": username}
    try:
        user = await sign_in(
            session, throttle, username=username, password=password,
            address=client_address(request), via="page",
        )  # fmt: skip
    except SignInLocked as locked:
        minutes = -(-locked.retry_after // 60)  # rounded up
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
        error = f"Too many failed sign-ins. Please wait {wait} and try again."
        page = render(request, "login.html", {**context, "error": error}, status_code=429)
        page.headers["Retry-After"] = str(locked.retry_after)
        return page
    except SignInRefused:
        return render(
            request, "login.html", {**context, "error": "Incorrect username or password."}, status_code=401
        )
    await start_session(session, request.session, user.username, now=now)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    """End the session, here and on the server, so a copy of the cookie opens nothing either."""
    username = await end_session(session, request.session)
    if username is not None:
        record_security_event(
            session, SecurityEventKind.SIGNED_OUT, username=username, actor=username,
            address=client_address(request),
        )  # fmt: skip
        await session.commit()
    flash(request, "You have signed out.", kind="info")
    return RedirectResponse("/login", status_code=303)
