"""The quota snapshot file the quota API serves: the open month's quota status, published atomically.

The API never opens the warehouse (DuckDB allows one writer and the pipeline is it), so each refresh
of fct_quota_status is copied out to `serving/` as a file the API reloads when it changes.
"""

from datetime import datetime, timezone

import dagster as dg
import polars as pl

from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.lib import markdown
from billing_pipeline.exchange.quota_snapshot import SNAPSHOT_SCHEMA, write_quota_snapshot


@dg.asset(
    group_name="serve",
    kinds={"parquet", "polars"},
    deps=["fct_quota_status"],
    pool="duckdb_warehouse",
    automation_condition=dg.AutomationCondition.eager(),
    owners=["team:data-engineering"],
    description="The open month's quota status per account and metric (fct_quota_status), written atomically to "
                "`serving/quota_snapshot.parquet` for the quota API. Refreshed whenever fct_quota_status is.",
)
def quota_snapshot(context: dg.AssetExecutionContext, billing_data: BillingData) -> dg.MaterializeResult:
    columns = ", ".join(f'"{c}"' for c in SNAPSHOT_SCHEMA)
    with billing_data.warehouse(read_only=True) as con:
        rows = pl.from_arrow(con.sql(f"SELECT {columns} FROM fct_quota_status ORDER BY account_id, metric").to_arrow_table())
    generated_at = datetime.now(timezone.utc)
    path = write_quota_snapshot(rows, billing_data.paths.serving, generated_at)
    by_status = dict(rows.group_by("status").len().iter_rows())
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows.height,
        "accounts": rows["account_id"].n_unique(),
        "period": rows["period"].first() if rows.height else "",
        "path": dg.MetadataValue.path(str(path)),
        "generated_at": generated_at.isoformat(),
        "by_status": dg.MetadataValue.md(markdown.mapping(by_status, "status", "account x metric")),
        "over_limit": dg.MetadataValue.md(markdown.table(
            rows.filter(pl.col("status") == "over_limit").select("account_id", "metric", "used", "limit", "enforcement"))),
    })


quota_snapshot_job = dg.define_asset_job(
    "quota_snapshot_job", selection=dg.AssetSelection.assets(quota_snapshot),
    description="Publish the quota snapshot file from fct_quota_status.",
)
