"""The admin's edits of posts (reference data), checked field by field."""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import TypeAdapter, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.domain import ClearanceLevel, ThreatLevel
from crc.fields import WholeNumber
from crc.tables import Post
from web.services.errors import FieldError, InvalidFields, NotFound

# Read as the API reads numbers (pydantic): ASCII digits only, so "²" and Arabic-Indic 10 are refused.
_LEAD_DAYS: TypeAdapter[int] = TypeAdapter(
    Annotated[int, WholeNumber(0, 365, "must be a whole number of days from 0 to 365")]
)
POST_FIELDS = (
    "country",
    "city",
    "threat_level",
    "clearance_required",
    "per_diem_usd",
    "danger_pay_pct",
    "post_differential_pct",
    "clearance_lead_days",
)


def _choice(values: dict[str, str], name: str, allowed: list[str], errors: list[FieldError]) -> str:
    value = values.get(name, "")
    if value not in allowed:
        errors.append(FieldError(name, f"choose one of: {', '.join(allowed)}"))
    return value


def _text(values: dict[str, str], name: str, limit: int, errors: list[FieldError], *, required: bool) -> str:
    value = values.get(name, "").strip()
    if required and not value:
        errors.append(FieldError(name, "must not be empty"))
    elif len(value) > limit:
        errors.append(FieldError(name, f"must be at most {limit} characters"))
    return value


def _date(values: dict[str, str], name: str, errors: list[FieldError]) -> date | None:
    value = values.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(FieldError(name, "must be a date (YYYY-MM-DD)"))
        return None


def _number(
    values: dict[str, str], name: str, low: Decimal, high: Decimal, errors: list[FieldError]
) -> Decimal:
    value = values.get(name, "").strip()
    try:
        if not value.isascii():  # Decimal() itself reads Arabic-Indic digits
            raise InvalidOperation
        number = Decimal(value)
    except InvalidOperation:
        errors.append(FieldError(name, "must be a number"))
        return Decimal(0)
    if not number.is_finite() or not low <= number <= high:
        errors.append(FieldError(name, f"must be between {low} and {high}"))
    return number


async def update_post(
    session: AsyncSession, *, code: str, values: dict[str, str], visa_required: bool
) -> Post:
    """Write the form's values to the post, or InvalidFields naming every bad field."""
    post = await session.get(Post, code)
    if post is None:
        raise NotFound("no post has this code")
    errors: list[FieldError] = []
    country = _text(values, "country", 100, errors, required=True)
    city = _text(values, "city", 100, errors, required=False)
    threat = _choice(values, "threat_level", [str(t) for t in ThreatLevel], errors)
    clearance = _choice(values, "clearance_required", [str(c) for c in ClearanceLevel], errors)
    per_diem = _number(values, "per_diem_usd", Decimal(0), Decimal(10000), errors)
    danger = _number(values, "danger_pay_pct", Decimal(0), Decimal(100), errors)
    differential = _number(values, "post_differential_pct", Decimal(0), Decimal(100), errors)
    try:
        lead = _LEAD_DAYS.validate_python(values.get("clearance_lead_days", "").strip())
    except ValidationError as err:
        errors.append(FieldError("clearance_lead_days", err.errors()[0]["msg"]))
    if errors:
        raise InvalidFields(errors)
    post.country, post.city, post.threat_level, post.clearance_required = country, city, threat, clearance
    post.per_diem_usd, post.danger_pay_pct, post.post_differential_pct = per_diem, danger, differential
    post.clearance_lead_days = lead
    post.visa_required = visa_required
    session.add(post)
    await session.commit()
    await session.refresh(post)
    return post
