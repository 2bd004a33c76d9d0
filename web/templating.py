"""Jinja2 templates: one template, two renderings (the page, or its fragment for htmx)."""

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from crc.domain import ClearanceLevel
from crc.events import SYSTEM_ACTOR, SYSTEM_ACTOR_NAME, check_in_status_label
from crc.roles import ROLE_LABELS, Role
from crc.settings import UNDO_SECONDS_DEFAULT
from crc.stages import TERMINAL
from crc.tables import User
from crc.tasks import event_label, outcome_label, outcome_past, spec_of
from web.flash import pop_flashes
from web.security import csrf_token

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Templates change only with a deploy (which restarts the process, as code changes do): checking
# every included file's mtime on each render cost a stat per row and include.
templates.env.auto_reload = False


def is_htmx(request: Request) -> bool:
    """True for a request htmx sent for a fragment (a history restore wants the whole page)."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"


def _when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _age(value: datetime | None) -> str:
    if value is None:
        return "—"
    seconds = int((datetime.now(UTC) - value).total_seconds())
    if seconds < 3600:
        return f"{max(seconds // 60, 0)} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"${value:,.2f}"


def _label(value: str) -> str:
    return value.replace("_", " ")


def _role_label(value: str) -> str:
    return ROLE_LABELS[Role(value)] if value in Role._value2member_map_ else _label(value)


def _options(values: Any, words: str = "label") -> list[tuple[str, str]]:
    """(value, words) pairs for a select or radio group, the words from the named filter."""
    to_words = templates.env.filters[words]
    return [(str(v), str(to_words(v))) for v in values]


def _person(username: str | None, people: Mapping[str, str] | None = None) -> str:
    """A username as a name: from `people` (web.services.people.full_names), "CRC system" for the
    system, else the username itself."""
    if not username:
        return "—"
    if username == SYSTEM_ACTOR:
        return SYSTEM_ACTOR_NAME
    return (people or {}).get(username, username)


def _overdue(value: datetime | None) -> bool:
    return value is not None and value < datetime.now(UTC)


templates.env.filters.update(
    when=_when,
    age=_age,
    money=_money,
    label=_label,
    options=_options,
    # Words from the task-kind, event and role tables (crc.tasks, crc.events, crc.roles).
    role_label=_role_label,
    task_label=lambda kind: spec_of(kind).label,
    # Looked up for every button of every row: the words of a handful of outcomes, kept.
    outcome_label=cache(outcome_label),
    outcome_past=cache(outcome_past),
    event_label=event_label,
    check_in_status=check_in_status_label,
    # An event's or task's actor by name: `e.actor | person(view.people)`.
    person=_person,
)
templates.env.tests["overdue"] = _overdue
templates.env.globals.update(
    terminal_stages={str(s) for s in TERMINAL},
    task_spec=spec_of,
    clearance_levels=[level.value for level in ClearanceLevel if level != ClearanceLevel.NONE],
    # base.html pops the flash messages, so only a full page (not an htmx fragment) uses them up.
    pop_flashes=pop_flashes,
)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    user: User | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render a template with the user and the session's CSRF token; varies on HX-Request."""
    settings = getattr(request.app.state, "settings", None)
    undo_seconds = getattr(settings, "CRC_UNDO_SECONDS", UNDO_SECONDS_DEFAULT)
    ctx: dict[str, Any] = {
        "user": user,
        "csrf_token": csrf_token(request.session) if "session" in request.scope else "",
        "htmx": is_htmx(request),
        "demo_env": bool(getattr(settings, "is_dev", False)),
        # How long a page decision can be undone, and when its row asks for itself again after.
        "undo_seconds": undo_seconds,
        "refresh_seconds": undo_seconds + 1,
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)
    response.headers["Vary"] = "HX-Request"
    return response


def page_or_fragment(
    request: Request,
    page: str,
    fragment: str,
    context: dict[str, Any],
    *,
    user: User | None,
    status_code: int = 200,
) -> Response:
    """The full page, or only its fragment when htmx asks."""
    name = fragment if is_htmx(request) else page
    return render(request, name, context, user=user, status_code=status_code)
