"""A roster member's fields, declared and checked once: the API body, the admin's form and a CSV
row all read into these models, so the three refuse alike and name the same fields."""

import re
from datetime import date
from typing import Annotated, Any

import annotated_types
from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

from crc.domain import AGENCIES, LANGUAGE_LEVELS, SECTORS, ClearanceLevel, Component, WindowKind
from crc.fields import A_DATE, BLANK_IS_NONE, OneOf, Text, WholeNumber, worded

NAME_MAX = 200
EMAIL_MAX = 200
LANGUAGE_MAX = 40
NOTE_MAX = 500
COURSE_CODE_MAX = 32
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Letters (any script), spaces, hyphens: no separators the CSV cells use (";", ":", ",").
_LANGUAGE = re.compile(r"[^\W\d_]+(?:[ -][^\W\d_]+)*")


def _email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.fullmatch(value):
        raise PydanticCustomError("value_error", "must be an email address (name@example.gov)")
    return value.lower()


def _language(value: str) -> str:
    value = value.strip()
    if not _LANGUAGE.fullmatch(value):
        raise PydanticCustomError(
            "value_error", "each language must be a name or code of letters, like fr or Dari"
        )
    return value


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Name = Annotated[str, Text(NAME_MAX)]
Email = Annotated[str, Text(EMAIL_MAX), AfterValidator(_email)]
Agency = Annotated[str, OneOf(AGENCIES)]
ComponentName = Annotated[str, OneOf(tuple(str(c) for c in Component))]
Sector = Annotated[str, OneOf(SECTORS)]
Sectors = Annotated[
    list[Sector],
    annotated_types.Len(1, len(SECTORS)),
    worded("choose at least one sector", "too_short"),
    AfterValidator(_distinct),
]
Language = Annotated[str, Text(LANGUAGE_MAX), AfterValidator(_language)]
Level = Annotated[
    int, WholeNumber(LANGUAGE_LEVELS[0], LANGUAGE_LEVELS[-1], "must be an ILR level from 0 to 5")
]
Clearance = Annotated[str, OneOf(tuple(str(c) for c in ClearanceLevel))]
OptionalDate = Annotated[Annotated[date, A_DATE] | None, BLANK_IS_NONE]
Kind = Annotated[str, OneOf(tuple(str(k) for k in WindowKind))]
Note = Annotated[str, Text(NOTE_MAX, required=False)]
CourseCode = Annotated[str, Text(COURSE_CODE_MAX)]


class MemberFields(BaseModel):
    """Everything an admin records about a member (the certificates and windows have their own)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    email: Email
    agency: Agency
    component: ComponentName
    sectors: Sectors
    # The languages spoken, in the order given; `language_levels` gives each its ILR level.
    languages: Annotated[list[Language], annotated_types.Len(0, 20), AfterValidator(_distinct)] = []
    language_levels: dict[Language, Level] = {}
    clearance_level: Clearance
    clearance_granted: OptionalDate = None
    clearance_expires: OptionalDate = None
    medical_expires: OptionalDate = None
    passport_expires: OptionalDate = None


class MemberPatch(BaseModel):
    """Some of a member's fields; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: Email | None = None
    agency: Agency | None = None
    component: ComponentName | None = None
    sectors: Sectors | None = None
    languages: Annotated[list[Language], annotated_types.Len(0, 20), AfterValidator(_distinct)] | None = None
    language_levels: dict[Language, Level] | None = None
    clearance_level: Clearance | None = None
    clearance_granted: OptionalDate = None
    clearance_expires: OptionalDate = None
    medical_expires: OptionalDate = None
    passport_expires: OptionalDate = None


class WindowFields(BaseModel):
    """Days a member is away: leave or other duties."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    starts_on: Annotated[date, A_DATE]
    ends_on: Annotated[date, A_DATE]
    note: Note = ""


class CertificateFields(BaseModel):
    """A certificate to record: the course and the day it was passed (expiry from the course)."""

    model_config = ConfigDict(extra="forbid")

    course_code: CourseCode
    issued_on: Annotated[date, A_DATE]


class RetireFields(BaseModel):
    """When a member leaves the roster (today if not given)."""

    model_config = ConfigDict(extra="forbid")

    retired_on: OptionalDate = None


def member_problems(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """What is wrong between a member's fields (each valid alone): (field, message) pairs."""
    problems = []
    stray = [
        lang for lang in fields.get("language_levels") or {} if lang not in (fields.get("languages") or [])
    ]
    if stray:
        problems.append(("language_levels", f"{', '.join(stray)} not among the languages"))
    granted, expires = fields.get("clearance_granted"), fields.get("clearance_expires")
    if granted is not None and expires is not None and expires < granted:
        problems.append(("clearance_expires", "must not be before clearance_granted"))
    return problems


def window_problems(window: WindowFields) -> list[tuple[str, str]]:
    """What is wrong between a window's dates: (field, message) pairs."""
    if window.ends_on < window.starts_on:
        return [("ends_on", "must not be before starts_on")]
    return []


def read_languages(text: str) -> tuple[list[str], dict[str, Any], list[str]]:
    """Languages written "fr:3; ar:2" (";" or "," between them, a level optional): the languages,
    their levels, and what is wrong (a level that is no number)."""
    languages: list[str] = []
    levels: dict[str, Any] = {}
    problems: list[str] = []
    for part in (p.strip() for p in text.replace(",", ";").split(";")):
        if not part:
            continue
        name, colon, level = (x.strip() for x in part.partition(":"))
        languages.append(name)
        if colon and level.isascii() and level.isdigit():
            levels[name] = int(level)
        elif colon:
            problems.append(f"{part}: the level must be an ILR level from 0 to 5")
    return languages, levels, problems


def write_languages(languages: list[str], levels: dict[str, int]) -> str:
    """Languages as read_languages reads them."""
    return ";".join(f"{lang}:{levels[lang]}" if lang in levels else lang for lang in languages)
