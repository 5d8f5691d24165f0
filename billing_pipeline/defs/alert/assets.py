"""Usage alerts: each evaluation day's alerts, recorded once in the alert ledger and delivered to
the sinks in `alerts/sinks.yaml` (rules in `alerts/rules.yaml`; both optional)."""

import os
from datetime import date

import dagster as dg
import polars as pl

from billing_pipeline.defs.alert.automation import AFTER_RATING
from billing_pipeline.defs.partitions import daily_partitions
from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.lib import markdown
from billing_pipeline.lib.alert.config import KINDS, AlertConfigError, load_rules, load_sinks
from billing_pipeline.lib.alert.run import AlertRun, run_alerts

DELIVERED_CHECK = "alerts_delivered"
SUMMARY = "summary"


def _preview(run: AlertRun) -> str:
    frame = pl.DataFrame(
        [{"kind": a.kind, "account_id": a.account_id, "metric": a.metric or "", "period": a.period, "message": a.message}
         for a in run.new],
        schema={"kind": pl.String, "account_id": pl.String, "metric": pl.String, "period": pl.String, "message": pl.String})
    return markdown.table(frame) if frame.height else "_no new alerts_"


def _metadata(run: AlertRun) -> dict:
    deliveries = pl.DataFrame(
        [{"sink": sink, "sent this run": run.delivery.sent[sink], "pending": run.pending.get(sink, (0, None))[0]}
         for sink in sorted({*run.sinks, *run.pending})],
        schema={"sink": pl.String, "sent this run": pl.Int64, "pending": pl.Int64})
    return {
        "dagster/row_count": len(run.new_keys),
        "evaluated_for": run.day.isoformat(),
        "detected": len(run.detected),
        "new": len(run.new_keys),
        "already_recorded": len(run.detected) - len(run.new_keys),
        # what this run sent, never the ledger's all-time count: a re-run with nothing new sends 0
        "sent": sum(run.delivery.sent.values()),
        "pending": sum(count for count, _ in run.pending.values()),
        "deliveries": dg.MetadataValue.md(markdown.table(deliveries) if deliveries.height else "_no sink configured_"),
        SUMMARY: dg.MetadataValue.json(run.summary),  # a list of lines: the UI shows each on its own
        "by_kind": dg.MetadataValue.md(markdown.mapping({k: run.by_kind.get(k, 0) for k in KINDS}, "kind", "detected")),
        "new_alerts": dg.MetadataValue.md(_preview(run)),
    }


def run_summary(result: dg.ExecuteInProcessResult) -> list[str]:
    """The lines `billing-pipeline run` prints after usage_alerts_job: this run's new alerts and, per
    sink, what this run sent and what is still pending (AlertRun.summary)."""
    return [line for event in result.get_asset_materialization_events()
            if event.asset_key == usage_alerts.key
            for line in event.materialization.metadata[SUMMARY].value]


def _delivered_check(run: AlertRun) -> dg.AssetCheckResult:
    problems = {sink: f"{count} pending; {run.delivery.errors.get(sink) or error or 'not attempted'}"
                for sink, (count, error) in run.pending.items()}
    return dg.AssetCheckResult(
        check_name=DELIVERED_CHECK, passed=not problems, severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(f"{sink}: {text}" for sink, text in problems.items()) or "every delivery sent",
        metadata={"pending": sum(count for count, _ in run.pending.values()),
                  "by_sink": dg.MetadataValue.md(markdown.mapping(problems, "sink", "pending, last error"))},
    )


@dg.asset(
    group_name="alert",
    kinds={"duckdb", "email"},
    partitions_def=daily_partitions,
    deps=["fct_quota_status", "fct_usage_daily", "fct_credit_balances", "dim_accounts", "stripe_payment_events"],
    pool="duckdb_warehouse",
    automation_condition=AFTER_RATING,
    owners=["team:data-engineering"],
    check_specs=[dg.AssetCheckSpec(
        DELIVERED_CHECK, asset="usage_alerts",
        description="Every alert delivery has been accepted by its sink; pending ones are retried by the next run.")],
    description="Alerts that hold on the evaluation day (quota thresholds, low prepaid credit, trial ending, "
                "usage anomaly, payment failed), each recorded once in `alerts.alerts` and delivered once per "
                "sink (`alerts.deliveries`). Re-runs and backfills send nothing twice.",
)
def usage_alerts(context: dg.AssetExecutionContext, billing_data: BillingData):
    day = date.fromisoformat(context.partition_key)
    folder = billing_data.paths.alerts
    try:
        rules, sinks = load_rules(folder), load_sinks(folder)
    except AlertConfigError as error:
        raise dg.Failure(description=str(error), metadata={"problem_count": len(error.problems)}) from error
    with billing_data.warehouse() as con:
        run = run_alerts(con, day, rules, sinks, folder, os.environ)
    for sink, error in run.delivery.errors.items():
        context.log.warning(f"alert sink {sink}: {error}")
    yield dg.MaterializeResult(metadata=_metadata(run))
    yield _delivered_check(run)


usage_alerts_job = dg.define_asset_job(
    "usage_alerts_job", selection=dg.AssetSelection.assets(usage_alerts),
    description="Detect and deliver one evaluation day's usage alerts.",
)
