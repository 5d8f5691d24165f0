"""The quota snapshot file: the only thing the quota API reads from the pipeline.

One Parquet file in `serving/`, one row per account x metric of the account's current open period,
ordered by (account_id, metric), with the generation time in the file's key-value metadata. The
pipeline writes it with `write_quota_snapshot` (validate, temp file, fsync, rename), so a reader sees
the old file or the new one, never half of one. `read_quota_snapshot` applies the same validation,
so a file that reached `serving/` by any other route is rejected with a reason rather than served.

Besides the typed columns the file carries the quota API's JSON, pre-rendered here where time is
cheap: `serving_header` (an account's period, plan, trial, credits and as_of, on the account's
first row only) and `serving_quota` (each row's quota figures). Rendering 800k rows takes longer
than the API may spend reloading, and reading the rendered text back takes a fraction of it.

The metadata also lists `included_files`: the landed files (as raw.ingest_files names them,
`<day>/<file>`) whose events the snapshot's figures include. The quota API adds to `used` the
events it accepted into intake files (event_intake.py) that are not on that list, so an event is
counted once before ingestion and once after, never twice or not at all.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from billing_pipeline.exchange.serving_file import (SnapshotError, publish_frame, read_published, row_problems,
                                                    rows_to_publish, schema_problems)

SNAPSHOT_FILENAME = "quota_snapshot.parquet"
# 2: account_status added (suspended accounts are refused). 3: included_files in the metadata.
FORMAT_VERSION = 3
METADATA_KEY = b"billing_pipeline.quota_snapshot"

QUANTITY = pl.Decimal(18, 6)
PERCENT = pl.Decimal(9, 2)

SNAPSHOT_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "metric": pl.String(),
    "period": pl.String(),
    "period_start": pl.Date(),
    "period_end": pl.Date(),
    "plan_code": pl.String(),
    "included": QUANTITY,
    "limit": QUANTITY,
    "used": QUANTITY,
    "remaining": QUANTITY,
    "percent_used": PERCENT,
    "status": pl.String(),
    "enforcement": pl.String(),
    "is_trial": pl.Boolean(),
    "trial_ends_on": pl.Date(),
    "credits_remaining_cents": pl.Int64(),
    "currency": pl.String(),
    "account_status": pl.String(),
}
NULLABLE_COLUMNS = frozenset({"limit", "remaining", "percent_used", "trial_ends_on"})
QUANTITY_COLUMNS = ("included", "limit", "used", "remaining", "percent_used")
STATUSES = ("ok", "approaching_limit", "over_limit", "unlimited")
ENFORCEMENTS = ("hard", "soft")
ACCOUNT_STATUSES = ("active", "suspended", "cancelled")
# An account has one open period, one plan, one trial state and one credit balance: these columns
# must agree across all of an account's metric rows.
ACCOUNT_COLUMNS = (
    "period",
    "period_start",
    "period_end",
    "plan_code",
    "is_trial",
    "trial_ends_on",
    "credits_remaining_cents",
    "currency",
    "account_status",
)
SERVING_SCHEMA: dict[str, pl.DataType] = {"serving_header": pl.String(), "serving_quota": pl.String()}


@dataclass(frozen=True)
class QuotaSnapshotFile:
    rows: pl.DataFrame
    """The SNAPSHOT_SCHEMA columns, in (account_id, metric) order."""
    serving: pl.DataFrame
    """The SERVING_SCHEMA columns, row for row beside `rows`."""
    generated_at: datetime
    included_files: frozenset[str]
    """Landed files (`<day>/<file>`) whose events the figures include."""


def write_quota_snapshot(rows: pl.DataFrame, serving_dir: Path, generated_at: datetime,
                         included_files: Iterable[str] = ()) -> Path:
    """Validate `rows` and publish them atomically as `serving_dir/SNAPSHOT_FILENAME`."""
    rows = rows_to_publish(rows, validate_rows, "quota snapshot", generated_at)
    frame = pl.concat([rows, _render_serving(rows, generated_at)], how="horizontal")
    return publish_frame(frame, serving_dir / SNAPSHOT_FILENAME, METADATA_KEY, FORMAT_VERSION, generated_at,
                         included_files)


def read_quota_snapshot(path: Path) -> QuotaSnapshotFile:
    """Load and validate a snapshot file; raise SnapshotError saying what is wrong with it."""
    frame, generated_at, included_files = read_published(path, METADATA_KEY, FORMAT_VERSION, "quota snapshot")
    try:
        frame = validate_rows(frame, serving=True)
    except SnapshotError as exc:
        raise SnapshotError(f"{path.name} is not a valid quota snapshot: {exc}") from None
    return QuotaSnapshotFile(
        rows=frame.select(list(SNAPSHOT_SCHEMA)),
        serving=frame.select(list(SERVING_SCHEMA)),
        generated_at=generated_at,
        included_files=included_files,
    )


def validate_rows(rows: pl.DataFrame, *, serving: bool = False) -> pl.DataFrame:
    """`rows` in (account_id, metric) order, or SnapshotError listing everything unfit to serve.

    With `serving`, the frame must also hold the pre-rendered SERVING_SCHEMA columns.
    """
    schema = SNAPSHOT_SCHEMA | SERVING_SCHEMA if serving else SNAPSHOT_SCHEMA
    problems = schema_problems(rows.schema, schema)
    if problems:
        raise SnapshotError("; ".join(problems))
    rows = rows.select(list(schema))
    if not _in_key_order(rows):
        rows = rows.sort("account_id", "metric")
    # Rows are in key order from here, so neighbour comparisons find duplicates and disagreements.
    first_of_account = pl.col("account_id").ne_missing(pl.col("account_id").shift(1))
    checks = {
        "null in a required column": pl.any_horizontal(
            pl.col(c).is_null() for c in SNAPSHOT_SCHEMA if c not in NULLABLE_COLUMNS
        ),
        "empty account_id or metric": (pl.col("account_id") == "") | (pl.col("metric") == ""),
        "status outside " + "|".join(STATUSES): ~pl.col("status").is_in(STATUSES),
        "enforcement outside " + "|".join(ENFORCEMENTS): ~pl.col("enforcement").is_in(ENFORCEMENTS),
        "account_status outside " + "|".join(ACCOUNT_STATUSES): ~pl.col("account_status").is_in(ACCOUNT_STATUSES),
        "period not YYYY-MM": ~pl.col("period").str.contains(r"^\d{4}-(0[1-9]|1[0-2])$"),
        "period_start not before period_end": pl.col("period_start") >= pl.col("period_end"),
        "negative quantity or credit balance": pl.any_horizontal(pl.col(QUANTITY_COLUMNS) < 0)
        | (pl.col("credits_remaining_cents") < 0),
        # remaining and percent_used are measured against the limit, so they exist exactly when it does.
        "limit, remaining and percent_used not all null exactly when status is unlimited": pl.any_horizontal(
            pl.col("limit", "remaining", "percent_used").is_null() != (pl.col("status") == "unlimited")
        ),
        "duplicate account_id x metric": ~first_of_account & (pl.col("metric") == pl.col("metric").shift(1)),
        "account columns differing between an account's metric rows": ~first_of_account
        & pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift(1)) for c in ACCOUNT_COLUMNS),
    }
    if serving:
        checks["serving_header present on other than an account's first row"] = (
            pl.col("serving_header").is_null() == first_of_account
        )
        checks["serving_quota missing"] = pl.col("serving_quota").is_null()
    problems += row_problems(rows, checks, ("account_id", "metric"))
    if problems:
        raise SnapshotError("; ".join(problems))
    return rows


def json_number(value: Decimal | None) -> str:
    """An exact decimal as a JSON number: an integer when integral, no trailing zeros, never a float."""
    if value is None:
        return "null"
    if not value.is_finite():
        raise ValueError(f"{value} has no JSON representation")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def quota_status(used: Decimal, limit: Decimal | None) -> str:
    """fct_quota_status's rule (dbt_project/models/marts/fct_quota_status.sql), for figures the API
    moves on between snapshots: over_limit above the limit, approaching_limit from 80% of it."""
    if limit is None:
        return "unlimited"
    if used > limit:
        return "over_limit"
    return "approaching_limit" if used * 5 >= limit * 4 else "ok"


def percent_used(used: Decimal, limit: Decimal | None) -> Decimal | None:
    """fct_quota_status's display figure: used / limit in percent to 2 places; a limit of 0 is all used."""
    if limit is None:
        return None
    if limit == 0:
        return Decimal(100)
    return min((used * 100 / limit).quantize(Decimal("0.01"), ROUND_HALF_UP), Decimal("9999999.99"))


def render_quota(metric: str, enforcement: str, included: Decimal, limit: Decimal | None, used: Decimal) -> bytes:
    """One row's `serving_quota` fragment for figures that moved since the snapshot: the same text
    `_render_serving` writes into the file (a test holds the two to it)."""
    remaining = None if limit is None else max(limit - used, Decimal(0))
    labels = json.dumps({"metric": metric, "status": quota_status(used, limit), "enforcement": enforcement},
                        separators=(",", ":"), ensure_ascii=False)[1:-1]
    numbers = {"included": included, "limit": limit, "used": used, "remaining": remaining,
               "percent_used": percent_used(used, limit)}
    return (labels + "".join(f',"{name}":{json_number(value)}' for name, value in numbers.items())).encode()


def as_of_text(generated_at: datetime) -> str:
    return generated_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _render_serving(rows: pl.DataFrame, generated_at: datetime) -> pl.DataFrame:
    first_of_account = pl.col("account_id").ne_missing(pl.col("account_id").shift(1))
    header = pl.struct(
        "account_id",
        "period",
        "period_start",
        "period_end",
        "account_status",
        plan="plan_code",
        trial=pl.struct(active="is_trial", ends_on="trial_ends_on"),
        credits_remaining=pl.struct(amount_cents="credits_remaining_cents", currency="currency"),
        as_of=pl.lit(as_of_text(generated_at)),
    ).struct.json_encode()
    labels = pl.struct("metric", "status", "enforcement").struct.json_encode()
    return rows.select(
        serving_header=pl.when(first_of_account).then(header.str.strip_suffix("}")),
        serving_quota=pl.concat_str(
            labels.str.strip_prefix("{").str.strip_suffix("}"),
            *(pl.format(f',"{name}":{{}}', _json_number_expr(name)) for name in QUANTITY_COLUMNS),
        ),
    )


def _json_number_expr(column: str) -> pl.Expr:
    # `json_number`, vectorised. Only for the Decimal columns here, whose positive scale means the
    # text always has a decimal point, so every trailing zero is a fractional one.
    text = pl.col(column).cast(pl.String).str.strip_chars_end("0").str.strip_suffix(".")
    return text.replace("-0", "0").fill_null("null")


def _in_key_order(rows: pl.DataFrame) -> bool:
    account, metric = pl.col("account_id"), pl.col("metric")
    previous_account, previous_metric = account.shift(1), metric.shift(1)
    ascending = (account > previous_account) | ((account == previous_account) & (metric >= previous_metric))
    return bool(rows.select(ascending.fill_null(True).all()).item())
