"""A `limits` storage in our database, so sign-in counters hold across web processes without Redis."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from limits.aio.storage import MovingWindowSupport, Storage
from sqlalchemy.ext.asyncio import AsyncEngine

from crc.auth_tables import RateLimitHit
from crc.tables import utcnow

_HIT = RateLimitHit.__table__  # type: ignore[attr-defined]
_FIXED_WINDOW = "this storage keeps moving windows only: use limits' MovingWindowRateLimiter"


class DatabaseStorage(Storage, MovingWindowSupport):
    """Moving windows as one row per hit in the rate_limit_hit table (SQLite or PostgreSQL)."""

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

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Record `amount` hits unless that would put more than `limit` in the last `expiry` seconds."""
        now = self.clock()
        async with self.engine.begin() as conn:
            # The delete comes first: on SQLite it takes the write lock, so the count and the insert
            # below are not interleaved with another process's.
            await conn.execute(
                sa.delete(_HIT).where(_HIT.c.key == key, _HIT.c.at <= now - timedelta(seconds=expiry))
            )
            held = (await conn.execute(sa.select(sa.func.count()).where(_HIT.c.key == key))).scalar_one()
            if held + amount > limit:
                return False
            await conn.execute(sa.insert(_HIT), [{"key": key, "at": now}] * amount)
            return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(when the oldest hit in the last `expiry` seconds happened, how many hits there are)."""
        now = self.clock()
        query = sa.select(sa.func.min(_HIT.c.at), sa.func.count()).where(
            _HIT.c.key == key, _HIT.c.at > now - timedelta(seconds=expiry)
        )
        async with self.engine.connect() as conn:
            oldest, hits = (await conn.execute(query)).one()
        return (oldest or now).timestamp(), int(hits)

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Not kept: the fixed-window strategies need counters this storage does not have."""
        raise NotImplementedError(_FIXED_WINDOW)

    async def get(self, key: str) -> int:
        """Not kept (fixed windows only)."""
        raise NotImplementedError(_FIXED_WINDOW)

    async def get_expiry(self, key: str) -> float:
        """Not kept (fixed windows only)."""
        raise NotImplementedError(_FIXED_WINDOW)

    async def check(self) -> bool:
        """True when the database answers."""
        async with self.engine.connect() as conn:
            await conn.execute(sa.select(1))
        return True

    async def reset(self) -> int | None:
        """Forget every hit."""
        async with self.engine.begin() as conn:
            return (await conn.execute(sa.delete(_HIT))).rowcount

    async def clear(self, key: str) -> None:
        """Forget one key's hits."""
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(_HIT).where(_HIT.c.key == key))
