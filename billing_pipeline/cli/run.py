"""`billing-pipeline run`: ingest, rate, publish, report and alert, through the Dagster assets in-process."""

import argparse
import os
import sys
from datetime import date

from billing_pipeline.cli.common import data_dir, today
from billing_pipeline.cli.ingest_summary import held_periods, hold_lines, ingest_failed, ingest_summary_lines, landed_days
from billing_pipeline.exchange.data_dir import DataDir


def _instance():
    import dagster as dg

    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def _run_job(defs, instance, job_name: str, partition_key: str | None = None,
             tags: dict | None = None, run_config: dict | None = None):
    """Run one job in-process; print failed checks and failed steps."""
    result = defs.resolve_job_def(job_name).execute_in_process(
        instance=instance, partition_key=partition_key, raise_on_error=False, tags=tags,
        run_config={**(run_config or {}), "loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            detail = evaluation.description or evaluation.metadata.get("failed", "")
            print(f"  check {evaluation.check_name} on {partition_key or job_name}: FAILED ({evaluation.severity.value}) "
                  f"{getattr(detail, 'value', detail)}")
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                print(f"  {event.step_key} failed: {event.step_failure_data.error.message.strip()}", file=sys.stderr)
    return result


def _execute(defs, instance, job_name: str, partition_key: str | None = None,
             tags: dict | None = None, run_config: dict | None = None) -> bool:
    """Run one job in-process. True when it succeeded and every blocking check passed."""
    result = _run_job(defs, instance, job_name, partition_key, tags, run_config)
    return result.success and all(e.passed or e.severity.value != "ERROR" for e in result.get_asset_check_evaluations())


def run(args: argparse.Namespace) -> int:
    paths = data_dir(args)
    if not (paths.catalog / "plans.yaml").is_file():
        print(f"no catalog at {paths.catalog / 'plans.yaml'}: is {paths.root} the data folder? "
              "(`billing-pipeline generate` writes a sample there)", file=sys.stderr)
        return 2

    from billing_pipeline.lib.rating.project import prepare_manifest

    prepare_manifest()  # Definitions need the dbt manifest; it is never parsed at import
    from billing_pipeline.definitions import defs as load_defs

    defs, instance = load_defs(), _instance()
    if not _execute(defs, instance, "catalog_job"):
        print("catalog refused: nothing was ingested or rated", file=sys.stderr)
        return 1
    days = landed_days(paths)
    # A failed ingestion check holds only the periods it touches (dbt reads raw.period_holds), so
    # rating goes on; only a day that could not be ingested at all stops the run.
    failures = [day for day in days if ingest_failed(_run_job(defs, instance, "ingest_job", day))]
    print(f"ingested {len(days) - len(failures)}/{len(days)} landing days into {paths.warehouse}")
    print("\n".join(ingest_summary_lines(paths)))
    if failures:
        print(f"not rating: ingestion failed for {', '.join(failures)}; run again once it is fixed", file=sys.stderr)
        return 1
    as_of = args.as_of or today()
    # A failed rating (a blocking check included) issues nothing, so nothing downstream runs on it.
    if not _rate(paths, defs, instance, as_of):
        return 1
    published = _publish(paths, defs, instance)
    reported = _report(paths, defs, instance)
    alerted = _alert(paths, defs, instance, as_of)
    return 0 if published and reported and alerted else 1


def _rate(paths: DataDir, defs, instance, as_of: date) -> bool:
    """One rating run: every closed month is issued oldest first, the open month is rated as a draft."""
    from billing_pipeline.lib.rating.runs import first_month_to_rate, rating_run
    from billing_pipeline.lib.warehouse import connect

    with connect(paths.warehouse, read_only=True) as con:
        plan = rating_run(first_month_to_rate(con), as_of)
    ok = _execute(defs, instance, "rating_job", tags=plan.tags, run_config=plan.run_config)
    ok = _execute(defs, instance, "quota_snapshot_job") and ok
    with connect(paths.warehouse, read_only=True) as con:
        rows = con.execute("""SELECT period, count(*), sum(total_cents) FROM fct_invoices
                              GROUP BY ALL ORDER BY period""").fetchall()
        issued = {r[0] for r in con.execute("SELECT DISTINCT period FROM fct_issued_invoices").fetchall()}
    held = held_periods(paths)
    for period, invoices, total in rows:
        state = "issued" if period in issued else "held" if period in held else "draft"
        print(f"{period}  {invoices:>4} invoices  {total / 100:>14,.2f}  {state}")
    for line in hold_lines(paths):
        print(line)
    return ok


def _publish(paths: DataDir, defs, instance) -> bool:
    """Publish each issued period not yet fully published; with the local Stripe server the demo
    customers then pay; payment events are loaded last."""
    from billing_pipeline.lib.publish.publications import period_counts, periods_to_publish
    from billing_pipeline.lib.warehouse import connect

    with connect(paths.warehouse, read_only=True) as con:
        periods = periods_to_publish(con)
    ok = True
    for period in periods:
        ok = _execute(defs, instance, "publish_job", f"{period}-01") and ok
        with connect(paths.warehouse, read_only=True) as con:
            counts = period_counts(con, period)
        print(f"{period}  stripe: {counts.get('finalized', 0)} published, {counts.get('skipped_zero', 0)} skipped "
              f"(zero total), {counts.get('failed', 0) + counts.get('integrity_error', 0)} failed")
    from billing_pipeline.sample.payments import pay_demo_invoices

    demo = pay_demo_invoices(paths)
    if demo:
        print(f"local Stripe demo: {demo.paid} invoices paid, {demo.declined} declined")
    return _execute(defs, instance, "stripe_events_job") and ok


def _report(paths: DataDir, defs, instance) -> bool:
    """Finance reports for every issued period, after publishing (they show what Stripe holds)."""
    from billing_pipeline.lib.warehouse import connect

    with connect(paths.warehouse, read_only=True) as con:
        periods = [p for (p,) in con.execute("SELECT period FROM fct_issued_periods ORDER BY period").fetchall()]
    ok = True
    for period in periods:
        ok = _execute(defs, instance, "report_job", f"{period}-01") and ok
        print(f"{period}  reports in {paths.reports / period}")
    return ok


def _alert(paths: DataDir, defs, instance, as_of: date) -> bool:
    """Usage alerts for the as-of day, from what rating just wrote; each goes out once per sink."""
    from billing_pipeline.lib.warehouse import connect

    if as_of.isoformat() not in set(_daily_keys()):
        return True
    ok = _execute(defs, instance, "usage_alerts_job", as_of.isoformat())
    with connect(paths.warehouse, read_only=True) as con:
        rows = con.execute("""SELECT sink, count(*) FILTER (status = 'sent'), count(*) FILTER (status = 'pending')
                              FROM alerts.deliveries GROUP BY ALL ORDER BY sink""").fetchall()
    for sink, sent, pending in rows:
        print(f"alerts via {sink}: {sent:,} sent, {pending:,} pending")
    return ok


def _daily_keys() -> list[str]:
    from billing_pipeline.defs.partitions import daily_partitions

    return daily_partitions.get_partition_keys()
