"""Rules for fields people fill in, each with the words the API and the pages show.

Used as `Annotated` metadata: `Annotated[str, Text(200)]`. The constraints stay
pydantic's own (so the OpenAPI schema shows them); only their messages are reworded.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

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
A_DATE = worded("must be a date (YYYY-MM-DD)")


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
