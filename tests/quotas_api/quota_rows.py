"""Synthetic quota snapshot rows for tests and the benchmark, built with polars in one pass."""

from datetime import date
from decimal import Decimal

import polars as pl

from billing_pipeline.exchange.quota_snapshot import SNAPSHOT_SCHEMA

METRICS = (
    "api_calls",
    "lines_reviewed",
    "docs_generated",
    "ai_tokens_input",
    "ai_tokens_output",
    "exports",
    "seats",
    "active_users",
)


def synthetic_quota_rows(accounts: int, metrics: int = len(METRICS), seed: int = 7) -> pl.DataFrame:
    """`accounts` x `metrics` rows of the open period 2026-05 with every status and enforcement."""
    n = accounts * metrics
    idx = pl.int_range(n, dtype=pl.Int64)
    account_no = idx // metrics
    # A cheap deterministic scramble so quantities look irregular without a random generator.
    mix = (idx * 2654435761 + seed) % 1_000_003
    has_limit = mix % 5 != 0
    scale = (mix % 40) + 1
    limit = pl.when(has_limit).then(scale * 10_000)
    # Up to 110% of the would-be limit, so every status shows up.
    used_units = ((mix * 37) % 1100) * scale * 10
    frame = pl.select(
        account_id=pl.format("acct_{}", account_no.cast(pl.String).str.zfill(6)),
        metric=pl.lit(pl.Series(METRICS[:metrics])).gather(idx % metrics),
        used_raw=used_units.cast(pl.Decimal(18, 6)) + (mix % 1000).cast(pl.Decimal(18, 6)) / 1000,
        limit_raw=limit.cast(pl.Decimal(18, 6)),
        included=((mix % 7) * 5_000).cast(pl.Decimal(18, 6)),
        enforcement=pl.when(mix % 3 == 0).then(pl.lit("hard")).otherwise(pl.lit("soft")),
        is_trial=account_no % 11 == 0,
        credits_remaining_cents=(account_no * 1237) % 50_000,
    )
    used = pl.col("used_raw")
    limit_col = pl.col("limit_raw")
    percent = (used * 100 / limit_col).round(2).cast(pl.Decimal(9, 2))
    return frame.select(
        "account_id",
        "metric",
        period=pl.lit("2026-05"),
        period_start=pl.lit(date(2026, 5, 1)),
        period_end=pl.lit(date(2026, 6, 1)),
        plan_code=pl.when(pl.col("is_trial")).then(pl.lit("pro")).otherwise(pl.lit("team")),
        included="included",
        limit=limit_col,
        used=used,
        remaining=pl.when(limit_col.is_not_null())
        .then(pl.max_horizontal(limit_col - used, pl.lit(Decimal(0), pl.Decimal(18, 6))))
        .cast(pl.Decimal(18, 6)),
        percent_used=percent,
        status=pl.when(limit_col.is_null())
        .then(pl.lit("unlimited"))
        .when(used > limit_col)
        .then(pl.lit("over_limit"))
        .when(used * 10 >= limit_col * 8)
        .then(pl.lit("approaching_limit"))
        .otherwise(pl.lit("ok")),
        enforcement="enforcement",
        is_trial="is_trial",
        trial_ends_on=pl.when(pl.col("is_trial")).then(pl.lit(date(2026, 5, 14))),
        credits_remaining_cents="credits_remaining_cents",
        currency=pl.lit("usd"),
        account_status=pl.when(account_no % 13 == 0).then(pl.lit("suspended")).otherwise(pl.lit("active")),
    ).cast(SNAPSHOT_SCHEMA)


def quota_row(**overrides) -> dict:
    """One explicit row (a hard-limited api_calls quota by default) for hand-written fixtures."""
    row = {
        "account_id": "acme",
        "metric": "api_calls",
        "period": "2026-05",
        "period_start": date(2026, 5, 1),
        "period_end": date(2026, 6, 1),
        "plan_code": "pro",
        "included": Decimal("50000"),
        "limit": Decimal("200000"),
        "used": Decimal("150000.5"),
        "remaining": Decimal("49999.5"),
        "percent_used": Decimal("75.00"),
        "status": "ok",
        "enforcement": "hard",
        "is_trial": False,
        "trial_ends_on": None,
        "credits_remaining_cents": 2500,
        "currency": "usd",
        "account_status": "active",
    }
    row.update(overrides)
    return row


def frame_of(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SNAPSHOT_SCHEMA, orient="row")
