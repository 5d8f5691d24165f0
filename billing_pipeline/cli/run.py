"""`billing-pipeline run`: every job of the pipeline on what is due, in the asset graph's order.

The order comes from the asset graph (lib/job_order.py); this module only says, for each job, what
is due today (which days, months or periods) and how to report it. A job whose run fails holds
back the jobs downstream of it; everything else still runs.
"""

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from billing_pipeline.cli import run_record
from billing_pipeline.cli.common import data_dir, today
from billing_pipeline.cli.console import Console, RunLog
from billing_pipeline.cli.ingest_summary import (days_to_ingest, held_periods, hold_lines, ingest_failed, ingest_summary_lines,
                                                  landed_days)
from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.data_start import BadStartDate, data_start
from billing_pipeline.lib.run_lock import FolderBusy, run_lock


class Refused(Exception):
    """An operator mistake, caught before anything ran: one line, exit code 2."""


class NotReady(Exception):
    """A step cannot run as configured (no Stripe key, say): one line, and the steps downstream wait."""


@dataclass(frozen=True)
class Launch:
    """One run of a job: its partition (or range, through tags) and run config."""

    label: str
    partition_key: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    run_config: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    launch: Launch
    success: bool
    blocking_failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False  # Dagster turned a Ctrl-C or SIGTERM into DagsterExecutionInterruptedError


@dataclass
class Context:
    paths: DataDir
    as_of: date
    started_at: datetime
    console: Console
    stripe: str | None = None  # where publishing goes, once asked
    full_refresh: bool = False  # read every landed file again and rebuild the incremental models


@dataclass(frozen=True)
class Step:
    """What is due for one job, and what to print once its runs are done."""

    due: Callable[[Context], list[Launch]]
    report: Callable[[Context, list[Outcome]], None]
    title: str
    # Whether a run did its job; by default, the run succeeded. (Ingestion overrides it: a failed
    # check holds only the periods it touches, so the steps after it still run.)
    succeeded: Callable[[Any], bool] = lambda result: result.success


def _warehouse(ctx: Context):
    from billing_pipeline.lib.warehouse import connect

    return connect(ctx.paths.warehouse, read_only=True)


def _once(ctx: Context) -> list[Launch]:
    return [Launch("")]


def _landed_days(ctx: Context) -> list[Launch]:
    """The days with a new, changed or removed file; every landed day, each file read again, on a full refresh."""
    if ctx.full_refresh:
        reread = {"ops": {"raw_usage_events": {"config": {"reread": True}}}}
        return [Launch(day, day, run_config=reread) for day in landed_days(ctx.paths)]
    return [Launch(day, day) for day in days_to_ingest(ctx.paths)]


def _rating_window(ctx: Context) -> list[Launch]:
    from billing_pipeline.lib.rating.runs import first_month_to_rate, rating_run

    with _warehouse(ctx) as con:
        plan = rating_run(first_month_to_rate(con), ctx.as_of, full_refresh=ctx.full_refresh)
    start, end = plan.tags["dagster/asset_partition_range_start"], plan.tags["dagster/asset_partition_range_end"]
    return [Launch(f"{start[:7]}..{end[:7]} as of {ctx.as_of}", tags=plan.tags, run_config=plan.run_config)]


def _stripe(ctx: Context) -> None:
    """Name the Stripe account a run talks to before it does, once; without a usable one, nothing
    is published or read from Stripe."""
    from billing_pipeline.lib.publish.stripe_resource import StripeNotConfigured, StripeResource

    if ctx.stripe is None:
        try:
            ctx.stripe = StripeResource().target().describe()
        except StripeNotConfigured as problem:
            raise NotReady(f"not publishing: {problem}") from None
        ctx.console.line(f"publishing to {ctx.stripe}")


def _periods_to_publish(ctx: Context) -> list[Launch]:
    from billing_pipeline.lib.publish.publications import periods_to_publish

    _stripe(ctx)
    with _warehouse(ctx) as con:
        return [Launch(period, f"{period}-01") for period in periods_to_publish(con)]


def _payment_events(ctx: Context) -> list[Launch]:
    _stripe(ctx)
    return _once(ctx)


def _reports_due(ctx: Context) -> list[Launch]:
    """The issued periods whose reports are missing or were written from data that changed since."""
    from billing_pipeline.lib.publish.issued import issued_periods
    from billing_pipeline.lib.report.pack import reports_current

    with _warehouse(ctx) as con:
        return [Launch(period, f"{period}-01") for period in issued_periods(con)
                if ctx.full_refresh or not reports_current(con, period, ctx.paths.reports)]


def _as_of_day(ctx: Context) -> list[Launch]:
    return [Launch(ctx.as_of.isoformat(), ctx.as_of.isoformat())]


def _report_nothing(ctx: Context, outcomes: list[Outcome]) -> None:
    pass


def _report_ingest(ctx: Context, outcomes: list[Outcome]) -> None:
    done = sum(o.success for o in outcomes)
    ctx.console.line(f"ingested {done}/{len(outcomes)} landing days into {ctx.paths.warehouse}")
    for line in ingest_summary_lines(ctx.paths):
        ctx.console.line(line)


def _report_rating(ctx: Context, outcomes: list[Outcome]) -> None:
    from billing_pipeline.lib.money import money_text

    with _warehouse(ctx) as con:
        rows = con.execute(
            """SELECT i.period, count(*), sum(i.total_cents), i.currency, min(c.minor_unit_exponent),
                      i.period IN (SELECT period FROM fct_issued_periods)
               FROM fct_invoices AS i JOIN catalog.currencies AS c USING (currency)
               GROUP BY i.period, i.currency ORDER BY i.period""").fetchall()
    held = held_periods(ctx.paths)
    for period, invoices, total, currency, exponent, issued in rows:
        state = "issued" if issued else "held" if period in held else "draft"
        ctx.console.line(f"{period}  {invoices:>4} invoices  {money_text(total, exponent, currency):>18}  {state}")
    for line in hold_lines(ctx.paths):
        ctx.console.line(line)


def _report_publish(ctx: Context, outcomes: list[Outcome]) -> None:
    from billing_pipeline.lib.publish.publications import period_counts

    with _warehouse(ctx) as con:
        for outcome in outcomes:
            counts = period_counts(con, outcome.launch.label)
            ctx.console.line(f"{outcome.launch.label}  stripe: {counts.get('finalized', 0)} published, "
                             f"{counts.get('skipped_zero', 0)} skipped (zero total), "
                             f"{counts.get('failed', 0) + counts.get('integrity_error', 0)} failed")


def _report_payments(ctx: Context, outcomes: list[Outcome]) -> None:
    with _warehouse(ctx) as con:
        counts = dict(con.execute("SELECT payment_status, count(*) FROM publish.invoice_payment_status "
                                  "WHERE publication_status = 'finalized' GROUP BY ALL").fetchall())
    if counts:
        ctx.console.line("payments: " + ", ".join(f"{n:,} {status.replace('_', ' ')}" for status, n in sorted(counts.items())))


def _report_reports(ctx: Context, outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if outcome.success:
            ctx.console.line(f"{outcome.launch.label}  reports in {ctx.paths.reports / outcome.launch.label}")


def _report_alerts(ctx: Context, outcomes: list[Outcome]) -> None:
    with _warehouse(ctx) as con:
        rows = con.execute(
            """SELECT sink, count(*) FILTER (status = 'sent' AND sent_at >= ?), count(*) FILTER (status = 'pending')
               FROM alerts.deliveries GROUP BY ALL ORDER BY sink""", [ctx.started_at]).fetchall()
    for sink, sent, pending in rows:
        ctx.console.line(f"alerts via {sink}: {sent:,} sent by this run, {pending:,} pending")


# What each job does on a run; their order is the asset graph's (lib/job_order.py).
STEPS: dict[str, Step] = {
    "catalog_job": Step(_once, _report_nothing, "catalog"),
    "ingest_job": Step(_landed_days, _report_ingest, "ingest", lambda result: not ingest_failed(result)),
    "rating_job": Step(_rating_window, _report_rating, "rating"),
    "quota_snapshot_job": Step(_once, _report_nothing, "quota snapshot"),
    "publish_job": Step(_periods_to_publish, _report_publish, "publish to Stripe"),
    "stripe_events_job": Step(_payment_events, _report_payments, "Stripe payment events"),
    "report_job": Step(_reports_due, _report_reports, "finance reports"),
    "usage_alerts_job": Step(_as_of_day, _report_alerts, "usage alerts"),
}


def _instance():
    import os

    import dagster as dg

    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def _execute(defs, instance, job: str, launch: Launch, log: RunLog) -> Outcome:
    """One run in-process. Dagster's console logger stays quiet; failures and their traces go to
    the run log, and a line each to the console."""
    with log.capturing():
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance, partition_key=launch.partition_key, raise_on_error=False, tags=launch.tags or None,
            run_config={**launch.run_config, "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})
    outcome = Outcome(launch, STEPS[job].succeeded(result))
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            text = f"check {evaluation.check_name}: {evaluation.description or 'failed'}"
            (outcome.blocking_failures if evaluation.severity.value == "ERROR" else outcome.warnings).append(text)
    for event in result.all_events:
        if event.is_step_failure:
            error, failure = event.step_failure_data.error, event.step_failure_data.user_failure_data
            outcome.interrupted = outcome.interrupted or error.cls_name == "DagsterExecutionInterruptedError"
            # A dg.Failure carries the operator's message (a catalog's problem list, say); anything
            # else is a bug, whose message is all the console gets: its trace goes to the run log.
            outcome.errors.append((failure.description if failure and failure.description else error.message).strip())
            log.write(f"{job} {launch.label}: step {event.step_key} failed\n{error.to_string()}")
    log.write(f"{job} {launch.label}: run {result.run_id} {'succeeded' if result.success else 'failed'}")
    return outcome


def _wait_for_the_warehouse(paths: DataDir, console: Console, patience_s: float = 1800) -> None:
    """Wait while another process (the dbt build of a run that was killed) still writes the warehouse."""
    import time

    from billing_pipeline.lib.warehouse import warehouse_holder

    deadline, told = time.monotonic() + patience_s, None
    while (pid := warehouse_holder(paths.warehouse)) is not None:
        if time.monotonic() > deadline:
            raise Refused(f"the warehouse {paths.warehouse} is still held by process {pid}; stop it, then run again")
        if pid != told:
            console.line(f"waiting for process {pid} to release the warehouse (a dbt build left by a stopped run?)")
            told = pid
        time.sleep(1)


def _validated_as_of(as_of: date | None, paths: DataDir) -> date:
    now = today()
    as_of = as_of or now
    if as_of > now:
        raise Refused(f"--as-of {as_of} is after today ({now}, UTC): months that have not happened are never issued")
    try:
        start = data_start(paths, _configured_start())
    except BadStartDate as error:
        raise Refused(str(error)) from None
    if as_of < start:
        raise Refused(f"--as-of {as_of} is before the first data ({start}, the first subscription's month)")
    return as_of


def _configured_start() -> str | None:
    import os

    from billing_pipeline.lib.data_start import START_DATE_VARIABLE

    return os.environ.get(START_DATE_VARIABLE)


def _load_definitions(console: Console):
    from billing_pipeline.lib.rating.project import prepare_manifest

    console.line("loading the pipeline's definitions")
    prepare_manifest()  # Definitions need the dbt manifest; it is never parsed at import
    from billing_pipeline.definitions import defs

    return defs()


def _run_steps(ctx: Context, log: RunLog) -> bool:
    from billing_pipeline.lib.job_order import downstream_jobs, job_order

    defs, instance = _load_definitions(ctx.console), _instance()
    downstream = downstream_jobs(defs, STEPS)
    held: dict[str, str] = {}  # job -> the failed job holding it back
    ok = True
    for job in job_order(defs, STEPS):
        step = STEPS[job]
        if job in held:
            ctx.console.line(f"{step.title}: not run, because {held[job]} failed")
            continue
        try:
            launches = step.due(ctx)
        except NotReady as reason:
            ctx.console.problem(str(reason))
            ok = False
            for other in downstream[job]:
                held.setdefault(other, step.title)
            continue
        if not launches:
            ctx.console.line(f"{step.title}: nothing due")
            continue
        outcomes = []
        with ctx.console.progress(step.title, len(launches)) as progress:
            for launch in launches:
                progress.start(launch.label)
                outcome = _execute(defs, instance, job, launch, log)
                if outcome.interrupted:
                    raise KeyboardInterrupt(ctx.console.stopped or "a signal")
                ctx.console.raise_if_stopped()
                outcomes.append(outcome)
                progress.advance(launch.label)
                for text in outcome.blocking_failures + outcome.errors:
                    ctx.console.problem(f"{step.title} {launch.label}: {text}")
                for text in outcome.warnings:
                    ctx.console.line(f"  {step.title} {launch.label}: {text} (warning)")
        step.report(ctx, outcomes)
        if not all(o.success for o in outcomes):
            ok = False
            for other in downstream[job]:
                held.setdefault(other, step.title)
    return ok


def run(args: argparse.Namespace) -> int:
    paths = data_dir(args)
    console = Console()
    try:
        if not (paths.catalog / "plans.yaml").is_file():
            raise Refused(f"no catalog at {paths.catalog / 'plans.yaml'}: is {paths.root} the data folder? "
                          "(`billing-pipeline generate` writes a sample there)")
        as_of = _validated_as_of(args.as_of, paths)
        with run_lock(paths.root):
            # Decided before Dagster and dbt load: a run with nothing new costs a listing of the inputs.
            since = None if args.full_refresh else run_record.nothing_new_since(paths, as_of)
            if since is not None:
                console.line(f"nothing new since {since:%Y-%m-%d %H:%M:%S} UTC (the last complete run, as of {as_of}): "
                             "no landed file, catalog, setting or code changed and nothing is pending")
                return 0
            run_record.forget(paths)
            _wait_for_the_warehouse(paths, console)
            with RunLog.open(paths) as log:
                console.line(f"billing-pipeline run on {paths.root} as of {as_of} (log: {log.path})")
                ctx = Context(paths, as_of, datetime.now(timezone.utc), console, full_refresh=args.full_refresh)
                with console.interruptible():
                    ok = _run_steps(ctx, log)
            if ok:
                run_record.write_record(paths, as_of, datetime.now(timezone.utc))
    except (Refused, FolderBusy) as refused:
        console.problem(str(refused))
        return 2
    except KeyboardInterrupt as stop:
        console.problem(f"stopped by {stop or 'an interrupt'}: what finished is kept, the step in flight was rolled back; "
                        "run again to carry on")
        return 130
    return 0 if ok else 1
