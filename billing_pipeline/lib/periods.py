"""Billing periods and the monthly partition keys that name them: the one home of that arithmetic.

A billing period is a UTC calendar month, written `YYYY-MM` in the warehouse, reports and Stripe
metadata; its monthly partition key is the first day, `YYYY-MM-01`.
"""

from datetime import date


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    first = month_start(day)
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def period_text(day: date) -> str:
    """The billing period (YYYY-MM) holding `day`."""
    return f"{day:%Y-%m}"


def period_start(period: str) -> date:
    """The first day of a billing period (YYYY-MM)."""
    return date.fromisoformat(f"{period}-01")


def period_key(day: date) -> str:
    """The monthly partition key of the month holding `day`."""
    return month_start(day).isoformat()


def period_of(partition_key: str) -> str:
    """The billing period (YYYY-MM) of a monthly partition key (YYYY-MM-01)."""
    return period_text(date.fromisoformat(partition_key))
