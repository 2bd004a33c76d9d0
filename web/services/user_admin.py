"""The admin's work on user accounts: list, create, change roles and scope, link a member,
disable and enable; each change checked field by field and audited."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.accounts import disable_user
from crc.auth_tables import PasswordLink
from crc.domain import AGENCIES
from crc.passwords import NO_PASSWORD
from crc.roles import SCOPE_ALL, SCOPED_ROLES, Role, ScopeKind
from crc.tables import Member, Post, User
from crc.user_audit import before_after, record_user_change
from crc.users import RoleGrant, UserAction, UserCreate, UserPublic, UserUpdate
from web.services.errors import Conflict, FieldError, Forbidden, InvalidFields, NotFound

# The offices a director's scope may name: the roles whose tasks can be escalated to a director.
OFFICES: tuple[str, ...] = tuple(
    r.value for r in Role if r not in {Role.REQUESTER, Role.DIRECTOR, Role.MEMBER, Role.ADMIN}
)


def grants_of(user: User) -> list[RoleGrant]:
    """The user's roles, each with what it covers."""
    return [
        RoleGrant(role=role, scope=user.scopes.get(role) or SCOPE_ALL if role in SCOPED_ROLES else SCOPE_ALL)
        for role in user.roles
    ]


def _grants_json(grants: Sequence[RoleGrant]) -> list[dict[str, Any]]:
    return [g.model_dump() for g in grants]


def public(user: User, member_name: str | None = None) -> UserPublic:
    """The user as the API shows them."""
    return UserPublic(
        username=user.username,
        full_name=user.full_name,
        email=user.email,
        roles=grants_of(user),
        member_id=user.member_id,
        member_name=member_name,
        is_active=user.is_active,
        has_password=not user.password_hash.startswith(NO_PASSWORD),
        created_at=user.created_at,
    )


async def list_users(db: AsyncSession, *, q: str = "", role: str = "") -> list[tuple[User, str | None]]:
    """Users (with their member's name) whose username or name holds `q`, holding `role` if given."""
    query = select(User, Member.name).join(Member, col(Member.id) == col(User.member_id), isouter=True)
    if q.strip():
        pattern = f"%{q.strip().lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(col(User.username)).like(pattern),
                sa.func.lower(col(User.full_name)).like(pattern),
                sa.func.lower(col(Member.name)).like(pattern),
            )
        )
    rows = [(user, name) for user, name in (await db.exec(query.order_by(col(User.username)))).all()]
    # roles is a JSON list: filtered here, the same on SQLite and PostgreSQL.
    return [(user, name) for user, name in rows if not role or role in user.roles]


async def get_user(db: AsyncSession, username: str) -> User:
    """The user with this username, or NotFound."""
    user = (await db.exec(select(User).where(User.username == username))).first()
    if user is None:
        raise NotFound(f"no user is named {username!r}")
    return user


async def member_name(db: AsyncSession, member_id: int | None) -> str | None:
    """The name of the roster member, if any."""
    member = await db.get(Member, member_id) if member_id is not None else None
    return member.name if member else None


async def unlinked_members(db: AsyncSession, *, keep: int | None = None) -> list[Member]:
    """Roster members no user is linked to (and `keep`, the one already linked to this user)."""
    linked = select(User.member_id).where(col(User.member_id).is_not(None))
    if keep is not None:
        linked = linked.where(User.member_id != keep)
    query = select(Member).where(col(Member.id).not_in(linked)).order_by(col(Member.name))
    return list((await db.exec(query)).all())


async def scope_choices(db: AsyncSession) -> dict[ScopeKind, list[str]]:
    """What each kind of scope may name: post codes, agencies, offices."""
    posts = (await db.exec(select(Post.code).order_by(col(Post.code)))).all()
    return {ScopeKind.POST: list(posts), ScopeKind.AGENCY: list(AGENCIES), ScopeKind.OFFICE: list(OFFICES)}


async def check_grants(
    db: AsyncSession, grants: Sequence[RoleGrant]
) -> tuple[list[str], dict[str, list[str]], list[tuple[int, str, str]]]:
    """(roles, scopes) to store, and the problems: (index of the grant, "role" or "scope", message)."""
    choices = await scope_choices(db)
    roles: list[str] = []
    scopes: dict[str, list[str]] = {}
    problems: list[tuple[int, str, str]] = []
    for i, grant in enumerate(grants):
        if grant.role in roles:
            problems.append((i, "role", f"{grant.role} is given twice; give each role once"))
            continue
        roles.append(grant.role)
        values = [] if grant.scope == SCOPE_ALL else list(dict.fromkeys(grant.scope))
        kind = SCOPED_ROLES.get(Role(grant.role))
        if kind is None:
            if values:
                problems.append((i, "scope", f'the {grant.role} role takes no scope: send "all"'))
            continue
        unknown = [v for v in values if v not in choices[kind]]
        if unknown:
            problems.append(
                (
                    i,
                    "scope",
                    f"unknown {kind.value} {', '.join(unknown)}: choose from {', '.join(choices[kind])}",
                )
            )
        elif values:
            scopes[grant.role] = values
    return roles, scopes, problems


async def _check_member(db: AsyncSession, member_id: int | None, username: str) -> Member | None:
    """The member to link, or InvalidFields: unknown, or already another user's."""
    if member_id is None:
        return None
    member = await db.get(Member, member_id)
    if member is None:
        raise InvalidFields([FieldError("member_id", f"no roster member has id {member_id}", member_id)])
    other = (
        await db.exec(select(User.username).where(User.member_id == member_id, User.username != username))
    ).first()
    if other is not None:
        raise InvalidFields(
            [FieldError("member_id", f"{member.name} is already linked to the user {other}", member_id)]
        )
    return member


def _grant_errors(problems: list[tuple[int, str, str]], grants: Sequence[RoleGrant]) -> list[FieldError]:
    return [
        FieldError(field, message, getattr(grants[i], field), location=f"body.roles.{i}")
        for i, field, message in problems
    ]


async def create_user(db: AsyncSession, body: UserCreate, *, actor: str) -> User:
    """Add the user with no usable password and audit it (committed with the caller's link);
    Conflict if the username is taken, InvalidFields naming each bad field."""
    if (await db.exec(select(User.id).where(User.username == body.username))).first() is not None:
        raise Conflict(f"the username {body.username!r} is taken; choose another")
    roles, scopes, problems = await check_grants(db, body.roles)
    errors = _grant_errors(problems, body.roles)
    member = None
    try:
        member = await _check_member(db, body.member_id, body.username)
    except InvalidFields as err:
        errors += err.errors
    if errors:
        raise InvalidFields(errors)
    user = User(
        username=body.username,
        email=body.email,
        full_name=body.full_name.strip() or (member.name if member else ""),
        password_hash=NO_PASSWORD,
        roles=roles,
        scopes=scopes,
        member_id=body.member_id,
    )
    db.add(user)
    created = {
        "email": body.email,
        "full_name": user.full_name,
        "roles": _grants_json(grants_of(user)),
        "member_id": body.member_id,
        "is_active": True,
    }
    record_user_change(
        db, UserAction.CREATED, actor=actor, target=body.username,
        changes={name: before_after(None, value) for name, value in created.items()},
    )  # fmt: skip
    return user


async def update_user(
    db: AsyncSession, username: str, body: UserUpdate, *, actor: str, address: str, now: datetime
) -> User:
    """Apply the fields sent, audit each kind of change, commit; disabling ends sessions and tokens."""
    user = await get_user(db, username)
    sent = body.model_fields_set
    errors: list[FieldError] = []
    roles, scopes = user.roles, user.scopes
    if "roles" in sent and body.roles is not None:
        roles, scopes, problems = await check_grants(db, body.roles)
        errors += _grant_errors(problems, body.roles)
    if "member_id" in sent:
        try:
            await _check_member(db, body.member_id, username)
        except InvalidFields as err:
            errors += err.errors
    for name in ("email", "full_name", "roles", "is_active"):
        if name in sent and getattr(body, name) is None:
            errors.append(FieldError(name, "must not be null; leave it out to keep it as it is"))
    if errors:
        raise InvalidFields(errors)
    if actor == username and Role.ADMIN in user.roles and Role.ADMIN not in roles:
        raise Forbidden("you cannot remove your own admin role; ask another admin to do it")
    if actor == username and body.is_active is False:
        raise Forbidden("you cannot disable yourself; ask another admin to do it")

    details: dict[str, Any] = {}
    for name in ("email", "full_name"):
        value = getattr(body, name)
        if name in sent and value is not None and value != getattr(user, name):
            details[name] = before_after(getattr(user, name), value)
            setattr(user, name, value)
    if details:
        record_user_change(db, UserAction.DETAILS_CHANGED, actor=actor, target=username, changes=details)
    before_roles = _grants_json(grants_of(user))
    user.roles, user.scopes = roles, scopes
    after_roles = _grants_json(grants_of(user))
    if after_roles != before_roles:
        record_user_change(
            db, UserAction.ROLES_CHANGED, actor=actor, target=username,
            changes={"roles": before_after(before_roles, after_roles)},
        )  # fmt: skip
    if "member_id" in sent and body.member_id != user.member_id:
        record_user_change(
            db, UserAction.MEMBER_CHANGED, actor=actor, target=username,
            changes={"member_id": before_after(user.member_id, body.member_id)},
        )  # fmt: skip
        user.member_id = body.member_id
    db.add(user)
    if body.is_active is True and not user.is_active:
        user.is_active = True
        record_user_change(
            db,
            UserAction.ENABLED,
            actor=actor,
            target=username,
            changes={"is_active": before_after(False, True)},
        )
    try:
        if body.is_active is False and user.is_active:
            # Unused set-password links die with the account; enabling it again needs a new one.
            await db.exec(
                sa.delete(PasswordLink).where(
                    col(PasswordLink.username) == username, col(PasswordLink.used_at).is_(None)
                )
            )
            # Audits it, ends sessions and tokens, and commits every change above with it.
            await disable_user(db, username=username, actor=actor, address=address, now=now)
        else:
            await db.commit()
    except sa.exc.IntegrityError:
        # uq_user_member_id: another admin linked the member a moment ago.
        await db.rollback()
        raise InvalidFields(
            [FieldError("member_id", "this member was just linked to another user", body.member_id)]
        ) from None
    await db.refresh(user)
    return user
