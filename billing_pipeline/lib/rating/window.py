"""Which months a rating run covers and how that reaches dbt: small pure functions, tested alone.

A billing period is a UTC calendar month. On a given `as_of` day a month is *closed* once its last
day plus the grace period for late events has passed (month end + grace_days <= as_of); the month
holding as_of is the *open* one. A closed month is rated one last time and issued by its close.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from billing_pipeline.lib.periods import month_start, next_month, period_key

DEFAULT_GRACE_DAYS = 3


def is_closed(month: date, as_of: date, grace_days: int = DEFAULT_GRACE_DAYS) -> bool:
    return next_month(month) + timedelta(days=grace_days) <= as_of


def closing_day(month: date, grace_days: int = DEFAULT_GRACE_DAYS) -> date:
    """The first as_of on which `month` is closed: when its monthly close runs."""
    return next_month(month) + timedelta(days=grace_days)


def month_closing_on(as_of: date, grace_days: int = DEFAULT_GRACE_DAYS) -> date | None:
    """The month whose close falls on exactly `as_of`, if any."""
    candidate = month_start(as_of - timedelta(days=grace_days) - timedelta(days=1))
    return candidate if closing_day(candidate, grace_days) == as_of else None


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


@dataclass(frozen=True)
class RatingWindow:
    """The months [first_month, end) one dbt invocation rates, and the day it rates them as of."""

    first_month: date
    end: date
    as_of: date
    grace_days: int = DEFAULT_GRACE_DAYS

    def __post_init__(self) -> None:
        if self.first_month.day != 1 or self.end.day != 1 or self.end <= self.first_month:
            raise ValueError(f"a rating window is whole months: got [{self.first_month}, {self.end})")
        if self.grace_days < 0:
            raise ValueError(f"grace_days must be >= 0, got {self.grace_days}")

    @property
    def months(self) -> list[date]:
        months, month = [], self.first_month
        while month < self.end:
            months.append(month)
            month = next_month(month)
        return months

    @property
    def closed_months(self) -> list[date]:
        return [m for m in self.months if is_closed(m, self.as_of, self.grace_days)]

    def dbt_vars(self, warehouse_path: Path | None = None) -> dict[str, str | int]:
        """The window as dbt `--vars` (names as in macros/periods.sql window_var), for ad-hoc runs."""
        values: dict[str, str | int] = {
            "period_start": self.first_month.isoformat(),
            "period_end": self.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "grace_days": self.grace_days,
        }
        if warehouse_path is not None:
            values["warehouse_path"] = str(warehouse_path)
        return values

    def dbt_env(self) -> dict[str, str]:
        """The window as the environment of a dbt invocation (BILLING_RATING_<NAME>), how the rating
        asset passes it: unlike --vars, a new value re-parses only the few files reading it."""
        return {f"BILLING_RATING_{name.upper()}": str(value) for name, value in self.dbt_vars().items()}


def window_for_partitions(start: datetime | date, end: datetime | date, as_of: date,
                          grace_days: int = DEFAULT_GRACE_DAYS) -> RatingWindow:
    """From a run's monthly partition time window (one month, or a backfill's range of months)."""
    first = start.date() if isinstance(start, datetime) else start
    stop = end.date() if isinstance(end, datetime) else end
    return RatingWindow(first, stop, as_of, grace_days)


def months_to_rate(first_month: date, as_of: date) -> tuple[str, str]:
    """The partition key range `billing-pipeline run` rates: every month from the first one through
    the month holding as_of, i.e. every closed month, any month still in its grace period, and the
    open one."""
    if month_start(first_month) > as_of:
        raise ValueError(f"nothing to rate before {first_month}: as_of is {as_of}")
    return period_key(first_month), period_key(as_of)
