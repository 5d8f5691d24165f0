"""Where a data folder's billing starts: the first month its partitions and runs cover.

`BILLING_START_DATE` when set (any day: its month counts), else the month of the earliest
subscription in `catalog/subscriptions.csv`, else the current month (an empty folder). Landing
folders before it are reported as outside the partitions, never read.
"""

import csv
import os
from datetime import date, datetime, timezone
from pathlib import Path

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.periods import month_start

START_DATE_VARIABLE = "BILLING_START_DATE"


class BadStartDate(ValueError):
    pass


def _earliest_subscription(subscriptions: Path) -> date | None:
    """The earliest readable starts_on; the catalog's own validation reports bad rows, not this."""
    if not subscriptions.is_file():
        return None
    days = []
    with subscriptions.open(newline="", encoding="utf-8", errors="replace") as handle:
        for row in csv.DictReader(handle):
            try:
                days.append(date.fromisoformat((row.get("starts_on") or "").strip()))
            except ValueError:
                continue
    return min(days, default=None)


def data_start(paths: DataDir | None, configured: str | None = None) -> date:
    if configured:
        try:
            return month_start(date.fromisoformat(configured.strip()))
        except ValueError:
            raise BadStartDate(f"{START_DATE_VARIABLE}={configured!r} is not a YYYY-MM-DD date") from None
    earliest = _earliest_subscription(paths.catalog / "subscriptions.csv") if paths else None
    return month_start(earliest or datetime.now(timezone.utc).date())


def data_start_from_environment() -> date:
    """The start for the data folder named by BILLING_DATA_DIR (or ./data), as the definitions see it."""
    root = os.environ.get("BILLING_DATA_DIR")
    return data_start(DataDir(Path(root or "data").resolve()), os.environ.get(START_DATE_VARIABLE))
