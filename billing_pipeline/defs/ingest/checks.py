"""Checks on each landing day: accounting and expectations block; lateness and volume warn."""

from datetime import date, datetime, time, timedelta, timezone
from statistics import median

import dagster as dg
import polars as pl

from billing_pipeline.defs.ingest.raw_usage_events import raw_usage_events
from billing_pipeline.lib.ingest.settings import IngestSettings
from billing_pipeline.defs.partitions import daily_partitions
from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.lib import markdown


def _day(context: dg.AssetCheckExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


@dg.asset_check(asset=raw_usage_events, partitions_def=daily_partitions, blocking=True,
                description="For every landed file: lines read = loaded + duplicates + quarantined. Nothing is dropped silently.")
def every_line_accounted_for(context: dg.AssetCheckExecutionContext, billing_data: BillingData) -> dg.AssetCheckResult:
    with billing_data.warehouse(read_only=True) as con:
        files = pl.from_arrow(con.sql(
            "SELECT source_file, file_status, lines_read, loaded, duplicates, quarantined FROM raw.ingest_accounting "
            "WHERE landing_date = ? ORDER BY source_file", params=[_day(context)]).to_arrow_table())
    off = files.filter(pl.col("lines_read") != pl.col("loaded") + pl.col("duplicates") + pl.col("quarantined"))
    read, loaded, duplicates, quarantined = (int(files[c].sum()) for c in ("lines_read", "loaded", "duplicates", "quarantined"))
    return dg.AssetCheckResult(
        passed=off.height == 0,
        description=(f"{off.height} of {files.height} file(s) do not add up: {', '.join(off['source_file'])}" if off.height
                     else f"all {files.height} file(s) add up: {read:,} lines read = {loaded:,} loaded + "
                          f"{duplicates:,} duplicates + {quarantined:,} quarantined"),
        metadata={"files": files.height, "files_not_adding_up": off.height,
                  "accounting": dg.MetadataValue.md(markdown.table(files))},
    )


@dg.asset_check(asset=raw_usage_events, partitions_def=daily_partitions, blocking=True,
                description="Great Expectations suite on the day's loaded rows: ids present and unique, known accounts "
                            "and metrics, quantity in range, no usage dated after the landing day.")
def loaded_rows_meet_expectations(context: dg.AssetCheckExecutionContext, billing_data: BillingData) -> dg.AssetCheckResult:
    from billing_pipeline.lib.ingest.expectations import validate_loaded_day

    day = _day(context)
    with billing_data.warehouse(read_only=True) as con:
        frame = con.execute("SELECT event_id, account_id, metric, quantity::DOUBLE AS quantity, occurred_at "
                            "FROM raw.usage_events_loaded WHERE landing_date = ?", [day]).df()
        accounts = [r[0] for r in con.execute("SELECT account_id FROM catalog.accounts").fetchall()]
        metrics = [r[0] for r in con.execute("SELECT metric_code FROM catalog.metrics").fetchall()]
    result = validate_loaded_day(frame, day, accounts, metrics)
    return dg.AssetCheckResult(
        passed=result.success,
        description=(f"{len(result.failed)} of {result.evaluated} expectations fail on the day's {len(frame):,} loaded "
                     f"rows: {', '.join(result.failed)}" if not result.success
                     else f"all {result.evaluated} expectations hold on the day's {len(frame):,} loaded rows"),
        metadata={
        "rows": len(frame), "expectations": result.evaluated, "failed": ", ".join(result.failed) or "none"})


@dg.asset_check(asset=raw_usage_events, partitions_def=daily_partitions,
                description="The day's files landed by the deadline (IngestSettings.freshness_deadline_hours of the next day, UTC).")
def landed_on_time(context: dg.AssetCheckExecutionContext, billing_data: BillingData,
                   ingest_settings: IngestSettings) -> dg.AssetCheckResult:
    day = _day(context)
    deadline = datetime.combine(day + timedelta(days=1), time(ingest_settings.freshness_deadline_hours), timezone.utc)
    folder = billing_data.paths.day_folder(day.isoformat())
    stamps = [datetime.fromtimestamp(p.stat().st_mtime, timezone.utc) for p in folder.glob("*") if p.is_file()]
    first = min(stamps) if stamps else None
    if first is None:
        why = f"nothing has landed in {folder}; the deadline was {deadline:%Y-%m-%d %H:%M} UTC"
    else:
        hours = abs(first - deadline).total_seconds() / 3600
        why = (f"the first file landed {first:%Y-%m-%d %H:%M} UTC, {hours:.1f} h "
               f"{'after' if first > deadline else 'before'} the deadline {deadline:%Y-%m-%d %H:%M} UTC")
    return dg.AssetCheckResult(
        passed=first is not None and first <= deadline,
        severity=dg.AssetCheckSeverity.WARN,
        description=why,
        metadata={"deadline": deadline.isoformat(), "first_file_landed_at": first.isoformat() if first else "never"},
    )


@dg.asset_check(asset=raw_usage_events, partitions_def=daily_partitions,
                description="The day's loaded volume is within the configured band around the trailing median of earlier days.")
def volume_near_trailing_median(context: dg.AssetCheckExecutionContext, billing_data: BillingData,
                                ingest_settings: IngestSettings) -> dg.AssetCheckResult:
    day = _day(context)
    window = ingest_settings.volume_window_days
    with billing_data.warehouse(read_only=True) as con:
        counts = dict(con.execute(
            "SELECT landing_date, sum(loaded) FROM raw.ingest_accounting WHERE landing_date BETWEEN ? AND ? GROUP BY ALL",
            [day - timedelta(days=window), day]).fetchall())
    today = int(counts.pop(day, 0))
    if len(counts) < 3:
        return dg.AssetCheckResult(passed=True, severity=dg.AssetCheckSeverity.WARN,
                                   description=f"only {len(counts)} earlier day(s) loaded; need 3 for a baseline",
                                   metadata={"loaded": today})
    baseline = float(median(counts.values()))
    ratio = today / baseline if baseline else float("inf")
    low, high = ingest_settings.volume_low_ratio, ingest_settings.volume_high_ratio
    passed = low <= ratio <= high
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"{today:,} rows loaded, {ratio:.2f} x the median of the {len(counts)} earlier day(s) "
                     f"({baseline:,.0f}): {'within' if passed else 'outside'} the band {low}-{high}"),
        metadata={"loaded": today, "trailing_median": baseline, "ratio": round(ratio, 3), "window_days": len(counts)},
    )
