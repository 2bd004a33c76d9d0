"""Comments typed into a decision when the session had ended, kept for after signing in again.

They live in a signed, HttpOnly cookie of their own (not the session cookie, which signing in
clears), for an hour, for the user whose session ended; the inbox and the deployment page take
them back into the task's comment box."""

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from crc.settings import Settings

COOKIE = "crc_drafts"
MAX_AGE_SECONDS = 3600
MAX_DRAFTS = 5
# A browser keeps cookies up to 4 KB; the signed value stays well under that.
MAX_COOKIE_CHARS = 3000
MAX_COMMENT_CHARS = 2000
_SALT = "comment-drafts"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.CRC_SECRET_KEY, salt=_SALT)


def _read(request: Request, settings: Settings) -> dict[str, Any]:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        value = _serializer(settings).loads(raw, max_age=MAX_AGE_SECONDS)
    except BadSignature:  # tampered with, or older than an hour
        return {}
    return value if isinstance(value, dict) and isinstance(value.get("d"), dict) else {}


def has_drafts(request: Request, settings: Settings) -> bool:
    """True when the browser holds a kept comment (the sign-in page says so)."""
    return bool(_read(request, settings).get("d"))


def keep_draft(
    request: Request,
    response: Response,
    settings: Settings,
    *,
    task_id: str,
    comment: str,
    username: str | None,
) -> None:
    """Keep `comment` for `task_id` on `response`, beside drafts kept before (newest last)."""
    comment = comment.strip()[:MAX_COMMENT_CHARS]
    if not comment:
        return
    kept = _read(request, settings)
    drafts: dict[str, str] = {
        k: v for k, v in kept.get("d", {}).items() if isinstance(v, str) and k != task_id
    }
    drafts[task_id] = comment
    owner = username or kept.get("u")
    while True:
        value = _serializer(settings).dumps({"u": owner, "d": drafts})
        if len(value) <= MAX_COOKIE_CHARS and len(drafts) <= MAX_DRAFTS:
            break
        if len(drafts) == 1:  # one comment too long even compressed: keep its start
            drafts[task_id] = drafts[task_id][: len(drafts[task_id]) // 2]
        else:
            del drafts[next(iter(drafts))]  # the oldest goes first
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_SECONDS,
        httponly=True,
        secure=settings.CRC_COOKIE_SECURE,
        samesite="lax",
    )


def take_drafts(request: Request, settings: Settings, username: str) -> dict[str, str]:
    """The kept comments by task id, for this user (a draft kept for someone else is not theirs)."""
    kept = _read(request, settings)
    owner = kept.get("u")
    if owner is not None and owner != username:
        return {}
    return {k: v for k, v in kept.get("d", {}).items() if isinstance(k, str) and isinstance(v, str)}


def forget_drafts(response: Response, settings: Settings) -> None:
    """Drop the kept comments once a page has shown them again."""
    response.delete_cookie(COOKIE, httponly=True, secure=settings.CRC_COOKIE_SECURE, samesite="lax")
