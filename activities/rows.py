"""Small database helpers the lifecycle activities share: idempotent inserts, rows that must exist."""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.exceptions import ApplicationError

from crc.names import ERR_MISSING_ROW

RowT = TypeVar("RowT", bound=SQLModel)


def dialect_insert(session: AsyncSession) -> Callable[[Any], Any]:
    """The INSERT of the session's dialect, which knows ON CONFLICT (PostgreSQL or SQLite)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def insert_ignoring_duplicates(
    session: AsyncSession, model: type[SQLModel], rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> int:
    """INSERT ... ON CONFLICT (keys) DO NOTHING; the number of rows actually inserted."""
    if not rows:
        return 0
    table = model.__table__  # type: ignore[attr-defined]
    statement = (
        dialect_insert(session)(table).values(list(rows)).on_conflict_do_nothing(index_elements=list(keys))
    )
    result = await session.exec(statement)
    return int(result.rowcount)


async def require(session: AsyncSession, model: type[RowT], key: Any) -> RowT:
    """The row with this primary key; a non-retryable MissingRow error when there is none."""
    row = await session.get(model, key)
    if row is None:
        raise ApplicationError(
            f"{model.__name__} {key!r} not found", type=ERR_MISSING_ROW, non_retryable=True
        )
    return row
