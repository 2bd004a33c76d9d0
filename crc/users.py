"""The shapes of a user account for admins: roles with scope, create, update, public, audit."""

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from crc.fields import OneOf, Text, worded
from crc.requests import MemberId
from crc.roles import SCOPE_ALL, Role

USERNAME_MAX = 64
EMAIL_MAX = 200
FULL_NAME_MAX = 200
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
# One @, something before it, a domain with a dot after it, no spaces: what a mail server can take.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
ROLE_NAMES = tuple(r.value for r in Role)


class UserAction(StrEnum):
    """What an entry of the user audit records."""

    CREATED = "user.created"
    DETAILS_CHANGED = "user.details_changed"  # email or full name
    ROLES_CHANGED = "user.roles_changed"
    MEMBER_CHANGED = "user.member_changed"
    DISABLED = "user.disabled"
    ENABLED = "user.enabled"
    PASSWORD_LINK_ISSUED = "user.password_link_issued"  # noqa: S105 - an action name
    PASSWORD_SET = "user.password_set"  # noqa: S105 - an action name


def _username(value: str) -> str:
    if not _USERNAME.fullmatch(value):
        raise PydanticCustomError(
            "value_error",
            "use 2 to 64 lowercase letters, digits, dots, dashes or underscores, starting with a "
            "letter or digit",
        )
    return value


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > EMAIL_MAX or not _EMAIL.fullmatch(value):
        raise PydanticCustomError("value_error", "must be an email address such as name@agency.gov")
    return value


Username = Annotated[str, worded("must be text", "string_type"), AfterValidator(_username)]
Email = Annotated[str, worded("must be text", "string_type"), AfterValidator(_email)]
FullName = Annotated[str, Text(FULL_NAME_MAX, required=False)]
Scope = list[Annotated[str, Text(64)]] | Literal["all"]


class RoleGrant(BaseModel):
    """A role a user holds and what it covers."""

    model_config = ConfigDict(extra="forbid")

    role: Annotated[str, OneOf(ROLE_NAMES)]
    scope: Scope = Field(
        default=SCOPE_ALL,
        description="post codes (chief_of_mission), agencies (home_agency) or offices, as role "
        'names (director); "all" (or an empty list) for all of them, and for every other role',
        examples=[["JUB"], SCOPE_ALL],
    )


class UserBase(BaseModel):
    """What an admin sets on a user."""

    model_config = ConfigDict(extra="forbid")


class UserCreate(UserBase):
    """A new user: no password yet; the answer carries a one-time link to set one."""

    username: Username
    email: Email
    full_name: FullName = Field(default="", description="defaults to the linked member's name")
    roles: list[RoleGrant] = Field(min_length=1)
    member_id: MemberId | None = Field(default=None, description="the roster member this user is")


class UserUpdate(UserBase):
    """The fields to change; a field left out stays as it is (`member_id: null` unlinks)."""

    email: Email | None = None
    full_name: FullName | None = None
    roles: list[RoleGrant] | None = Field(default=None, min_length=1)
    member_id: MemberId | None = None
    is_active: bool | None = Field(
        default=None, description="false disables the user, ending their sessions and tokens at once"
    )


class UserPublic(BaseModel):
    """A user as an admin sees them."""

    username: str
    full_name: str
    email: str
    roles: list[RoleGrant]
    member_id: int | None
    member_name: str | None = None
    is_active: bool
    has_password: bool = Field(description="false until the user has set a password through a link")
    created_at: datetime


class UserCreated(UserPublic):
    """A new user and the one-time link to set a password (shown only here)."""

    set_password_url: str = Field(description="valid for 72 hours, once; a newer link voids it")
    set_password_expires_at: datetime
    set_password_emailed: bool = Field(
        description="whether the link was also emailed to the user (false: the mail server refused it)"
    )


class PasswordLinkIssued(BaseModel):
    """A fresh one-time set-password link; older links of the user no longer work."""

    username: str
    set_password_url: str
    set_password_expires_at: datetime
    set_password_emailed: bool = Field(description="whether the link was also emailed to the user")


class AuditEntry(BaseModel):
    """One change to a user: who, what, when, and each field before and after."""

    at: datetime
    actor: str
    action: UserAction
    target: str
    changes: dict[str, Any]
