"""Rules for fields people fill in, each with the words the API and the pages show.

Used as `Annotated` metadata: `Annotated[str, Text(200)]`. The constraints stay
pydantic's own (so the OpenAPI schema shows them); only their messages are reworded.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import annotated_types
from pydantic import AfterValidator, BeforeValidator, ValidationError, WithJsonSchema, WrapValidator
from pydantic_core import PydanticCustomError
from pydantic_core.core_schema import ValidatorFunctionWrapHandler


def worded(message: str, *error_types: str) -> WrapValidator:
    """Pydantic's error for the field (only of these types, if named) with `message` instead."""

    def reword(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as err:
            error_type = err.errors()[0]["type"]
            if error_types and error_type not in error_types:
                raise
            # The type stays pydantic's, so programs can still tell the mistakes apart.
            raise PydanticCustomError(error_type, message) from None

    return WrapValidator(reword)


EMPTY = "must not be empty"
# The largest id an Integer column holds (32 bits in PostgreSQL): a bigger one names nothing.
INT32_MAX = 2**31 - 1


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("value_error", EMPTY)
    return value


def _blank_as_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


# An optional text left blank (an empty form field) is one not given.
BLANK_IS_NONE = BeforeValidator(_blank_as_none)
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _date_text_only(value: object) -> object:
    # Pydantic also reads a number (or a text of one, "0" or "2e-111") as seconds since 1970, and a
    # datetime at midnight as its day; a client that sent one of those did not mean a date. Other
    # mistakes keep pydantic's own error type.
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(value, str) and not _DATE_TEXT.fullmatch(value):
        number = _is_number(value) or _DATE_TEXT.match(value) is not None
    if number:
        raise PydanticCustomError("date_parsing", "not a YYYY-MM-DD date")
    return value


@dataclass(frozen=True)
class _ADate(annotated_types.GroupedMetadata):
    """A calendar day written YYYY-MM-DD (or a date object, as Python passes one)."""

    def __iter__(self) -> Iterator[object]:
        yield BeforeValidator(_date_text_only)
        yield worded("must be a date (YYYY-MM-DD)")


A_DATE = _ADate()
IsoDate = Annotated[date, A_DATE]


@dataclass(frozen=True)
class Text(annotated_types.GroupedMetadata):
    """Text of at most `max_length` characters that, if `required`, holds more than spaces."""

    max_length: int
    required: bool = True

    def __iter__(self) -> Iterator[object]:
        # Both lengths first, where pydantic checks them as text (and the schema shows them).
        yield annotated_types.Len(1 if self.required else 0, self.max_length)
        yield worded(f"must be at most {self.max_length} characters", "string_too_long")
        if self.required:
            yield worded(EMPTY, "string_too_short")
            yield AfterValidator(_not_blank)


@dataclass(frozen=True)
class WholeNumber(annotated_types.GroupedMetadata):
    """A whole number from `low` to `high`; one message for a wrong type and a wrong size."""

    low: int
    high: int
    message: str = ""  # when the range would mean little to the reader

    def __iter__(self) -> Iterator[object]:
        yield annotated_types.Interval(ge=self.low, le=self.high)
        yield worded(self.message or f"must be a whole number from {self.low} to {self.high}")


@dataclass(frozen=True)
class OneOf(annotated_types.GroupedMetadata):
    """Text that is one of `choices` (listed in the OpenAPI schema as an enum); `blank`: or empty."""

    choices: tuple[str, ...]
    blank: bool = False  # a page's filter left at "any" sends it empty

    def __iter__(self) -> Iterator[object]:
        yield AfterValidator(_member_of(self.choices, self.blank))
        yield WithJsonSchema({"type": "string", "enum": [*([""] if self.blank else []), *self.choices]})


def _member_of(choices: tuple[str, ...], blank: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices and not (blank and value == ""):
            raise PydanticCustomError("value_error", f"must be one of: {', '.join(choices)}")
        return value

    return check
