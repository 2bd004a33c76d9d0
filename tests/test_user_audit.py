"""The user audit stays append-only and records changes made outside the pages too (the CLI);
the password rules say what to choose instead."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from crc.accounts import disable_user, set_password
from crc.auth_tables import UserAudit
from crc.db import session_factory
from crc.password_policy import password_problem
from crc.user_audit import record_user_change
from crc.users import UserAction
from tests import factories
from tests.web_helpers import user


async def test_audit_rows_are_never_changed_or_removed(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as db:
        record_user_change(db, UserAction.ENABLED, actor="admin", target="planning", changes={})
        await db.commit()
        row = (await db.exec(select(UserAudit))).one()
        row.actor = "someone else"
        db.add(row)
        with pytest.raises(PermissionError, match="the user audit is append-only"):
            await db.commit()
        await db.rollback()
        row = (await db.exec(select(UserAudit))).one()
        await db.delete(row)
        with pytest.raises(PermissionError, match="the user audit is append-only"):
            await db.commit()
        await db.rollback()
        assert [(r.actor, r.action) for r in (await db.exec(select(UserAudit))).all()] == [
            ("admin", "user.enabled")
        ]


async def test_account_actions_outside_the_pages_are_audited(engine: AsyncEngine) -> None:
    await factories.add(engine, user("planning", ["planning"]))
    async with session_factory(engine)() as db:
        await set_password(db, username="planning", password="Harbor-Lantern-Quilt-58", actor="cli")
        await disable_user(db, username="planning", actor="cli")
        await disable_user(db, username="planning", actor="cli")  # already disabled: nothing changes
        rows = (await db.exec(select(UserAudit).order_by(UserAudit.id))).all()  # type: ignore[arg-type]
    assert [(r.actor, r.action, r.target, r.changes) for r in rows] == [
        ("cli", "user.password_set", "planning", {"has_password": {"before": True, "after": True}}),
        ("cli", "user.disabled", "planning", {"is_active": {"before": True, "after": False}}),
    ]


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sunflower", "use at least 12 characters (this has 9)"),
        ("x" * 129, "use at most 128 characters"),
        ("            ", "use letters, digits or symbols, not only spaces"),
        ("dkim-Harbor-Lantern", "do not use your username or name in it (it contains 'dkim')"),
        ("Harbor-KIM-Lantern", "do not use your username or name in it (it contains 'kim')"),
        (
            "password12345",
            "it is too easy to guess (this is similar to a commonly used password); several unrelated "
            "words make a strong one",
        ),
        (
            "qwertyuiop123",
            "it is too easy to guess (this is a very common password); several unrelated words make a "
            "strong one",
        ),
        ("Harbor-Lantern-Quilt-58", None),
        ("correct horse battery staple", None),
    ],
)
def test_password_rules(password: str, problem: str | None) -> None:
    assert password_problem(password, username="dkim", names=["David Kim"]) == problem
