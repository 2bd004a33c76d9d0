"""The watchlist: countries Conflict Prevention watches, their risk assessments with sources, and
the contingency plans (draft operations) kept ready for them; the request models of its API."""

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from crc.fields import OneOf, Text
from crc.operations import OperationCreate

NOTE_MAX = 4000
SOURCE_TITLE_MAX = 200
SOURCE_URL_MAX = 500
MAX_SOURCES = 20
COUNTRY_NAME_MAX = 100


class RiskLevel(StrEnum):
    """How likely a country is to need a stabilization operation soon, lowest first."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


RISK_ORDER = {level: i for i, level in enumerate(RiskLevel)}


class PlanStatus(StrEnum):
    """A contingency plan is kept as a draft until it is activated into an operation, once."""

    DRAFT = "draft"
    ACTIVATED = "activated"


_ISO_CODE = re.compile(r"[A-Z]{2}", re.ASCII)
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.ASCII | re.IGNORECASE)


def _iso_code(value: str) -> str:
    code = value.strip().upper()
    if not _ISO_CODE.fullmatch(code):
        raise PydanticCustomError("value_error", "must be a two-letter ISO 3166 country code, like SD")
    return code


def _url(value: str) -> str:
    if not _URL.fullmatch(value.strip()):
        raise PydanticCustomError("value_error", "must be a web address starting with http:// or https://")
    return value.strip()


CountryCode = Annotated[str, Text(2), AfterValidator(_iso_code)]
CountryName = Annotated[str, Text(COUNTRY_NAME_MAX)]
Risk = Annotated[str, OneOf(tuple(RiskLevel))]
Note = Annotated[str, Text(NOTE_MAX)]
SourceTitle = Annotated[str, Text(SOURCE_TITLE_MAX)]
SourceUrl = Annotated[str, Text(SOURCE_URL_MAX), AfterValidator(_url)]


class Source(BaseModel):
    """Where an assessment's facts come from: a title and its web address."""

    title: SourceTitle
    url: SourceUrl


class Assessment(BaseModel):
    """A new risk level for a watched country, with why and from what sources."""

    risk_level: Risk
    note: Note
    sources: list[Source] = Field(default_factory=list, max_length=MAX_SOURCES)


class CountryCreate(Assessment):
    """A country put on the watchlist with its first assessment."""

    code: CountryCode
    name: CountryName


class PlanCreate(OperationCreate):
    """A contingency plan: the operation to start, with its staffing plan, should it be needed."""
