"""Funds: Resource Management's fund sources per fiscal year, and what deployments obligate.

The request family (FundCreate), the ledger's states and the words of a refusal; the web and the
activities import these and they import neither."""

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

import annotated_types
from pydantic import BaseModel

from crc.fields import Text, WholeNumber, worded

NAME_MAX = 200
MAX_AMOUNT_USD = Decimal("999999999999.99")  # what Numeric(14, 2) holds
# Funds are planned a few years ahead and kept a few years back; beyond that a year is a typo.
FISCAL_YEARS_BACK = 5
FISCAL_YEARS_AHEAD = 5


class ObligationStatus(StrEnum):
    """Where a deployment's hold on its fund stands."""

    OBLIGATED = "obligated"  # its budget is approved: the estimate is held
    RELEASED = "released"  # cancelled, rejected, expired, or sent back for a new approval
    SPENT = "spent"  # completed: the actual cost replaced the estimate


def fiscal_year_of(day: date) -> int:
    """The U.S. federal fiscal year a day falls in (FY2027 runs 1 Oct 2026 to 30 Sep 2027)."""
    return day.year + 1 if day.month >= 10 else day.year


def fiscal_years_open(today: date) -> range:
    """The fiscal years a new fund may be for."""
    current = fiscal_year_of(today)
    return range(current - FISCAL_YEARS_BACK, current + FISCAL_YEARS_AHEAD + 1)


def new_fund_id() -> str:
    """A fresh fund id."""
    return str(uuid.uuid4())


def usd(amount: Decimal) -> str:
    """An amount as people read it: $1,234.50."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def overdrawn_message(fund_name: str, remaining: Decimal, estimate: Decimal) -> str:
    """Why a budget approval was refused: the fund cannot cover the estimate."""
    return f"the fund {fund_name} has {usd(remaining)} left; this estimate is {usd(estimate)}"


AmountUsd = Annotated[
    Decimal,
    annotated_types.Interval(gt=Decimal(0), le=MAX_AMOUNT_USD),
    annotated_types.MultipleOf(Decimal("0.01")),
    worded(f"must be an amount in dollars and cents, more than 0 and at most {usd(MAX_AMOUNT_USD)}"),
]


class FundCreate(BaseModel):
    """A new fund source: its name, fiscal year, amount and the operation it pays for."""

    name: Annotated[str, Text(NAME_MAX)]
    fiscal_year: Annotated[int, WholeNumber(2000, 2100, "must be a fiscal year such as 2027")]
    amount_usd: AmountUsd
    operation_id: Annotated[str, Text(36)]
