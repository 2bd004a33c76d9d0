"""Sign-in throttling with `limits`: a username or a client address that fails too often is locked."""

import hashlib
import math
import time
from collections.abc import Callable
from datetime import datetime

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from sqlalchemy.ext.asyncio import AsyncEngine

from crc.rate_limit_storage import DatabaseStorage

LOCK_MINUTES = 15
# 5 failures for one username, or 50 from one address, within 15 minutes lock it for 15 minutes.
USERNAME_FAILURES = RateLimitItemPerMinute(5, 15)
ADDRESS_FAILURES = RateLimitItemPerMinute(50, 15)
_LOCK = RateLimitItemPerMinute(1, LOCK_MINUTES)  # one hit fills it: the key exists while locked


def _targets(username: str, address: str) -> list[tuple[RateLimitItem, str, str]]:
    # A digest keeps keys short and free of whatever characters a typed username holds.
    name = hashlib.sha256(username.encode()).hexdigest()
    return [(USERNAME_FAILURES, "username", name), (ADDRESS_FAILURES, "address", address)]


class SignInThrottle:
    """Counts failed sign-ins per username and per client address, and locks either after too many."""

    def __init__(self, storage: Storage, now: Callable[[], float]) -> None:
        self.limiter = MovingWindowRateLimiter(storage)
        self.now = now

    async def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until the username and the address are both unlocked; None when neither is locked."""
        waits = []
        for _, kind, key in _targets(username, address):
            lock = await self.limiter.get_window_stats(_LOCK, "sign-in-lock", kind, key)
            if lock.remaining <= 0:
                # Rounded to the millisecond first, so float noise never adds a whole second.
                waits.append(max(1, math.ceil(round(lock.reset_time - self.now(), 3))))
        return max(waits, default=None)

    async def failed(self, username: str, address: str) -> bool:
        """Count a failed sign-in; True when it locks the username or the address."""
        locked = False
        for item, kind, key in _targets(username, address):
            await self.limiter.hit(item, "sign-in-failures", kind, key)
            if (await self.limiter.get_window_stats(item, "sign-in-failures", kind, key)).remaining <= 0:
                await self.limiter.hit(_LOCK, "sign-in-lock", kind, key)
                # Counting starts afresh once the lock ends.
                await self.limiter.clear(item, "sign-in-failures", kind, key)
                locked = True
        return locked

    async def succeeded(self, username: str) -> None:
        """Forget the username's failures (an unlocked user who got in); the address's stay counted."""
        item, kind, key = _targets(username, "")[0]
        await self.limiter.clear(item, "sign-in-failures", kind, key)


def build_throttle(storage_url: str, engine: AsyncEngine, clock: Callable[[], datetime]) -> SignInThrottle:
    """Counters in Redis when a redis:// URL is configured, else in the database."""
    if storage_url:
        # limits' asyncio Redis storage (coredis); Redis keeps its own time.
        # wrap_exceptions: a Redis that does not answer raises limits' StorageError, a 503 (web.errors).
        redis = storage_from_string(f"async+{storage_url}", wrap_exceptions=True)
        assert isinstance(redis, Storage)
        return SignInThrottle(redis, time.time)
    return SignInThrottle(DatabaseStorage(engine=engine, clock=clock), lambda: clock().timestamp())
