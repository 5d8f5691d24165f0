"""The files the quota API serves: the open month's quota status, and its usage per day with the draft
invoice, published atomically.

The API never opens the warehouse (DuckDB allows one writer and the pipeline is it), so each refresh
of fct_quota_status is copied out to `serving/` as a file the API reloads when it changes, with
the list of landed files its figures include (so the API counts the events it accepted since, once).
Both files come from one read of the warehouse, so they agree on accounts, period and included files.
"""

from datetime import date, datetime, timedelta, timezone

import dagster as dg
import duckdb
import polars as pl

from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.lib import markdown
from billing_pipeline.exchange.quota_snapshot import SNAPSHOT_SCHEMA, write_quota_snapshot
from billing_pipeline.exchange.usage_snapshot import write_usage_snapshot
from billing_pipeline.lib.serve.usage_snapshot import usage_rows


@dg.asset(
    group_name="serve",
    kinds={"parquet", "polars"},
    deps=["fct_quota_status", "fct_usage_monthly", "fct_usage_daily", "fct_invoices", "fct_invoice_lines"],
    pool="duckdb_warehouse",
    automation_condition=dg.AutomationCondition.eager(),
    owners=["team:data-engineering"],
    description="The open month's quota status per account and metric (fct_quota_status), written atomically to "
                "`serving/quota_snapshot.parquet` for the quota API, and beside it `serving/usage_snapshot.parquet`: "
                "each of those accounts' open-period usage per metric and day (fct_usage_monthly, fct_usage_daily) "
                "and draft invoice (fct_invoices, fct_invoice_lines), for its usage answers. Refreshed whenever "
                "fct_quota_status is.",
)
def quota_snapshot(context: dg.AssetExecutionContext, billing_data: BillingData) -> dg.MaterializeResult:
    columns = ", ".join(f'"{c}"' for c in SNAPSHOT_SCHEMA)
    with billing_data.warehouse(read_only=True) as con:
        rows = pl.from_arrow(con.sql(f"SELECT {columns} FROM fct_quota_status ORDER BY account_id, metric").to_arrow_table())
        included = included_files(con, rows["period_start"].min() if rows.height else None)
        usage = usage_rows(con)
    generated_at = datetime.now(timezone.utc)
    # The usage file first: the API takes the quota file, then the usage file, in one polling round,
    # so a run's pair goes live together (usage answers wait for the pair, see quotas_api/routes/usage.py).
    usage_path = write_usage_snapshot(usage, billing_data.paths.serving, generated_at, included)
    path = write_quota_snapshot(rows, billing_data.paths.serving, generated_at, included)
    by_status = dict(rows.group_by("status").len().iter_rows())
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows.height,
        "accounts": rows["account_id"].n_unique(),
        "period": rows["period"].first() if rows.height else "",
        "path": dg.MetadataValue.path(str(path)),
        "usage_path": dg.MetadataValue.path(str(usage_path)),
        "usage_days": int(usage["days"].list.len().sum()),
        "draft_invoices": usage["draft_total_cents"].is_not_null().sum(),
        "generated_at": generated_at.isoformat(),
        "included_files": len(included),
        "by_status": dg.MetadataValue.md(markdown.mapping(by_status, "status", "account x metric")),
        "over_limit": dg.MetadataValue.md(markdown.table(
            rows.filter(pl.col("status") == "over_limit").select("account_id", "metric", "used", "limit", "enforcement"))),
    })


def included_files(con: duckdb.DuckDBPyConnection, first_period_start: date | None) -> list[str]:
    """The landed files fct_quota_status was rated from (runs of one data folder never overlap, lib/run_lock.py,
    and rating follows ingestion): every file ingestion has taken, read or set aside, from the day before the
    earliest open period on (the quota API only asks about files of open periods). In-flight files
    (dot-prefixed) are not taken: ingestion reads them once they have their final name."""
    since = (first_period_start or date.today().replace(day=1)) - timedelta(days=1)
    if not con.sql("SELECT 1 FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = 'ingest_files'").fetchall():
        return []
    return [name for (name,) in con.execute(
        "SELECT source_file FROM raw.ingest_files WHERE landing_date >= ? AND file_status <> 'hidden_file' "
        "ORDER BY source_file", [since]).fetchall()]


quota_snapshot_job = dg.define_asset_job(
    "quota_snapshot_job", selection=dg.AssetSelection.assets(quota_snapshot),
    description="Publish the quota snapshot file from fct_quota_status.",
)
