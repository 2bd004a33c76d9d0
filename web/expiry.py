"""What a page request gets once its session has ended: the way to sign in again, back to where
the user was, with any comment they typed kept (web.drafts)."""

import logging
import re
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crc.settings import Settings
from web.drafts import keep_draft
from web.sessions import ENDED_KEY
from web.templating import is_htmx, render

logger = logging.getLogger(__name__)

SESSION_ENDED = "Your session ended — sign in again."
# The forms that decide a task, from the inbox row or the deployment page: their comment is kept.
_DECISION_PATH = re.compile(r"^/(?:inbox|deployments/[^/]{1,64})/tasks/([A-Za-z0-9-]{1,64})$")


def safe_next(target: str | None) -> str:
    """Only a local path, so the sign-in page cannot send anyone elsewhere."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return "/"


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def where_they_were(request: Request) -> str:
    """The page the user was on: htmx says (HX-Current-URL), a page GET is it, a form POST came
    from its Referer (this site only); path and query only."""
    current = request.headers.get("HX-Current-URL")
    if current and is_htmx(request) and urlsplit(current).netloc == request.url.netloc:
        return safe_next(_path_of(current))
    if request.method == "GET":
        return safe_next(_path_of(str(request.url)))
    referer = request.headers.get("Referer")
    if referer and urlsplit(referer).netloc == request.url.netloc:
        return safe_next(_path_of(referer))
    return "/"


def sign_in_url(target: str) -> str:
    """The sign-in page that returns to `target` (a safe local path)."""
    if target == "/" or target.startswith("/login"):
        return "/login"
    return f"/login?next={quote(target, safe='/')}"


async def _typed_comment(request: Request) -> tuple[str, str] | None:
    """(task id, comment) of a decision form that carried one, else None."""
    found = _DECISION_PATH.match(request.url.path)
    if request.method != "POST" or found is None:
        return None
    try:
        form = await request.form()
    except Exception:  # a body that cannot be read: sign-in still answers, without the draft
        logger.warning("could not read the form of a request after its session ended", exc_info=True)
        return None
    comment = form.get("comment")
    return (found.group(1), comment) if isinstance(comment, str) and comment.strip() else None


async def session_ended(request: Request, *, status_code: int = 401) -> Response:
    """Sign in again: htmx gets an alert in the page's alert region (never in a row) once a session
    ended or for a change it sent, else HX-Redirect; a page gets a redirect. `next` comes back.

    A form refused for its CSRF token (403: its session is gone) gets the sign-in page itself."""
    settings: Settings = request.app.state.settings
    session = request.session if "session" in request.scope else {}
    ended_user = session.get(ENDED_KEY)
    ended_user = ended_user if isinstance(ended_user, str) else None
    back_to = where_they_were(request)
    target = sign_in_url(back_to)
    draft = await _typed_comment(request)
    typed = draft is not None
    response: Response
    if is_htmx(request) and (request.method != "GET" or ended_user is not None):
        response = render(
            request,
            "partials/session_ended.html",
            {"message": SESSION_ENDED, "sign_in_url": target, "kept": typed},
            status_code=status_code,
            headers={"HX-Retarget": "#page-alerts", "HX-Reswap": "innerHTML"},
        )
    elif status_code == 403:
        notice = SESSION_ENDED + (" What you typed is kept." if typed else "")
        context = {"next": back_to, "error": None, "notice": notice}
        response = render(request, "login.html", context, status_code=status_code)
    elif is_htmx(request):
        response = Response(status_code=401, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if draft is not None:
        task_id, comment = draft
        keep_draft(request, response, settings, task_id=task_id, comment=comment, username=ended_user)
    return response
