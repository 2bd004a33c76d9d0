"""Helpers for the user-account tests: a new user's body, the audit as tuples, the link's token."""

from typing import Any

from sqlmodel import col, select

from crc.auth_tables import UserAudit
from crc.db import session_factory
from tests.web_helpers import World


def new_user(username: str = "dkim", **overrides: Any) -> dict[str, Any]:
    """A valid body for POST /api/v1/users: a Chief of Mission for one post."""
    body: dict[str, Any] = {
        "username": username,
        "email": f"{username}@crc.example.gov",
        "full_name": "Dana Kim",
        "roles": [{"role": "member", "scope": "all"}],
        "member_id": None,
    }
    body.update(overrides)
    return body


async def audit_rows(world: World, target: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(actor, action, target, changes) of the user's audit, oldest first."""
    async with session_factory(world.engine)() as db:
        rows = (
            await db.exec(select(UserAudit).where(UserAudit.target == target).order_by(col(UserAudit.id)))
        ).all()
    return [(r.actor, r.action, r.target, r.changes) for r in rows]


def token_of(url: str) -> str:
    """The token at the end of a set-password URL."""
    prefix = "/set-password/"
    assert prefix in url, url
    return url.split(prefix, 1)[1]
