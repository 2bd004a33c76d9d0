"""Tables of signing in: page sessions, revoked API tokens, sign-in counters, the security audit,
the audit of user changes and set-password links."""

from datetime import datetime
from typing import Any

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


class UserAudit(SQLModel, table=True):
    """One change to a user or their roles: who made it, what, to whom, when, and the fields'
    values before and after. Append-only: rows are added, never changed or removed."""

    __tablename__ = "user_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=64)  # the admin's username, or the user's own for a password set
    action: str = Field(max_length=40)  # crc.user_audit.UserAction
    target: str = Field(max_length=64, index=True)  # the username the change is about
    # {"field": {"before": ..., "after": ...}} for each field the change touched
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))


class PasswordLink(SQLModel, table=True):
    """A one-time set-password link; only the SHA-256 of its token is kept, so a copy of the
    table opens nothing. Used once (`used_at`), dead after `expires_at`, voided by a newer one."""

    __tablename__ = "password_link"

    token_hash: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=64, index=True)
    issued_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
