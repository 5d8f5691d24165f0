"""The rating's dbt tests, as Dagster checks, say why they passed or failed, and say the same for the same data."""

from datetime import date

import dagster as dg
import pytest

from billing_pipeline.defs.rating.assets import rating, rating_run_config
from billing_pipeline.lib.rating.engine import RatingEngine
from billing_pipeline.lib.rating.project import dbt_cli_resource
from billing_pipeline.lib.warehouse import BillingData
from tests.dbt.rating_warehouse import Event, january_world

# dagster-dbt 0.29 itself reads the deprecated AssetExecutionContext.op when it builds the dbt command.
pytestmark = pytest.mark.filterwarnings("ignore:AssetExecutionContext.op is deprecated:DeprecationWarning")


def _rate(world) -> dict[str, dg.AssetCheckEvaluation]:
    result = dg.materialize(
        [rating], resources={"dbt": dbt_cli_resource(), "rating_engine": RatingEngine(), "billing_data": BillingData(data_dir=str(world.paths.root))},
        run_config=rating_run_config(date(2026, 2, 10)),
        tags={"dagster/asset_partition_range_start": "2026-01-01", "dagster/asset_partition_range_end": "2026-02-01"})
    assert result.success
    return {c.asset_check_key.name: c for c in result.get_asset_check_evaluations()}


def test_every_dbt_check_says_why_and_usage_without_subscription_reports_the_same_rows_on_a_rerun(tmp_path):
    world = january_world(tmp_path / "data")
    # cara's subscription starts on Jan 10: two days of usage before it are metered, never billed
    world.land(Event("cara", "api_calls", "40", "2026-01-05 10:00:00", "2026-01-05"),
               Event("cara", "seats", "1", "2026-01-06 10:00:00", "2026-01-06"))

    first = _rate(world)  # January closes (as of Feb 10) and is issued; February is open
    assert all(c.description for c in first.values()), [n for n, c in first.items() if not c.description]
    passed = first["not_null_fct_invoices_currency"]
    assert passed.passed and passed.description == "pass: no row breaks it (not_null on fct_invoices.currency)"
    uncovered = first["usage_without_subscription"]
    assert not uncovered.passed and uncovered.severity == dg.AssetCheckSeverity.WARN
    assert uncovered.description == ("warn: 2 row(s) break it (usage on days no subscription covers: metered, never "
                                     "billed (see fct_usage_monthly.uncovered_event_count))")

    again = _rate(world)  # the same data: January is issued now and no longer in the rating window
    assert again["usage_without_subscription"].description == uncovered.description
    assert again["usage_without_subscription"].metadata["dagster_dbt/failed_row_count"].value == 2
