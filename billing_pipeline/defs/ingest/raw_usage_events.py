"""One landing day of raw usage into DuckDB: validated, deduplicated, every line and file accounted for."""

from datetime import date

import dagster as dg
import polars as pl
from pydantic import Field

from billing_pipeline.defs.partitions import daily_partitions
from billing_pipeline.lib import markdown
from billing_pipeline.lib.ingest.settings import IngestSettings
from billing_pipeline.lib.ingest.usage_events import ensure_schema, ingest_day, record_landing_problems
from billing_pipeline.lib.warehouse import BillingData


class IngestConfig(dg.Config):
    reread: bool = Field(default=False, description="Read every file of the day again, even those ingested with the "
                                                    "same content (`billing-pipeline run --full-refresh`).")


def partition_days() -> tuple[date, date]:
    """The first and last landing day the daily partitions cover (today's included)."""
    keys = daily_partitions.get_partition_keys()
    return date.fromisoformat(keys[0]), date.fromisoformat(keys[-1])


@dg.asset(
    partitions_def=daily_partitions,
    group_name="ingest",
    kinds={"duckdb", "json"},
    deps=["catalog_accounts", "catalog_plans"],
    pool="duckdb_warehouse",
    retry_policy=dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL),
    owners=["team:data-engineering"],
    description=(
        "Usage files landed in `landing/usage/<day>/` (.ndjson, .jsonl, .csv, optionally gzipped, and .parquet) for one "
        "landing day. Valid rows go to `raw.usage_events` (occurred_at in UTC, quantity exact as DECIMAL(38, 9)); lines "
        "breaking the raw event contract go to `raw.usage_quarantine` with file, line, raw text and reason, and the rest "
        "of their file loads. Only new or changed files are read: a file ingested with the same content (SHA-256) "
        "keeps its rows, a changed or removed file replaces only its own, and each load lists the usage days and accounts "
        "it changed in `raw.usage_changes` for the incremental rating. Every file gets a row in `raw.ingest_files` (SHA-256, lines read, status); anything under "
        "landing/usage outside the day folders is listed in `raw.landing_problems`. The view `raw.usage_events_loaded` "
        "keeps the first landing of each event_id; later identical copies count as duplicates and later different "
        "copies are quarantined as conflicts. The view `raw.quarantine` lists everything quarantined (both kinds) with "
        "file, line, raw text and reason. Re-materializing a day touches only its new, changed or removed files, "
        "except the billed rows of an issued month's file that changed since, which stay."
    ),
)
def raw_usage_events(context: dg.AssetExecutionContext, config: IngestConfig, billing_data: BillingData,
                     ingest_settings: IngestSettings) -> dg.MaterializeResult:
    day = date.fromisoformat(context.partition_key)
    with billing_data.warehouse() as con:
        ensure_schema(con)
        [(last_load,)] = con.execute("SELECT coalesce(max(load_id), 0) FROM raw.ingest_loads").fetchall()
        summary = ingest_day(con, billing_data.paths.landing_usage, day, ingest_settings.late_tolerance_hours, config.reread)
        [(files_read, files_removed, days_changed)] = con.execute("""
            SELECT coalesce(sum(files_read), 0), coalesce(sum(files_removed), 0),
                   (SELECT count(DISTINCT usage_date) FROM raw.usage_changes WHERE load_id > $last)
            FROM raw.ingest_loads WHERE load_id > $last""", {"last": last_load}).fetchall()
        outside = record_landing_problems(con, billing_data.paths.landing_usage, *partition_days())
        files = pl.from_arrow(con.sql("""SELECT source_file, file_status, lines_read, loaded, duplicates, quarantined
                                         FROM raw.ingest_accounting WHERE landing_date = ? ORDER BY source_file""",
                                      params=[day]).to_arrow_table())
        changes = pl.from_arrow(con.sql("""SELECT source_file, change, issued_periods, held_period, detected_at
                                           FROM raw.issued_file_changes WHERE landing_date = ? AND resolution IS NULL
                                           ORDER BY source_file""", params=[day]).to_arrow_table())
    if summary.files == 0:
        context.log.warning(f"no files landed in {billing_data.paths.day_folder(context.partition_key)}")
    for rel, status in summary.files_not_read.items():
        context.log.warning(f"{rel} not read: {status}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": summary.loaded,
        "files": summary.files,
        "files_not_read": len(summary.files_not_read),
        "files_read_now": dg.MetadataValue.int(int(files_read)),
        "files_removed_now": dg.MetadataValue.int(int(files_removed)),
        "usage_days_changed": dg.MetadataValue.int(int(days_changed)),
        "bytes": dg.MetadataValue.int(summary.bytes),
        "lines_read": summary.lines_read,
        "loaded": summary.loaded,
        "duplicates": summary.duplicates,
        "quarantined": summary.quarantined,
        "quarantined_by_reason": dg.MetadataValue.md(markdown.mapping(summary.quarantined_by_reason, "reason", "lines or files")),
        "file_accounting": dg.MetadataValue.md(markdown.table(files)),
        "issued_files_changed": dg.MetadataValue.md(markdown.table(changes) if changes.height else "_none_"),
        "landing_problems": dg.MetadataValue.md(
            markdown.table(pl.DataFrame({"path": [e.rel for e in outside], "reason": [e.reason for e in outside]}))
            if outside else "_none_: every folder under landing/usage is a landing day of the partitions"),
        "accounts": summary.accounts,
        "occurred_at_min": summary.occurred_min or "",
        "occurred_at_max": summary.occurred_max or "",
    })
