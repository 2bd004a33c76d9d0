"""One sign-in check for the API and the pages: throttled, audited, and silent on who exists."""

from sqlmodel.ext.asyncio.session import AsyncSession

from crc.accounts import SecurityEventKind, record_security_event
from crc.tables import User
from web.security import authenticate
from web.throttle import LOCK_MINUTES, SignInThrottle

WRONG_CREDENTIALS = "incorrect username or password"


class SignInRefused(Exception):
    """The username and password did not sign anyone in."""


class SignInLocked(Exception):
    """Too many failed sign-ins for this username or address: try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


async def sign_in(
    db: AsyncSession, throttle: SignInThrottle, *, username: str, password: str, address: str, via: str
) -> User:
    """The user for a right password; raises SignInLocked while locked, SignInRefused otherwise."""
    audit = {"username": username, "actor": username, "address": address}
    # Checked before the password, and without looking the user up: a locked name answers the
    # same whether or not it exists, and even the right password waits for the lock to end.
    retry_after = await throttle.retry_after(username, address)
    if retry_after is not None:
        record_security_event(
            db, SecurityEventKind.SIGN_IN_LOCKED, detail=f"refused while locked ({via})", **audit
        )
        await db.commit()
        raise SignInLocked(retry_after)
    user = await authenticate(db, username=username, password=password)
    if user is None:
        locked = await throttle.failed(username, address)
        record_security_event(db, SecurityEventKind.SIGN_IN_FAILED, detail=via, **audit)
        if locked:
            detail = f"too many failures: locked for {LOCK_MINUTES} minutes ({via})"
            record_security_event(db, SecurityEventKind.SIGN_IN_LOCKED, detail=detail, **audit)
        await db.commit()
        raise SignInRefused(WRONG_CREDENTIALS)
    await throttle.succeeded(username)
    record_security_event(db, SecurityEventKind.SIGNED_IN, detail=via, **audit)
    await db.commit()
    return user
