"""The rating asset end to end through Dagster: a real `dbt build` subprocess per run."""

from datetime import date

import dagster as dg
import pytest

from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.defs.rating.assets import rating, rating_run_config
from billing_pipeline.lib.rating.engine import RatingEngine
from billing_pipeline.lib.rating.project import dbt_cli_resource
from tests.dbt.rating_warehouse import january_world

# dagster-dbt 0.29 itself reads the deprecated AssetExecutionContext.op when it builds the dbt command.
pytestmark = pytest.mark.filterwarnings("ignore:AssetExecutionContext.op is deprecated:DeprecationWarning")


def _resources(world) -> dict:
    return {"dbt": dbt_cli_resource(), "rating_engine": RatingEngine(), "billing_data": BillingData(data_dir=str(world.paths.root))}


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    """The asset's materialization metadata (one materialization per partition, the same for all)."""
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == asset]
    [metadata] = {repr(sorted(e.materialization.metadata.items())): e.materialization.metadata for e in events}.values()
    return {key: value.value for key, value in metadata.items()}


def test_a_backfill_range_rates_its_months_in_one_run_issues_the_closed_one_and_reports_checks(tmp_path):
    world = january_world(tmp_path / "data")
    result = dg.materialize(
        [rating], resources=_resources(world), run_config=rating_run_config(date(2026, 2, 10)),
        tags={"dagster/asset_partition_range_start": "2026-01-01", "dagster/asset_partition_range_end": "2026-02-01"},
    )

    assert result.success
    partitions = {e.partition for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "fct_invoices"}
    assert partitions == {"2026-01-01", "2026-02-01"}
    invoices = _metadata(result, "fct_invoices")
    assert "| 2026-01 | closed | 5 | 254.88 USD | 54.00 USD |" in invoices["periods"]
    assert "| 2026-02 | open | 5 |" in invoices["periods"]
    assert _metadata(result, "fct_issued_periods")["issued_periods"] == "2026-01"
    checks = result.get_asset_check_evaluations()
    assert len(checks) > 100
    assert {c.asset_check_key.name for c in checks} >= {"assert_usage_reconciles_with_raw_events",
                                                         "total_equals_sum_of_lines_fct_invoices_ref_fct_invoice_lines_"}
    assert all(c.passed for c in checks if c.severity == dg.AssetCheckSeverity.ERROR)
    [uncovered] = [c for c in checks if c.asset_check_key.name == "usage_without_subscription"]
    assert uncovered.passed  # every event here falls on a subscribed day
    assert world.query("select count(distinct period) as periods from fct_invoices") == [{"periods": 2}]


def test_a_failed_blocking_check_fails_the_run_issues_nothing_and_keeps_downstream_assets_from_running(tmp_path):
    world = january_world(tmp_path / "data")
    world.execute("update catalog.plan_charges set model = 'tiered' where plan_code = 'growth' and metric_code = 'seats'")

    @dg.asset(deps=[dg.AssetKey("fct_invoices")])
    def published() -> None:
        """Stands in for the publisher: it must never see a period whose checks failed."""

    result = dg.materialize([rating, published], resources=_resources(world), partition_key="2026-01-01",
                            run_config=rating_run_config(date(2026, 2, 4)), raise_on_error=False)

    assert not result.success
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert [c.asset_check_key.name for c in failed] == ["accepted_values_stg_catalog__plan_charges_model__per_unit__graduated__volume__package__flat"]
    assert rating.check_specs_by_output_name  # dbt tests are asset checks...
    blocking = {spec.key.name: spec.blocking for spec in rating.check_specs}
    assert blocking[failed[0].asset_check_key.name] and not blocking["usage_without_subscription"]  # ...blocking at error severity
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert "published" not in materialized and "fct_issued_periods" not in materialized
    assert world.query("select table_name from information_schema.tables where table_name like 'fct_issued%'") == []


def test_a_months_rating_depends_on_the_daily_ingestion_partitions_of_that_month(tmp_path):
    from billing_pipeline.defs.ingest.raw_usage_events import raw_usage_events
    from billing_pipeline.lib.ingest.settings import IngestSettings

    graph = dg.Definitions(assets=[raw_usage_events, rating],
                           resources={"dbt": dbt_cli_resource(), "rating_engine": RatingEngine(), "billing_data": BillingData(data_dir=str(tmp_path)),
                                      "ingest_settings": IngestSettings()}
                           ).resolve_asset_graph()
    events = dg.AssetKey("stg_raw__usage_events")
    assert graph.get(events).parent_keys == {dg.AssetKey("raw_usage_events")}
    monthly, daily = graph.get(events).partitions_def, graph.get(dg.AssetKey("raw_usage_events")).partitions_def
    upstream = graph.get_partition_mapping(events, dg.AssetKey("raw_usage_events")).get_upstream_mapped_partitions_result_for_partitions(
        monthly.subset_with_partition_keys(["2026-02-01"]), monthly, daily).partitions_subset.get_partition_keys()
    assert sorted(upstream) == [f"2026-02-{day:02d}" for day in range(1, 29)]
    assert {spec.group_name for spec in rating.specs} == {"rating"}
    assert all(spec.kinds == {"dbt", "duckdb"} for spec in rating.specs)


def test_rating_a_duckdb_folder_on_spark_is_refused_in_one_line_before_anything_runs(tmp_path):
    world = january_world(tmp_path / "data")
    world.execute("create table fct_invoices (account_id varchar)")  # as a DuckDB rating leaves it

    result = dg.materialize([rating], resources={**_resources(world), "rating_engine": RatingEngine(engine="spark")},
                            partition_key="2026-01-01", run_config=rating_run_config(date(2026, 2, 4)), raise_on_error=False)

    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_failure_data.error.message.startswith(
        "dagster._core.definitions.events.Failure: this data folder is rated on duckdb (its issued invoices are there), "
        "not spark: set BILLING_ENGINE=duckdb")
    assert not world.paths.seam.exists() and not result.get_asset_materialization_events()
