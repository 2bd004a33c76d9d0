"""Open tasks a page at a time: keyset cursors over (due, created, id) or (created, id).

The inbox and `GET /api/v1/tasks` page the same way the deployments list does: a deep page costs
what the first does, and a page never holds more than its size.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import and_, col, or_, tuple_

from crc.tables import Task, UTCDateTime

NOT_A_CURSOR = "must be a place in the list, as its page links give it"
_ID_MAX = 36  # crc.tables.Task.id
SORTS = ("due", "age")


@dataclass(frozen=True)
class TaskCursor:
    """A place in a list of tasks: the (due_at, created_at, id) of a row."""

    due_at: datetime | None
    created_at: datetime
    id: str

    @classmethod
    def of(cls, task: Task) -> "TaskCursor":
        """The place of a task."""
        return cls(task.due_at, task.created_at, task.id)

    def encode(self) -> str:
        """As a query parameter (UTC without its "+00:00": a "+" read from a URL is a space)."""
        due = _utc_text(self.due_at) if self.due_at else ""
        return f"{due}~{_utc_text(self.created_at)}~{self.id}"

    @classmethod
    def decode(cls, text: str) -> "TaskCursor":
        """From a query parameter; ValueError saying so when it is not one of ours."""
        parts = text.split("~")
        if len(parts) != 3 or not parts[2] or len(parts[2]) > _ID_MAX:
            raise ValueError(NOT_A_CURSOR)
        try:
            due = _when(parts[0]) if parts[0] else None
            created = _when(parts[1])
        except (ValueError, OverflowError):
            raise ValueError(NOT_A_CURSOR) from None
        return cls(due, created, parts[2])


def _utc_text(when: datetime) -> str:
    return when.astimezone(UTC).replace(tzinfo=None).isoformat()


def _when(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _stamp(value: datetime) -> Any:
    return sa.literal(value, UTCDateTime())


def _created_id(cursor: TaskCursor) -> Any:
    return tuple_(col(Task.created_at), col(Task.id)), tuple_(
        _stamp(cursor.created_at), sa.literal(cursor.id)
    )


def order_by(sort: str, *, backwards: bool = False) -> list[Any]:
    """The list's order (the soonest due first, undated last; or the longest waiting first)."""
    keys: list[Any] = [col(Task.created_at), col(Task.id)]
    if sort == "age":
        return [k.desc() for k in keys] if backwards else keys
    # NULLS LAST rather than "due_at IS NULL" first: the same order, which PostgreSQL reads
    # straight from the (status, role, due_at, created_at, id) index instead of sorting them all.
    if backwards:
        return [col(Task.due_at).desc().nulls_first(), *(k.desc() for k in keys)]
    return [col(Task.due_at).asc().nulls_last(), *keys]


def after(sort: str, cursor: TaskCursor) -> Any:
    """The rows that come after the cursor in the list's order."""
    rest, mark = _created_id(cursor)
    if sort == "age":
        return rest > mark
    due = col(Task.due_at)
    if cursor.due_at is None:
        return and_(due.is_(None), rest > mark)
    at = _stamp(cursor.due_at)
    return or_(due.is_(None), due > at, and_(due == at, rest > mark))


def before(sort: str, cursor: TaskCursor) -> Any:
    """The rows that come before the cursor in the list's order."""
    rest, mark = _created_id(cursor)
    if sort == "age":
        return rest < mark
    due = col(Task.due_at)
    if cursor.due_at is None:
        return or_(due.is_not(None), and_(due.is_(None), rest < mark))
    at = _stamp(cursor.due_at)
    return and_(due.is_not(None), or_(due < at, and_(due == at, rest < mark)))
