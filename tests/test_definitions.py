import dagster as dg

from billing_pipeline.definitions import defs


def test_all_definitions_load_and_every_asset_is_described_grouped_and_kinded():
    loaded = defs()
    specs = list(loaded.resolve_all_asset_specs())
    assert {"raw_usage_events", "catalog_plans", "catalog_accounts", "fct_invoices", "quota_snapshot", "stripe_invoices",
            "stripe_payment_events", "finance_report", "usage_alerts"} <= {s.key.to_user_string() for s in specs}
    for spec in specs:
        assert spec.description, spec.key
        assert spec.group_name and spec.group_name != "default", spec.key
        assert spec.kinds, spec.key
    for job in ("ingest_job", "rating_job", "publish_job", "stripe_events_job", "report_job", "usage_alerts_job"):
        assert loaded.resolve_job_def(job) is not None
    assert {s.name for s in loaded.schedules} >= {"ingest_job_schedule", "open_month_rating_schedule", "monthly_close_schedule"}
    assert {s.name for s in loaded.sensors} >= {"landed_files_sensor", "stripe_inbox_sensor"}
    checks = {k.name for k in loaded.resolve_asset_graph().asset_check_keys}
    assert {"every_line_accounted_for", "day_meets_expectations", "issued_files_unchanged", "landed_on_time", "volume_near_trailing_median",
            "stripe_amounts_match_invoices", "journal_sums_to_invoices", "report_totals_match_invoices", "alerts_delivered"} <= checks
    assert isinstance(loaded.resources["billing_data"].data_dir, dg.EnvVar)
