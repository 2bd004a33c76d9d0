"""One-time messages for the next page a user lands on (post/redirect/get), kept in the session."""

from typing import Any, Literal

from fastapi import Request

FLASH_KEY = "flash"
Kind = Literal["success", "error", "info", "warning"]


def flash(request: Request, text: str, *, kind: Kind = "success") -> None:
    """Queue a message for the next full page this session renders."""
    queued = request.session.get(FLASH_KEY)
    messages = list(queued) if isinstance(queued, list) else []
    message = {"kind": kind, "text": text}
    if message not in messages:  # a double submit says it once
        messages.append(message)
    request.session[FLASH_KEY] = messages


def pop_flashes(request: Request) -> list[dict[str, Any]]:
    """The queued messages, removed from the session so each shows once."""
    if "session" not in request.scope:
        return []
    queued = request.session.pop(FLASH_KEY, None)
    if not isinstance(queued, list):
        return []
    return [m for m in queued if isinstance(m, dict) and isinstance(m.get("text"), str)]
