"""Database engines for the configured URL: async for the app, sync for migrations and seeding."""

import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

# SQLite waits this long for a writer's lock instead of failing at once.
_SQLITE_BUSY_MS = 15_000


def async_url(url: str) -> str:
    """The URL with an asyncio driver: aiosqlite for SQLite, psycopg 3 for PostgreSQL."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if u.get_backend_name() == "postgresql":
        return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def sync_url(url: str) -> str:
    """The URL with a blocking driver: sqlite3 or psycopg 3."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite").render_as_string(hide_password=False)
    if u.get_backend_name() == "postgresql":
        return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers proceed beside the one writer; foreign keys are off by default in SQLite.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _engine_kwargs(url: str, schema: str | None) -> dict[str, Any]:
    if make_url(url).get_backend_name() == "postgresql" and schema:
        return {"connect_args": {"options": f"-csearch_path={schema}"}}
    return {}


def create_engine(url: str, *, schema: str | None = None) -> AsyncEngine:
    """An async engine; `schema` puts PostgreSQL tables in that schema (tests use one each)."""
    engine = create_async_engine(async_url(url), pool_pre_ping=True, **_engine_kwargs(url, schema))
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_sync_engine(url: str, *, schema: str | None = None) -> sa.Engine:
    """A blocking engine for migrations, seeding and scripts."""
    engine = sa.create_engine(sync_url(url), pool_pre_ping=True, **_engine_kwargs(url, schema))
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def lock_for_write(session: AsyncSession, row: Any) -> None:
    """Make concurrent units of work that lock the same row queue here until this one commits.

    PostgreSQL: SELECT ... FOR UPDATE on `row` (a select of it). SQLite ignores FOR UPDATE, and its
    driver begins a transaction only at the first write, so a read-then-insert of two requests
    could interleave; BEGIN IMMEDIATE takes SQLite's one writer lock now (waiting up to the busy
    timeout for it), so the reads that follow see every write committed before.
    """
    if session.bind is not None and session.bind.dialect.name == "sqlite":
        await (await session.connection()).exec_driver_sql("BEGIN IMMEDIATE")
    else:
        await session.exec(row.with_for_update())


def is_unique_violation(exc: sa.exc.IntegrityError) -> bool:
    """True when an IntegrityError came from a unique constraint (SQLite or PostgreSQL)."""
    orig = exc.orig
    if isinstance(orig, sqlite3.IntegrityError):
        return "UNIQUE" in str(orig)
    return getattr(orig, "sqlstate", None) == "23505"


async def commit_unless_duplicate(session: AsyncSession) -> bool:
    """Commit; False (rolled back) when a unique key refused it, as when a racing twin got there first."""
    try:
        await session.commit()
    except sa.exc.IntegrityError as err:
        await session.rollback()
        if not is_unique_violation(err):
            raise
        return False
    return True
