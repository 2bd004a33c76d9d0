"""Calendar arithmetic the domain rules need (certificate validity, passport margins)."""

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later (or earlier), clamped to that month's last day."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
