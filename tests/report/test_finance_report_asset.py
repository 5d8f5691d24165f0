"""The finance_report asset through Dagster: headline metadata, its blocking checks, refusal, automation."""

import dagster as dg
import pytest

from billing_pipeline.defs.partitions import monthly_partitions
from billing_pipeline.defs.report.finance_report import (
    finance_report, journal_sums_to_invoices, report_job, report_totals_match_invoices)
from billing_pipeline.lib.warehouse import BillingData
from tests.report.report_world import private_copy


@pytest.fixture
def data(report_world, tmp_path):
    return private_copy(report_world, tmp_path / "data")


def _run(data, partition: str) -> dg.ExecuteInProcessResult:
    return dg.materialize([finance_report, journal_sums_to_invoices, report_totals_match_invoices],
                          resources={"billing_data": BillingData(data_dir=str(data.root))},
                          partition_key=partition, raise_on_error=False)


def test_the_report_asset_shows_headline_numbers_a_preview_and_its_blocking_checks_pass(data):
    result = _run(data, "2026-01-01")

    assert result.success
    [event] = result.get_asset_materialization_events()
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    assert metadata["total_cents"] == 25488 and metadata["total_invoiced"] == "254.88 USD"
    assert metadata["dagster/row_count"] == (data.reports / "2026-01" / "journal.csv").read_text().count("\n") - 1
    assert (metadata["invoices"], metadata["published"], metadata["paid"], metadata["payment_failed"]) == (7, 3, 1, 1)
    # top accounts by usage charges, money written as everywhere in the reports
    assert "| beta " in metadata["top_accounts"] and "| 60.17 USD " in metadata["top_accounts"]
    assert "| 107.17 USD " in metadata["top_accounts"] and "10717" not in metadata["top_accounts"]
    assert "| total invoiced" in metadata["headline"] and "254.88 USD" in metadata["headline"]
    assert metadata["trend_chart"].startswith("![Charges and total invoiced per issued period](data:image/png;base64,")
    assert metadata["pdf"] == str(data.reports / "2026-01" / "revenue_pack.pdf")
    assert metadata["open_html"] == (data.reports / "2026-01" / "revenue_pack.html").as_uri()
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert set(checks) == {"journal_sums_to_invoices", "report_totals_match_invoices"}
    assert all(c.passed for c in checks.values())
    assert all(spec.blocking for spec in journal_sums_to_invoices.check_specs)
    assert all(spec.blocking for spec in report_totals_match_invoices.check_specs)


def test_the_report_asset_refuses_a_period_that_was_not_issued(data):
    result = _run(data, "2026-03-01")

    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "2026-03 is not issued" in failure.step_failure_data.error.message
    assert not (data.reports / "2026-03").exists()


def test_a_months_report_is_requested_when_that_months_invoices_are_published():
    publisher = dg.AssetSpec("stripe_invoices", partitions_def=monthly_partitions, group_name="publish", kinds={"stripe"})
    defs = dg.Definitions(assets=[publisher, finance_report], jobs=[report_job],
                          resources={"billing_data": BillingData(data_dir="unused: nothing runs")})
    instance = dg.DagsterInstance.ephemeral()

    quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert quiet.total_requested == 0  # nothing published: no report
    instance.report_runless_asset_event(dg.AssetMaterialization("stripe_invoices", partition="2026-01-01"))
    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)

    assert after.get_requested_partitions(finance_report.key) == {"2026-01-01"} and after.total_requested == 1
    handled = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=after.cursor)
    assert handled.total_requested == 0  # one request per publication, not one per tick
    assert defs.resolve_job_def("report_job").partitions_def == monthly_partitions
