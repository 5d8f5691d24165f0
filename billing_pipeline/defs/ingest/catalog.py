"""The catalog files as warehouse tables, loaded all or nothing."""

import dagster as dg

from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.lib import markdown
from billing_pipeline.lib.ingest.catalog import CatalogError, read_catalog, write_catalog

CATALOG_TABLES = {
    "catalog_plans": ("plans.yaml", ["currencies", "metrics", "plans", "plan_charges", "plan_tiers"]),
    "catalog_accounts": ("accounts.csv", ["accounts"]),
    "catalog_subscriptions": ("subscriptions.csv", ["subscriptions"]),
    "catalog_credit_grants": ("credit_grants.csv", ["credit_grants"]),
    "catalog_overrides": ("overrides.yaml", ["account_discounts", "account_charge_overrides", "account_tier_overrides"]),
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key, group_name="ingest", kinds={"duckdb", "yaml" if source.endswith(".yaml") else "csv"},
            description=f"`catalog/{source}` validated and loaded into `catalog.{', catalog.'.join(tables)}`. "
                        "A catalog with any problem is refused whole, naming file, line and rule.",
            metadata={"source_file": source, "tables": ", ".join(f"catalog.{t}" for t in tables)},
        )
        for key, (source, tables) in CATALOG_TABLES.items()
    ],
    pool="duckdb_warehouse",
)
def catalog(context: dg.AssetExecutionContext, billing_data: BillingData):
    try:
        loaded = read_catalog(billing_data.paths.catalog)
    except CatalogError as error:
        # One message listing every problem, so the whole catalog can be fixed in one pass: the
        # failure's description is the whole report, to print as is (the trace is only for the log).
        raise dg.Failure(description=str(error), metadata={
            "problem_count": len(error.problems),
            "problems": dg.MetadataValue.md("\n".join(f"- `{p}`" for p in error.problems)),
        }) from error
    with billing_data.warehouse() as con:
        write_catalog(con, loaded)
    for key, (source, tables) in CATALOG_TABLES.items():
        first = loaded.tables[tables[0]]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "dagster/row_count": first.height,
                **{f"rows.{t}": loaded.tables[t].height for t in tables},
                "preview": dg.MetadataValue.md(markdown.table(first, limit=10)),
            },
        )
