"""Dev only: /dev/mail lists what the mail sink kept (`make run`), so a newcomer sees what would
have been sent; outside dev these pages do not exist (404)."""

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from crc.mail_sink import mail_dir
from web.deps import PageUser, SessionDep, SettingsDep
from web.pages.common import nav
from web.services.dev_mail import list_messages, message_path, read_message
from web.services.errors import NotFound
from web.templating import render


async def _dev_only(settings: SettingsDep) -> None:
    """404 outside dev, before anything else is asked (even whether someone is signed in)."""
    if not settings.is_dev:
        raise NotFound("no page is here")


router = APIRouter(prefix="/dev/mail", dependencies=[Depends(_dev_only)])

# The HTML part is shown in a sandboxed frame of its own: no scripts, no requests, its inline
# styles only, and only this site may frame it.
_EMAIL_HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; "
    "form-action 'none'; base-uri 'none'; sandbox"
)


@router.get("")
async def mail_list(request: Request, session: SessionDep, user: PageUser, settings: SettingsDep) -> Response:
    """Every message the sink kept, newest first."""
    context = {"messages": list_messages(mail_dir(settings)), "mail_dir": mail_dir(settings).resolve()}
    return render(request, "dev/mail.html", context | await nav(session, user), user=user)


@router.get("/{name}")
async def mail_message(
    request: Request, name: str, session: SessionDep, user: PageUser, settings: SettingsDep
) -> Response:
    """One kept message: its headers, text part and HTML part."""
    message = read_message(mail_dir(settings), name)
    return render(
        request, "dev/mail_message.html", {"message": message} | await nav(session, user), user=user
    )


@router.get("/{name}/html")
async def mail_html(name: str, user: PageUser, settings: SettingsDep) -> Response:
    """The HTML part alone, for the sandboxed frame of the message's page."""
    html = read_message(mail_dir(settings), name).html
    headers = {"Content-Security-Policy": _EMAIL_HTML_POLICY, "X-Frame-Options": "SAMEORIGIN"}
    return Response(html, media_type="text/html", headers=headers)


@router.get("/{name}/raw")
async def mail_raw(name: str, user: PageUser, settings: SettingsDep) -> Response:
    """The message as the sink kept it, to download."""
    raw = message_path(mail_dir(settings), name).read_bytes()
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(raw, media_type="message/rfc822", headers=headers)
