"""Database engines for the configured URL: async for the app, sync for migrations and seeding."""

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import weakref
from collections.abc import AsyncIterator
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


class _WriterQueue:
    """One process's turns at a SQLite file's one writer lock.

    SQLite's own busy handler waits by sleeping in growing steps (up to 100 ms) and favours the
    newest waiter, so under load a writer can starve past the busy timeout while the lock sits
    free between polls. Here the units of work of a process queue in order (an asyncio lock),
    and the one at the head waits for the other processes in the kernel (flock on a file beside
    the database), which hands the lock over the moment it is released.
    """

    def __init__(self, path: str | None) -> None:
        self.turn = asyncio.Lock()
        self.path = f"{path}-writer" if path else None

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        async with self.turn:
            if self.path is None:  # an in-memory database: one process only
                yield
                return
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: no thread needed
            except BlockingIOError:
                await self._wait(fd)
            try:
                yield
            finally:
                os.close(fd)  # releases the file lock

    @staticmethod
    async def _wait(fd: int) -> None:
        """Take the file lock in a thread; if the wait ends early, close the descriptor once the
        thread is done, which drops a lock it got too late to be used."""
        locking = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX))
        try:
            await asyncio.wait_for(asyncio.shield(locking), _SQLITE_BUSY_MS / 1000)
        except BaseException as exc:
            locking.add_done_callback(lambda _: os.close(fd))
            if isinstance(exc, TimeoutError):  # as long as SQLite's own wait: the web answers 503
                raise sa.exc.TimeoutError(f"no turn to write within {_SQLITE_BUSY_MS} ms") from None
            raise


_queues: "weakref.WeakKeyDictionary[sa.Engine, _WriterQueue]" = weakref.WeakKeyDictionary()


def _writer_queue(bind: sa.Engine | sa.Connection) -> _WriterQueue:
    engine = bind.engine
    if engine not in _queues:
        database = engine.url.database
        _queues[engine] = _WriterQueue(None if database in (None, "", ":memory:") else database)
    return _queues[engine]


@contextlib.asynccontextmanager
async def lock_for_write(session: AsyncSession, row: Any) -> AsyncIterator[None]:
    """Within this block, concurrent units of work that lock the same row queue until this one
    has committed (the block commits or rolls back the session itself).

    PostgreSQL: SELECT ... FOR UPDATE on `row` (a select of it), released by the commit. SQLite
    ignores FOR UPDATE, and its driver begins a transaction only at the first write, so a
    read-then-insert of two requests could interleave: the block takes SQLite's one writer lock
    (in this process's queue, then BEGIN IMMEDIATE), so the reads in it see every write committed
    before, and what the block leaves uncommitted is rolled back as it ends.
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        await session.exec(row.with_for_update())
        yield
        return
    async with _writer_queue(bind).held():
        try:
            await (await session.connection()).exec_driver_sql("BEGIN IMMEDIATE")
            yield
        finally:
            if session.in_transaction():
                await session.rollback()


@contextlib.asynccontextmanager
async def writing(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A unit of work that writes: committed as the block ends, rolled back on an error.

    On SQLite it waits for its turn at the writer lock first (see _WriterQueue) and holds it
    throughout (BEGIN IMMEDIATE), so its writes never wait, or fail, half-way; read what can be
    read before the block.
    """
    async with sessions() as session:
        bind = session.get_bind()
        if bind.dialect.name != "sqlite":
            async with session.begin():
                yield session
            return
        async with _writer_queue(bind).held(), session.begin():
            await (await session.connection()).exec_driver_sql("BEGIN IMMEDIATE")
            yield session


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
