"""Checks on each landing day. A failed blocking check holds only the periods its rows belong to
(raw.period_holds, which dbt reads: a held period is rated but not issued); lateness and volume warn."""

from datetime import date, datetime, time, timedelta, timezone
from statistics import median

import dagster as dg
import duckdb
import polars as pl

from billing_pipeline.defs.ingest.raw_usage_events import raw_usage_events
from billing_pipeline.defs.partitions import daily_partitions
from billing_pipeline.lib import markdown
from billing_pipeline.lib.ingest.period_holds import CheckHold, replace_check_holds
from billing_pipeline.lib.ingest.settings import IngestSettings
from billing_pipeline.lib.periods import period_text
from billing_pipeline.lib.warehouse import BillingData


def _day(context: dg.AssetCheckExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


def _periods(con: duckdb.DuckDBPyConnection, day: date, where: str, params: list) -> tuple[str, ...]:
    """The landing day's period and those of the day's valid rows matching `where`."""
    rows = con.execute(f"SELECT DISTINCT strftime(occurred_at, '%Y-%m') FROM raw.usage_events "
                       f"WHERE landing_date = ? AND {where}", [day, *params]).fetchall()
    return tuple(sorted({period_text(day), *(period for (period,) in rows)}))


def _held(holds: list[CheckHold]) -> str:
    return ", ".join(sorted({period for hold in holds for period in hold.periods}))


@dg.asset_check(asset=raw_usage_events, partitions_def=daily_partitions, blocking=True, pool="duckdb_warehouse",
                description="For every landed file: lines read = loaded + duplicates + quarantined. A file that does not "
                            "add up holds the periods of its rows.")
def every_line_accounted_for(context: dg.AssetCheckExecutionContext, billing_data: BillingData) -> dg.AssetCheckResult:
    day = _day(context)
    with billing_data.warehouse() as con:
        files = pl.from_arrow(con.sql(
            "SELECT source_file, file_status, lines_read, loaded, duplicates, quarantined FROM raw.ingest_accounting "
            "WHERE landing_date = ? ORDER BY source_file", params=[day]).to_arrow_table())
        off = files.filter(pl.col("lines_read") != pl.col("loaded") + pl.col("duplicates") + pl.col("quarantined"))
        holds = [CheckHold(_periods(con, day, "source_file = ?", [row["source_file"]]), row["source_file"], None,
                           f"{row['lines_read']} lines read, {row['loaded']} loaded + {row['duplicates']} duplicates + "
                           f"{row['quarantined']} quarantined") for row in off.iter_rows(named=True)]
        replace_check_holds(con, "every_line_accounted_for", day, holds)
    read, loaded, duplicates, quarantined = (int(files[c].sum()) for c in ("lines_read", "loaded", "duplicates", "quarantined"))
    return dg.AssetCheckResult(
        passed=off.height == 0,
        description=(f"{off.height} of {files.height} file(s) do not add up: {', '.join(off['source_file'])}; "
                     f"holding {_held(holds)}" if off.height
                     else f"all {files.height} file(s) add up: {read:,} lines read = {loaded:,} loaded + "
                          f"{duplicates:,} duplicates + {quarantined:,} quarantined"),
        metadata={"files": files.height, "files_not_adding_up": off.height, "held_periods": _held(holds) or "none",
                  "accounting": dg.MetadataValue.md(markdown.table(files))},
    )


def _expectation_holds(con: duckdb.DuckDBPyConnection, day: date, outcome, late_tolerance_hours: int) -> list[CheckHold]:
    """The periods each failed item of an expectation touches, with the row to look at."""
    holds = []
    for item in outcome.failures:
        if outcome.name == "quarantined_share":
            periods = _periods(con, day, "source_file = ?", [item["source_file"]])
            detail = f"{item['share']:.0%} of {item['lines_read']} lines quarantined as {item['reason']}"
        elif outcome.name == "quantity_distribution":
            periods = _periods(con, day, "metric = ?", [item["metric"]])
            detail = f"median {item['metric']} quantity {item['today_median']:g} against {item['trailing_median']:g} on the trailing days"
        elif outcome.name == "late_event_share":
            periods = _periods(con, day, "occurred_at < ?", [datetime.combine(day, time()) - timedelta(hours=late_tolerance_hours)])
            detail = f"{item['share']:.0%} of {item['events']} events landed after their own day"
        else:
            periods = (period_text(day),)
            detail = f"account {item['account_id']} sent no events"
        line = item.get("line_number")
        holds.append(CheckHold(periods, item.get("source_file"), None if line is None else int(line),
                               f"{outcome.name}: {detail} ({outcome.summary})"))
    return holds


@dg.asset_check(asset=raw_usage_events, partitions_def=daily_partitions, blocking=True, pool="duckdb_warehouse",
                description="Great Expectations on the day as a whole: share of quarantined lines per file and reason, "
                            "quantity distribution per metric against the trailing days, share of late events, accounts "
                            "suddenly silent. Thresholds and severities are in IngestSettings; a failure of severity "
                            "`error` holds the periods of the rows concerned.")
def day_meets_expectations(context: dg.AssetCheckExecutionContext, billing_data: BillingData,
                           ingest_settings: IngestSettings) -> dg.AssetCheckResult:
    from billing_pipeline.lib.ingest.expectations import day_figures, validate_day

    day = _day(context)
    with billing_data.warehouse(read_only=True) as con:
        frames = day_figures(con, day, ingest_settings)
    outcomes = validate_day(frames, ingest_settings)
    failed = [o for o in outcomes if not o.success]
    blocking = [o for o in failed if o.severity == "error"]
    with billing_data.warehouse() as con:
        holds = [hold for outcome in blocking
                 for hold in _expectation_holds(con, day, outcome, ingest_settings.late_tolerance_hours)]
        replace_check_holds(con, "day_meets_expectations", day, holds)
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        description=(f"all {len(outcomes)} expectations hold on the day" if not failed
                     else "; ".join(f"{o.name} ({o.severity}): {len(o.failures)} failing" for o in failed)
                     + (f"; holding {_held(holds)}" if holds else "")),
        metadata={
            "expectations": dg.MetadataValue.md(markdown.table(pl.DataFrame(
                [{"expectation": o.name, "severity": o.severity, "passed": o.success, "items": o.evaluated,
                  "failing": len(o.failures), "rule": o.summary} for o in outcomes]))),
            "failed": ", ".join(o.name for o in failed) or "none",
            "held_periods": _held(holds) or "none",
        },
    )


@dg.asset_check(asset=raw_usage_events, partitions_def=daily_partitions, blocking=True,
                description="No file of this day that was billed in an issued month changed, disappeared or was added "
                            "since. Such a change keeps the billed rows and holds the next close until the original is "
                            "landed again or `billing-pipeline acknowledge <file>` is run.")
def issued_files_unchanged(context: dg.AssetCheckExecutionContext, billing_data: BillingData) -> dg.AssetCheckResult:
    with billing_data.warehouse(read_only=True) as con:
        changes = pl.from_arrow(con.sql(
            """SELECT source_file, change, issued_periods, held_period, billed_hash, current_hash, detected_at
               FROM raw.issued_file_changes WHERE landing_date = ? AND resolution IS NULL ORDER BY source_file""",
            params=[_day(context)]).to_arrow_table())
    return dg.AssetCheckResult(
        passed=changes.height == 0,
        description="no file billed in an issued month changed since" if changes.height == 0 else
        f"{changes.height} file(s) of issued months changed: {', '.join(changes['source_file'])}; holding "
        f"{', '.join(sorted(set(changes['held_period'])))} until acknowledged (`billing-pipeline acknowledge <file>`) or re-landed",
        metadata={"changes": changes.height, "files": dg.MetadataValue.md(markdown.table(changes) if changes.height else "_none_")},
    )


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
