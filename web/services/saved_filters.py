"""Saved inbox filters: a user's named inbox URLs, kept on the server."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.tables import SavedFilter, User
from web.services.errors import FieldError, InvalidFields, NotFound

MAX_NAME = 60
MAX_SAVED = 50


async def saved_filters(session: AsyncSession, user: User) -> list[SavedFilter]:
    """The user's saved filters, by name."""
    query = select(SavedFilter).where(SavedFilter.username == user.username).order_by(col(SavedFilter.name))
    return list((await session.exec(query)).all())


async def save_filter(
    session: AsyncSession, user: User, *, name: str, query: str, now: datetime
) -> SavedFilter:
    """Keep the filter under its name; saving a name again replaces its query."""
    name = name.strip()
    if not name:
        raise InvalidFields([FieldError("name", "give the filter a name")])
    if len(name) > MAX_NAME:
        raise InvalidFields([FieldError("name", f"use at most {MAX_NAME} characters")])
    mine = await saved_filters(session, user)
    same = next((f for f in mine if f.name == name), None)
    if same is None and len(mine) >= MAX_SAVED:
        raise InvalidFields([FieldError("name", f"you have {MAX_SAVED} saved filters: delete one first")])
    if same is not None:
        same.query = query
        saved = same
    else:
        saved = SavedFilter(username=user.username, name=name, query=query, created_at=now)
        session.add(saved)
    try:
        await session.commit()
    except sa.exc.IntegrityError:
        # The same name saved at the same moment from another tab: that one stands.
        await session.rollback()
        raise InvalidFields([FieldError("name", "a filter of this name was saved just now")]) from None
    return saved


async def delete_filter(session: AsyncSession, user: User, filter_id: int) -> None:
    """Delete one of the user's saved filters (another user's is not found)."""
    found = await session.get(SavedFilter, filter_id)
    if found is None or found.username != user.username:
        raise NotFound("no saved filter of yours has this id")
    await session.delete(found)
    await session.commit()
