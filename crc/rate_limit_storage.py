"""A `limits` storage in our database, so sign-in counters hold across web processes without Redis."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from limits.aio.storage import Storage
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from crc.auth_tables import RateLimitCounter
from crc.tables import utcnow

_COUNTER = RateLimitCounter.__table__  # type: ignore[attr-defined]


class DatabaseStorage(Storage):
    """Fixed-window counters in the rate_limit_counter table (SQLite or PostgreSQL)."""

    STORAGE_SCHEME = ["async+crc-database"]  # registered with limits; built with an engine, not a URI

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        *,
        engine: AsyncEngine,
        clock: Callable[[], datetime] = utcnow,
        **options: Any,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.engine = engine
        self.clock = clock

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sa.exc.SQLAlchemyError

    def _upsert(self) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(_COUNTER)

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` hits to the key's window, opening a window of `expiry` seconds if none is open."""
        now = self.clock()
        insert = self._upsert().values(key=key, hits=amount, expires_at=now + timedelta(seconds=expiry))
        # One atomic statement per hit: concurrent processes add up instead of overwriting.
        upsert = insert.on_conflict_do_update(
            index_elements=[_COUNTER.c.key], set_={"hits": _COUNTER.c.hits + amount}
        ).returning(_COUNTER.c.hits)
        async with self.engine.begin() as conn:
            # Ended windows go first, this key's among them, so its count starts again from zero.
            await conn.execute(sa.delete(_COUNTER).where(_COUNTER.c.expires_at <= now))
            return int((await conn.execute(upsert)).scalar_one())

    async def _row(self, key: str) -> sa.Row[Any] | None:
        query = sa.select(_COUNTER.c.hits, _COUNTER.c.expires_at).where(
            _COUNTER.c.key == key, _COUNTER.c.expires_at > self.clock()
        )
        async with self.engine.connect() as conn:
            return (await conn.execute(query)).first()

    async def get(self, key: str) -> int:
        """The hits in the key's open window (0 when none is open)."""
        row = await self._row(key)
        return int(row.hits) if row else 0

    async def get_expiry(self, key: str) -> float:
        """When the key's window ends, as a Unix time (now when none is open)."""
        row = await self._row(key)
        ends: datetime = row.expires_at if row else self.clock()
        return ends.timestamp()

    async def check(self) -> bool:
        """True when the database answers."""
        async with self.engine.connect() as conn:
            await conn.execute(sa.select(1))
        return True

    async def reset(self) -> int | None:
        """Forget every counter."""
        async with self.engine.begin() as conn:
            return (await conn.execute(sa.delete(_COUNTER))).rowcount

    async def clear(self, key: str) -> None:
        """Forget one counter."""
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(_COUNTER).where(_COUNTER.c.key == key))
