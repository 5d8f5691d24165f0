"""The usage snapshot file: each account's open period in detail, for the quota API's usage answers.

One row per account of the quota snapshot (same run, same accounts, same period): the period's
usage per metric of the catalog (`metrics`, as fct_usage_monthly aggregates it, 0 when unused) and
per metric and UTC day (`days`,
fct_usage_daily), and the period's draft invoice (fct_invoices: the "upcoming invoice", in integer
minor units of `currency`, whose minor unit has `exponent` decimals), with the amount of each
metric's usage lines (fct_invoice_lines) in `metrics`. The draft columns are null for an account
with no draft invoice. Written and read like the quota snapshot (serving_file.py), with the same
`included_files`, so the API adds the events it accepted that the figures do not include.
"""

from dataclasses import dataclass
from datetime import datetime
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from billing_pipeline.exchange.serving_file import (SnapshotError, publish_frame, read_published, row_problems,
                                                    rows_to_publish, schema_problems)

USAGE_SNAPSHOT_FILENAME = "usage_snapshot.parquet"
FORMAT_VERSION = 1
METADATA_KEY = b"billing_pipeline.usage_snapshot"

QUANTITY = pl.Decimal(38, 9)  # fct_usage_daily's and fct_usage_monthly's own precision
METRIC = pl.Struct({"metric": pl.String(), "aggregation": pl.String(), "quantity": QUANTITY,
                    "usage_cents": pl.Int64()})
DAY = pl.Struct({"metric": pl.String(), "usage_date": pl.Date(), "quantity": QUANTITY})
DRAFT_COLUMNS = ("rated_as_of", "draft_subtotal_cents", "draft_discount_cents", "draft_credits_applied_cents",
                 "draft_total_cents")
USAGE_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "period": pl.String(),
    "period_start": pl.Date(),
    "period_end": pl.Date(),
    "currency": pl.String(),
    "exponent": pl.Int32(),
    "rated_as_of": pl.Date(),
    "draft_subtotal_cents": pl.Int64(),
    "draft_discount_cents": pl.Int64(),
    "draft_credits_applied_cents": pl.Int64(),
    "draft_total_cents": pl.Int64(),
    "metrics": pl.List(METRIC),
    "days": pl.List(DAY),
}
AGGREGATIONS = ("sum", "count", "max", "unique_count")


@dataclass(frozen=True)
class UsageSnapshotFile:
    rows: pl.DataFrame
    """The USAGE_SCHEMA columns, one row per account, in account_id order."""
    generated_at: datetime
    included_files: frozenset[str]


def write_usage_snapshot(rows: pl.DataFrame, serving_dir: Path, generated_at: datetime,
                         included_files: Iterable[str] = ()) -> Path:
    """Validate `rows` and publish them atomically as `serving_dir/USAGE_SNAPSHOT_FILENAME`."""
    rows = rows_to_publish(rows, validate_usage_rows, "usage snapshot", generated_at)
    return publish_frame(rows, serving_dir / USAGE_SNAPSHOT_FILENAME, METADATA_KEY, FORMAT_VERSION, generated_at,
                         included_files)


def read_usage_snapshot(path: Path) -> UsageSnapshotFile:
    """Load and validate a usage snapshot file; raise SnapshotError saying what is wrong with it."""
    frame, generated_at, included_files = read_published(path, METADATA_KEY, FORMAT_VERSION, "usage snapshot")
    try:
        frame = validate_usage_rows(frame)
    except SnapshotError as exc:
        raise SnapshotError(f"{path.name} is not a valid usage snapshot: {exc}") from None
    return UsageSnapshotFile(frame, generated_at, included_files)


def validate_usage_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """`rows` in account_id order, or SnapshotError listing everything unfit to serve."""
    problems = schema_problems(rows.schema, USAGE_SCHEMA)
    if problems:
        raise SnapshotError("; ".join(problems))
    rows = rows.select(list(USAGE_SCHEMA)).sort("account_id")
    metrics, days = pl.col("metrics").list, pl.col("days").list
    draft = [pl.col(c) for c in DRAFT_COLUMNS]
    checks = {
        "null in a required column": pl.any_horizontal(
            pl.col(c).is_null() for c in USAGE_SCHEMA if c not in DRAFT_COLUMNS),
        "empty account_id": pl.col("account_id") == "",
        "duplicate account_id": pl.col("account_id") == pl.col("account_id").shift(1),
        "period not YYYY-MM": ~pl.col("period").str.contains(r"^\d{4}-(0[1-9]|1[0-2])$"),
        "period_start not before period_end": pl.col("period_start") >= pl.col("period_end"),
        "exponent outside 0..4": ~pl.col("exponent").is_between(0, 4),
        "draft columns not all null or all present": pl.any_horizontal(c.is_null() for c in draft)
        != pl.all_horizontal(c.is_null() for c in draft),
        "a metric with a null field or an unknown aggregation": metrics.eval(
            pl.element().struct.field("metric").is_null() | pl.element().struct.field("quantity").is_null()
            | ~pl.element().struct.field("aggregation").is_in(AGGREGATIONS)).list.any(),
        "a negative quantity": metrics.eval(pl.element().struct.field("quantity") < 0).list.any()
        | days.eval(pl.element().struct.field("quantity") < 0).list.any(),
        "a day outside the period or with a null field": days.eval(
            pl.element().struct.field("usage_date").is_null() | pl.element().struct.field("metric").is_null()
            | pl.element().struct.field("quantity").is_null()).list.any()
        | (days.eval(pl.element().struct.field("usage_date")).list.min() < pl.col("period_start"))
        | (days.eval(pl.element().struct.field("usage_date")).list.max() >= pl.col("period_end")),
    }
    problems += row_problems(rows, checks, ("account_id",))
    if problems:
        raise SnapshotError("; ".join(problems))
    return rows
