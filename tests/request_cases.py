"""Bad values for one field of a deployment request, each with the exact refusal it earns.

Shared by the API's tests and the request form's, which must refuse alike. A value is given as
JSON sends it; the form sends its text. `days_ahead` values are resolved when a test runs.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from crc.domain import SECTORS
from web.services.requests import today_utc

NOT_EMPTY = "must not be empty"
A_DURATION = "must be a whole number from 1 to 365"
A_MEMBER = "must be a roster member's id"


@dataclass(frozen=True)
class DaysAhead:
    """A start date this many days from today."""

    days: int

    def iso(self) -> str:
        """The date as YYYY-MM-DD."""
        return (today_utc() + timedelta(days=self.days)).isoformat()


@dataclass(frozen=True)
class BadField:
    """One bad value and the single 422 entry it earns."""

    field: str
    value: Any
    type: str
    msg: str

    def json_value(self) -> Any:
        """The value as a JSON body carries it."""
        return self.value.iso() if isinstance(self.value, DaysAhead) else self.value

    def form_value(self) -> str:
        """The value as a form field carries it."""
        return str(self.json_value())


def _bad(field: str, value: Any, type_: str, msg: str) -> Any:
    shown = repr(value)[:24]
    return pytest.param(BadField(field, value, type_, msg), id=f"{field}={shown}")


# Refused by the model's rules (crc/requests.py), before anything is looked up.
STATIC = [
    _bad("member_id", 0, "greater_than_equal", A_MEMBER),
    _bad("member_id", 2**31, "less_than_equal", A_MEMBER),
    _bad("member_id", "someone", "int_parsing", A_MEMBER),
    _bad("post_code", "", "string_too_short", NOT_EMPTY),
    _bad("post_code", "P" * 17, "string_too_long", "must be at most 16 characters"),
    _bad("sector", "basket_weaving", "value_error", f"must be one of: {', '.join(SECTORS)}"),
    _bad("role_title", "   ", "value_error", NOT_EMPTY),
    _bad("role_title", "x" * 201, "string_too_long", "must be at most 200 characters"),
    _bad("start_date", "someday", "date_from_datetime_parsing", "must be a date (YYYY-MM-DD)"),
    _bad("start_date", "2030-02-30", "date_from_datetime_parsing", "must be a date (YYYY-MM-DD)"),
    _bad("duration_days", 0, "greater_than_equal", A_DURATION),
    _bad("duration_days", 366, "less_than_equal", A_DURATION),
    _bad("duration_days", "long", "int_parsing", A_DURATION),
    _bad("duration_days", "²", "int_parsing", A_DURATION),
    _bad("justification", "", "string_too_short", NOT_EMPTY),
    _bad("justification", "x" * 4001, "string_too_long", "must be at most 4000 characters"),
    _bad("urgent_justification", "x" * 4001, "string_too_long", "must be at most 4000 characters"),
]
# Refused by web/services/validation.py: they need the database or today's date.
LOOKED_UP = [
    _bad("member_id", 999_999, "value_error", "no roster member has this id"),
    _bad("post_code", "NOWHERE", "value_error", "no post has this code"),
    _bad("start_date", DaysAhead(-1), "value_error", "must be today or later"),
]
