"""The Dagster side: the asset's metadata and delivery check, the job, and the automation condition
that runs alerts after a rating whose blocking checks passed."""

from datetime import date

import dagster as dg

from billing_pipeline.defs.alert.assets import run_summary, usage_alerts, usage_alerts_job
from billing_pipeline.defs.partitions import daily_partitions, monthly_partitions
from billing_pipeline.lib.warehouse import BillingData, connect
from billing_pipeline.definitions import defs
from tests.alert.alert_world import AS_OF
from tests.alert.receivers import free_port


def materialize(paths, day: date = AS_OF) -> tuple[dg.MaterializeResult, dg.AssetCheckResult]:
    context = dg.build_asset_context(partition_key=day.isoformat(),
                                     resources={"billing_data": BillingData(data_dir=str(paths.root))})
    result, check = list(usage_alerts(context))
    return result, check


def test_the_asset_reports_new_and_known_alerts_by_kind_and_passes_its_check_when_all_is_sent(alert_data):
    result, check = materialize(alert_data)
    meta = result.metadata
    assert meta["new"] == meta["detected"] == meta["dagster/row_count"] == 11 and meta["already_recorded"] == 0
    assert "| quota          |          7 |" in meta["by_kind"].value
    assert meta["sent"] == 11 and meta["pending"] == 0
    assert "| jsonl  |              11 |         0 |" in meta["deliveries"].value
    assert "q75 has used 3750 api_calls in 2026-03: 75% of its limit of 5000" in meta["new_alerts"].value
    assert check.passed and check.check_name == "alerts_delivered"

    again, _ = materialize(alert_data)
    assert again.metadata["new"] == 0 and again.metadata["already_recorded"] == 11
    assert again.metadata["sent"] == 0 and "| jsonl  |               0 |         0 |" in again.metadata["deliveries"].value
    assert (alert_data.alerts / "alerts.jsonl").read_text().count("\n") == 11


def test_what_a_run_says_it_sent_is_what_that_run_sent_so_a_rerun_with_nothing_new_says_0(alert_data):
    def run() -> tuple[list[str], list[str]]:
        result = dg.materialize([usage_alerts], partition_key=AS_OF.isoformat(),
                                resources={"billing_data": BillingData(data_dir=str(alert_data.root))})
        with connect(alert_data.warehouse, read_only=True) as con:
            sent_at = [str(t) for (t,) in con.execute("SELECT DISTINCT sent_at FROM alerts.deliveries ORDER BY 1").fetchall()]
        return run_summary(result), sent_at

    first, first_sent_at = run()
    assert first == ["alerts for 2026-03-15: 11 new of 11 detected", "alerts via jsonl: 11 sent, 0 pending"]
    again, again_sent_at = run()
    assert again == ["alerts for 2026-03-15: 0 new of 11 detected", "alerts via jsonl: 0 sent, 0 pending"]
    assert again_sent_at == first_sent_at  # the ledger agrees: nothing was sent the second time


def test_the_delivery_check_warns_naming_the_sink_and_its_error_while_deliveries_are_pending(alert_data):
    alert_data.alerts.mkdir(parents=True, exist_ok=True)
    (alert_data.alerts / "sinks.yaml").write_text(
        f"sinks:\n  - {{type: webhook, name: ops, url: 'http://127.0.0.1:{free_port()}/', secret_env: ALERTS_SECRET_UNSET}}\n")
    result, check = materialize(alert_data)
    assert result.metadata["new"] == 11
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN and check.metadata["pending"].value == 11
    assert check.description == "ops: 11 pending; environment variable ALERTS_SECRET_UNSET is not set"


def test_definitions_hold_the_alert_asset_job_check_and_automation(monkeypatch, tmp_path):
    monkeypatch.setenv("BILLING_DATA_DIR", str(tmp_path))
    loaded = defs()
    spec = next(s for s in loaded.resolve_all_asset_specs() if s.key == dg.AssetKey("usage_alerts"))
    assert spec.group_name == "alert" and spec.partitions_def is not None
    assert {d.asset_key.to_user_string() for d in spec.deps} == {
        "fct_quota_status", "fct_usage_daily", "fct_credit_balances", "dim_accounts", "stripe_payment_events"}
    assert loaded.resolve_job_def("usage_alerts_job") is not None
    assert dg.AssetCheckKey(dg.AssetKey("usage_alerts"), "alerts_delivered") in loaded.resolve_asset_graph().asset_check_keys
    assert spec.automation_condition is not None and "after the open month's rating" in spec.automation_condition.get_label()


class QuotaCheck(dg.Config):
    check_passes: bool = True


@dg.asset(name="fct_quota_status", partitions_def=monthly_partitions, group_name="rating", kinds={"dbt"},
          check_specs=[dg.AssetCheckSpec("used_is_known", asset="fct_quota_status", blocking=True)])
def quota_status(config: QuotaCheck):
    """Stands in for the rating's model: its blocking check passes or fails on demand."""
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(check_name="used_is_known", passed=config.check_passes)


def _alert_world() -> tuple[dg.Definitions, dg.DagsterInstance, dg.AutomationResult]:
    """usage_alerts and its inputs, each materialized once, and a first evaluation (the cursor later
    ones start from)."""
    month = monthly_partitions.get_last_partition_key()
    others = [dg.AssetSpec(name, partitions_def=monthly_partitions, group_name="rating", kinds={"dbt"})
              for name in ("fct_usage_daily", "fct_credit_balances", "dim_accounts")]
    payments = dg.AssetSpec("stripe_payment_events", group_name="publish", kinds={"stripe"})
    defs = dg.Definitions(assets=[quota_status, *others, payments, usage_alerts], jobs=[usage_alerts_job],
                          resources={"billing_data": BillingData(data_dir="unused: nothing runs")})
    instance = dg.DagsterInstance.ephemeral()
    for spec in others:
        instance.report_runless_asset_event(dg.AssetMaterialization(spec.key, partition=month))
    instance.report_runless_asset_event(dg.AssetMaterialization(payments.key))
    _rate_the_open_month(instance, check_passes=True)
    return defs, instance, dg.evaluate_automation_conditions(defs=defs, instance=instance)


def _rate_the_open_month(instance: dg.DagsterInstance, check_passes: bool) -> None:
    config = {"ops": {"fct_quota_status": {"config": {"check_passes": check_passes}}}}
    dg.materialize([quota_status], instance=instance, partition_key=monthly_partitions.get_last_partition_key(),
                   run_config=config, raise_on_error=False)


def test_the_latest_days_alerts_are_requested_once_each_time_the_rating_updates_the_quota_status():
    defs, instance, start = _alert_world()
    _rate_the_open_month(instance, check_passes=True)
    rated = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=start.cursor)
    assert rated.get_requested_partitions(usage_alerts.key) == {daily_partitions.get_last_partition_key()}
    assert rated.total_requested == 1
    quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=rated.cursor)
    assert quiet.total_requested == 0  # one request per rating, not one per tick


def test_no_alerts_follow_a_rating_whose_blocking_check_failed():
    defs, instance, start = _alert_world()
    _rate_the_open_month(instance, check_passes=False)
    assert dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=start.cursor).total_requested == 0
