"""The sample service in the current UTC month, so events posted now count toward its quotas."""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from billing_pipeline.exchange.quota_snapshot import as_of_text, write_quota_snapshot
from billing_pipeline.lib.periods import month_start, next_month, period_text
from sample_service import write_sample_service, sample_rows


def current_period(rows: pl.DataFrame, today: date | None = None) -> pl.DataFrame:
    today = today or datetime.now(UTC).date()
    return rows.with_columns(period=pl.lit(period_text(today)), period_start=pl.lit(month_start(today)),
                             period_end=pl.lit(next_month(today)))


def acme_api_calls(used: Decimal, limit: Decimal = Decimal(200000)) -> pl.DataFrame:
    """The sample rows with acme's hard api_calls limit at `used`."""
    rows = current_period(sample_rows())
    is_it = (pl.col("account_id") == "acme") & (pl.col("metric") == "api_calls")
    return rows.with_columns(
        used=pl.when(is_it).then(pl.lit(used, rows["used"].dtype)).otherwise("used"),
        limit=pl.when(is_it).then(pl.lit(limit, rows["limit"].dtype)).otherwise("limit"),
        remaining=pl.when(is_it).then(pl.lit(max(limit - used, Decimal(0)), rows["remaining"].dtype)).otherwise("remaining"),
    )


def write_live_service(data_dir: Path, rows: pl.DataFrame | None = None, included_files: tuple[str, ...] = ()) -> None:
    write_sample_service(data_dir, datetime.now(UTC))
    publish_snapshot(data_dir, rows if rows is not None else current_period(sample_rows()), included_files)


def publish_snapshot(data_dir: Path, rows: pl.DataFrame, included_files: tuple[str, ...] | list[str] = ()) -> str:
    """Publish a snapshot; returns its as_of."""
    generated_at = datetime.now(UTC)
    write_quota_snapshot(rows, data_dir / "serving", generated_at, included_files)
    return as_of_text(generated_at)


def event(event_id: str, account_id: str = "acme", metric: str = "api_calls", quantity: object = 5, **more) -> dict:
    return {"event_id": event_id, "account_id": account_id, "metric": metric, "quantity": quantity,
            "occurred_at": datetime.now(UTC).isoformat(), **more}
