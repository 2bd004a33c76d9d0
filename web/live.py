"""One listener per web process: reads the live changes (crc.live) as they commit and hands each
to the open pages' streams in this process (web.pages.events).

On PostgreSQL a dedicated connection LISTENs for the writers' NOTIFY and wakes the reader; on
SQLite the reader polls the table every second. Either way the rows are read from the table, so
a change reaches every web process, and one that missed a wake-up is read on the next."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncEngine

from crc.db import session_factory
from crc.live import CHANNEL, changes_after, last_change_id, prune
from crc.tables import LiveChange, utcnow

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # SQLite: how often the table is read
# PostgreSQL: the table is also read this often, in case a wake-up was lost (a reconnect).
LISTEN_TIMEOUT_SECONDS = 5.0
PRUNE_EVERY = timedelta(minutes=5)
QUEUE_SIZE = 200  # a stream this far behind drops changes rather than hold the memory


@dataclass(frozen=True)
class Change:
    """A committed change as the streams see it."""

    id: int
    deployment_id: str
    what: frozenset[str]
    usernames: frozenset[str] | None
    task_ids: tuple[str, ...]

    @classmethod
    def of(cls, row: LiveChange) -> "Change":
        """The change a row records."""
        return cls(
            id=row.id or 0,
            deployment_id=row.deployment_id,
            what=frozenset(row.what),
            usernames=frozenset(row.usernames) if row.usernames is not None else None,
            task_ids=tuple(row.task_ids),
        )


class LiveHub:
    """Reads the live changes in one web process and fans them out to its subscribers."""

    def __init__(self, engine: AsyncEngine, *, poll_seconds: float = POLL_SECONDS) -> None:
        self._engine = engine
        self._sessions = session_factory(engine)
        self._poll_seconds = poll_seconds
        self._subscribers: set[asyncio.Queue[Change]] = set()
        self._last_id = 0
        self._task: asyncio.Task[None] | None = None
        self._pruned_at: datetime | None = None

    @property
    def postgres(self) -> bool:
        """Whether changes arrive by LISTEN/NOTIFY (else by polling)."""
        return self._engine.dialect.name == "postgresql"

    async def start(self) -> None:
        """Start reading after the newest change (pages opened now show the state before it)."""
        async with self._sessions() as session:
            self._last_id = await last_change_id(session)
        runner = self._listen() if self.postgres else self._poll()
        self._task = asyncio.create_task(runner, name="live-hub")

    async def stop(self) -> None:
        """Stop reading; open streams see no more changes."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator["asyncio.Queue[Change]"]:
        """A queue of the changes read while the block runs."""
        queue: asyncio.Queue[Change] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def read(self) -> int:
        """Read the changes committed since the last read and hand them out; how many."""
        async with self._sessions() as session:
            rows = await changes_after(session, self._last_id)
            if self._pruned_at is None or utcnow() - self._pruned_at >= PRUNE_EVERY:
                self._pruned_at = utcnow()
                await prune(session)
        for row in rows:
            self._last_id = max(self._last_id, row.id or 0)
            change = Change.of(row)
            for queue in list(self._subscribers):
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(change)
        return len(rows)

    async def _read_safely(self) -> None:
        try:
            await self.read()
        except Exception:  # a database blip must not end the listener; the next read catches up
            logger.exception("reading live changes failed")

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            await self._read_safely()

    def _conninfo(self) -> str:
        url = self._engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo(), autocommit=True) as conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    await self._read_safely()  # what committed while (re)connecting
                    while True:
                        async for _ in conn.notifies(timeout=LISTEN_TIMEOUT_SECONDS, stop_after=1):
                            pass
                        # Woken by a NOTIFY (any number since: one read takes them all) or the timeout.
                        await self._read_safely()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("listening for live changes failed; reconnecting")
                await asyncio.sleep(self._poll_seconds)
