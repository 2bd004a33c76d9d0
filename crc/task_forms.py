"""The data some tasks need with their outcome, as pydantic models the API, pages and workflow share."""

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from crc.domain import ClearanceLevel

REPORT_MAX = 20_000


class TaskData(BaseModel):
    """Form data of a task; a field the kind does not know is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class NoData(TaskData):
    """Most tasks need nothing but the outcome (and perhaps a comment)."""


class VettingClearance(TaskData):
    """A vetting officer's `clear` may record the member's renewed document."""

    valid_until: date | None = None
    # A clearance finding is cleared only with the renewed or upgraded clearance's level.
    level: ClearanceLevel | None = None

    @field_validator("valid_until", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if value is None or value == "" or isinstance(value, date):
            return value or None
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise PydanticCustomError("date_format", "must be a date (YYYY-MM-DD)") from None


class KitReturn(TaskData):
    """Kit that did not come back; with `missing` and none listed, all of it is missing."""

    missing_skus: list[str] = Field(default_factory=list, max_length=50)


class AfterActionReport(TaskData):
    """The member's report on the deployment."""

    report: str = Field(default="", max_length=REPORT_MAX, validate_default=True)

    @field_validator("report")
    @classmethod
    def _written(cls, value: str) -> str:
        if not value:
            raise PydanticCustomError("report_missing", "write the report before marking it done")
        return value
