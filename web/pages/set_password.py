"""The set-password page a one-time link opens: no sign-in needed, the link is the proof."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crc.password_links import LinkRefused
from crc.password_policy import MIN_LENGTH
from web.deps import NowDep, SessionDep, SettingsDep, client_address
from web.flash import flash
from web.services.errors import InvalidFields
from web.services.user_passwords import link_user, set_password_by_link
from web.templating import render

router = APIRouter()


def _refused(request: Request, refusal: LinkRefused) -> Response:
    return render(
        request, "set_password_invalid.html", {"message": str(refusal)}, status_code=refusal.status_code
    )


def _form(
    request: Request, token: str, username: str, errors: dict[str, str], status_code: int = 200
) -> Response:
    context = {"token": token, "username": username, "errors": errors, "min_length": MIN_LENGTH}
    return render(request, "set_password.html", context, status_code=status_code)


@router.get("/set-password/{token}")
async def set_password_form(
    request: Request, token: str, session: SessionDep, settings: SettingsDep, now: NowDep
) -> Response:
    """The form for a new password, while the link still holds."""
    try:
        user = await link_user(session, token, secret=settings.CRC_SECRET_KEY, now=now)
    except LinkRefused as refusal:
        return _refused(request, refusal)
    return _form(request, token, user.username, {})


@router.post("/set-password/{token}")
async def set_password(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Set the password and use up the link; then the user signs in with it."""
    try:
        user = await link_user(session, token, secret=settings.CRC_SECRET_KEY, now=now)
        await set_password_by_link(
            session, token, password=password, confirm=confirm, secret=settings.CRC_SECRET_KEY,
            now=now, address=client_address(request),
        )  # fmt: skip
    except LinkRefused as refusal:
        return _refused(request, refusal)
    except InvalidFields as err:
        return _form(request, token, user.username, err.by_field(), status_code=422)
    flash(request, "Your password is set. Sign in with your username and the new password.")
    return RedirectResponse("/login", status_code=303)
