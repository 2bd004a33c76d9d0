"""Tables of signing in: page sessions, revoked API tokens, sign-in counters and the security audit."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from crc.tables import UTCDateTime, utcnow


class UserSession(SQLModel, table=True):
    """A signed-in page session; the cookie carries its id, the table only the id's SHA-256."""

    __tablename__ = "user_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=64, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)


class RevokedToken(SQLModel, table=True):
    """An API token revoked before it expired; kept until `expires_at`, when it dies anyway."""

    __tablename__ = "revoked_token"

    jti: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=64, index=True)
    revoked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


class RateLimitHit(SQLModel, table=True):
    """One hit of a `limits` moving window (crc.rate_limit_storage): a failed sign-in, or a lock."""

    __tablename__ = "rate_limit_hit"
    __table_args__ = (sa.Index("ix_rate_limit_hit_key_at", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255)
    at: datetime = Field(sa_type=UTCDateTime)


class SecurityEvent(SQLModel, table=True):
    """One entry of the security audit: sign-ins, failures, locks, sign-outs, revocations."""

    __tablename__ = "security_event"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)  # crc.accounts.SecurityEventKind
    username: str = Field(max_length=64, index=True)  # whom it concerns (as typed, for a sign-in)
    actor: str = Field(max_length=64)  # who did it: the user, an admin, or "cli"
    address: str = Field(default="", max_length=64)  # the client address, when over HTTP
    detail: str = Field(default="", sa_type=sa.Text)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
