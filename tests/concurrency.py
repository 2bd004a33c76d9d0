"""An engine with room for many connections at once, for tests that race activities."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel

from crc.db import async_url, create_engine

# Enough connections that every racing activity holds its own at once.
CONNECTIONS = 25


@asynccontextmanager
async def wide_engine(url: str, schema: str | None) -> AsyncIterator[AsyncEngine]:
    """A fresh database's engine with a pool of CONNECTIONS on PostgreSQL (SQLite has one writer
    at a time anyway, so it keeps the app's engine and its busy timeout)."""
    if make_url(url).get_backend_name() == "postgresql":
        engine = create_async_engine(
            async_url(url),
            pool_size=CONNECTIONS,
            max_overflow=0,
            connect_args={"options": f"-csearch_path={schema}"} if schema else {},
        )
    else:
        engine = create_engine(url, schema=schema)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()
