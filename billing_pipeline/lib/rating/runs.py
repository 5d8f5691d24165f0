"""What `billing-pipeline run` needs to rate every closed month and the open one in one run."""

from dataclasses import dataclass
from datetime import date

import duckdb

from billing_pipeline.defs.partitions import START_DATE
from billing_pipeline.defs.rating.assets import rating_run_config
from billing_pipeline.lib.periods import month_start
from billing_pipeline.lib.rating.window import DEFAULT_GRACE_DAYS, months_to_rate


@dataclass(frozen=True)
class RatingRun:
    """Tags and run config for one run of `rating_job` over a range of monthly partitions."""

    tags: dict[str, str]
    run_config: dict


def first_month_to_rate(con: duckdb.DuckDBPyConnection) -> date:
    """The month of the earliest subscription (usage before it is never billed), not before the
    partitions start."""
    [(earliest,)] = con.execute("select min(starts_on) from catalog.subscriptions").fetchall()
    floor = date.fromisoformat(START_DATE)
    return month_start(max(earliest or floor, floor))


def rating_run(first_month: date, as_of: date, grace_days: int = DEFAULT_GRACE_DAYS, full_refresh: bool = False) -> RatingRun:
    """Every month from first_month through the one holding as_of: closed months are issued (oldest
    first, credits carrying over), the open one is rated as a draft with fresh quota status. With
    full_refresh, the incremental usage models are rebuilt from every loaded event."""
    start, end = months_to_rate(first_month, as_of)
    return RatingRun(
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        run_config=rating_run_config(as_of, grace_days, full_refresh),
    )
