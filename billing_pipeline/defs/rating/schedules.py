"""When rating runs: the open month after each ingestion and daily (quota status stays fresh), each
month once at its close."""

from datetime import date, datetime, timezone

import dagster as dg

from billing_pipeline.defs.rating.assets import rating, rating_run_config
from billing_pipeline.lib.periods import period_key
from billing_pipeline.lib.rating.window import DEFAULT_GRACE_DAYS, month_closing_on

rating_job = dg.define_asset_job(
    "rating_job",
    selection=dg.AssetSelection.assets(rating),
    description="dbt build of the rating models for a month (or a range of months), with their checks.",
)


def _as_of(context: dg.ScheduleEvaluationContext) -> date:
    return context.scheduled_execution_time.date()


@dg.schedule(job=rating_job, cron_schedule="0 2 * * *", execution_timezone="UTC",
             description="Re-rates the open month every day at 02:00 UTC, after ingestion, so quota status is fresh.")
def open_month_rating_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    as_of = _as_of(context)
    return dg.RunRequest(run_key=f"open:{as_of}", partition_key=period_key(as_of), run_config=rating_run_config(as_of))


def build_monthly_close_schedule(grace_days: int = DEFAULT_GRACE_DAYS) -> dg.ScheduleDefinition:
    """The monthly close: rates last month a final time and issues it, grace_days into the new month."""
    if not 0 <= grace_days <= 27:
        raise ValueError(f"grace_days must be 0-27 so the close falls on a day every month has, got {grace_days}")

    @dg.schedule(name="monthly_close_schedule", job=rating_job, cron_schedule=f"0 3 {grace_days + 1} * *",
                 execution_timezone="UTC",
                 description=f"Closes and issues last month on day {grace_days + 1} at 03:00 UTC, "
                             f"after a {grace_days}-day grace period for late events.")
    def monthly_close_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        as_of = _as_of(context)
        month = month_closing_on(as_of, grace_days)
        if month is None:
            return dg.SkipReason(f"no month closes on {as_of}")
        return dg.RunRequest(run_key=f"close:{month:%Y-%m}", partition_key=period_key(month),
                             run_config=rating_run_config(as_of, grace_days))

    return monthly_close_schedule


monthly_close_schedule = build_monthly_close_schedule()


@dg.sensor(job=rating_job, minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Re-rates the open month within minutes of any successful ingestion (sensor, UI or backfill), "
                       "so quota status and the quota snapshot follow the landed files; the rating is incremental, so "
                       "it costs what was ingested. Several ingestions since the last tick make one rating run.")
def rating_after_ingestion(context: dg.SensorEvaluationContext):
    since = float(context.cursor) if context.cursor else datetime.now(timezone.utc).timestamp()
    records = context.instance.get_run_records(
        dg.RunsFilter(job_name="ingest_job", statuses=[dg.DagsterRunStatus.SUCCESS],
                      updated_after=datetime.fromtimestamp(since, timezone.utc)), limit=1000)
    if not records:
        context.update_cursor(str(since))
        return dg.SkipReason("no ingestion succeeded since the last rating request")
    latest = max(record.update_timestamp.timestamp() for record in records)
    context.update_cursor(str(latest))
    as_of = datetime.now(timezone.utc).date()
    return dg.RunRequest(run_key=f"after-ingest:{latest}", partition_key=period_key(as_of), run_config=rating_run_config(as_of))
