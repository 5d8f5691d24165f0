"""One landing day of raw usage into DuckDB: validated, deduplicated, every line accounted for."""

from datetime import date

import dagster as dg

from billing_pipeline.defs.partitions import daily_partitions
from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.lib import markdown
from billing_pipeline.lib.ingest.usage_events import ingest_day


@dg.asset(
    partitions_def=daily_partitions,
    group_name="ingest",
    kinds={"duckdb", "json"},
    deps=["catalog_accounts", "catalog_plans"],
    pool="duckdb_warehouse",
    retry_policy=dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL),
    owners=["team:data-engineering"],
    description=(
        "Usage files landed in `landing/usage/<day>/` (.ndjson, .ndjson.gz, .csv, .parquet) for one landing day, "
        "read through DuckDB with an explicit schema. Valid rows go to `raw.usage_events` (occurred_at in UTC); "
        "lines (or whole files) breaking the raw event contract are set aside in `raw.usage_quarantine`. "
        "The view `raw.usage_events_loaded` keeps the first landing of each event_id; later identical copies count "
        "as duplicates and later different copies are quarantined as conflicts. The view `raw.quarantine` lists "
        "everything quarantined (both kinds) with file, line, raw text and reason. Re-materializing a day replaces "
        "exactly that day."
    ),
)
def raw_usage_events(context: dg.AssetExecutionContext, billing_data: BillingData) -> dg.MaterializeResult:
    day = date.fromisoformat(context.partition_key)
    with billing_data.warehouse() as con:
        summary = ingest_day(con, billing_data.paths.landing_usage, day)
    if summary.files == 0:
        context.log.warning(f"no files landed in {billing_data.paths.day_folder(context.partition_key)}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": summary.loaded,
        "files": summary.files,
        "bytes": dg.MetadataValue.int(summary.bytes),
        "lines_read": summary.lines_read,
        "loaded": summary.loaded,
        "duplicates": summary.duplicates,
        "quarantined": summary.quarantined,
        "quarantined_by_reason": dg.MetadataValue.md(markdown.mapping(summary.quarantined_by_reason, "reason", "lines or files")),
        "accounts": summary.accounts,
        "occurred_at_min": summary.occurred_min or "",
        "occurred_at_max": summary.occurred_max or "",
    })
