"""The cost estimate Resource Management approves before anyone moves."""

from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel

from crc.domain import POST_DIFFERENTIAL_AFTER_DAYS

_CENT = Decimal("0.01")


class CostEstimate(BaseModel):
    """A deployment's estimated cost, itemised, in whole cents of USD."""

    days: int
    per_diem_usd: Decimal
    danger_pay_usd: Decimal
    post_differential_usd: Decimal
    total_usd: Decimal


def estimate_cost(
    *,
    days: int,
    per_diem_usd: Decimal,
    annual_salary_usd: Decimal,
    danger_pay_pct: Decimal,
    post_differential_pct: Decimal,
) -> CostEstimate:
    """Per diem for every day; danger pay on daily salary; differential after day 42."""
    daily_salary = annual_salary_usd / Decimal(365)
    per_diem = per_diem_usd * days
    danger = daily_salary * danger_pay_pct / Decimal(100) * days
    differential_days = max(0, days - POST_DIFFERENTIAL_AFTER_DAYS)
    differential = daily_salary * post_differential_pct / Decimal(100) * differential_days
    parts = [x.quantize(_CENT, ROUND_HALF_UP) for x in (per_diem, danger, differential)]
    return CostEstimate(
        days=days,
        per_diem_usd=parts[0],
        danger_pay_usd=parts[1],
        post_differential_usd=parts[2],
        total_usd=sum(parts, Decimal(0)),
    )
