"""The audit of changes to users and their roles: append-only, one row per change."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Mapper
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.auth_tables import UserAudit
from crc.users import UserAction


def record_user_change(
    db: AsyncSession, action: UserAction, *, actor: str, target: str, changes: dict[str, Any]
) -> None:
    """Add an audit row to the session; the caller commits it with the change it records."""
    db.add(UserAudit(actor=actor, action=action.value, target=target, changes=changes))


def before_after(before: Any, after: Any) -> dict[str, Any]:
    """One field's entry in `changes`."""
    return {"before": before, "after": after}


async def audit_of(db: AsyncSession, username: str) -> list[UserAudit]:
    """The user's audit, oldest first."""
    query = select(UserAudit).where(UserAudit.target == username).order_by(col(UserAudit.id))
    return list((await db.exec(query)).all())


def _refuse_rewrite(mapper: Mapper[Any], connection: Any, target: UserAudit) -> None:
    raise PermissionError("the user audit is append-only: its rows are never changed or removed")


# The ORM refuses to change or remove an audit row, whatever code tries.
event.listen(UserAudit, "before_update", _refuse_rewrite)
event.listen(UserAudit, "before_delete", _refuse_rewrite)
