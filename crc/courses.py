"""Courses and their sessions as Training edits them: one field list per model family.

The API bodies and the page forms parse into these models, so both refuse the same input with
the same words. The rules over several fields, the database or today's date (the last day not
before the first, long enough for the course, seats not below those taken, nothing in the past)
live in web/services/courses.py, which names the field to change.
"""

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from crc.fields import A_DATE, BLANK_IS_NONE, Text, WholeNumber, worded

CODE_PATTERN = r"^[A-Z0-9][A-Z0-9_-]{0,31}$"
MAX_COURSE_DAYS = 60
MAX_VALIDITY_MONTHS = 240
MAX_SEATS = 500
MAX_SESSION_DAYS = 120  # a course's working days, spread over weekends, never takes longer

CourseCode = Annotated[
    str,
    Field(pattern=CODE_PATTERN, min_length=1, max_length=32, examples=["FACT"]),
    worded("must be 1 to 32 capital letters, digits, - or _, starting with a letter or digit"),
]
CourseDays = Annotated[
    int, WholeNumber(1, MAX_COURSE_DAYS, f"must be a whole number of days from 1 to {MAX_COURSE_DAYS}")
]
ValidityMonths = Annotated[
    Annotated[int, WholeNumber(1, MAX_VALIDITY_MONTHS)] | None,
    BLANK_IS_NONE,
    Field(description="how long a certificate lasts; null: it never expires"),
]
Seats = Annotated[int, WholeNumber(1, MAX_SEATS)]
SessionDate = Annotated[date, A_DATE]
Location = Annotated[str, Text(100)]


class CourseBase(BaseModel):
    """What a course is: its title, how many days it takes, how long its certificate lasts."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Text(200)]
    days: CourseDays
    validity_months: ValidityMonths = None


class CourseCreate(CourseBase):
    """A new course; its code never changes afterwards."""

    code: CourseCode


class CourseUpdate(BaseModel):
    """The fields of a course to change (the code stays)."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Text(200)] | None = None
    days: CourseDays | None = None
    validity_months: ValidityMonths = None


class CoursePublic(CourseBase):
    """A course as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    code: str


class SessionBase(BaseModel):
    """One run of a course: where, from which day to which, and how many seats."""

    model_config = ConfigDict(extra="forbid")

    location: Location
    starts_on: SessionDate
    ends_on: SessionDate = Field(description="the last day (the day results are taken from)")
    seats: Seats


class SessionCreate(SessionBase):
    """A new session of a course."""

    course_code: Annotated[str, Text(32)]


class SessionUpdate(BaseModel):
    """The fields of a session to change (the course stays)."""

    model_config = ConfigDict(extra="forbid")

    location: Location | None = None
    starts_on: SessionDate | None = None
    ends_on: SessionDate | None = None
    seats: Seats | None = None


class SessionPublic(SessionBase):
    """A session as the API shows it, with its course and the seats taken."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    course_code: str
    seats_taken: int
