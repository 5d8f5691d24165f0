"""When alerts run: right after each successful rating run, for that run's as_of day.

A sensor on rating_job's success rather than a fixed 02:30 schedule: alerts then always read the
quota status the rating just wrote, and a rating run that fails (a blocking dbt test included: the
rating asset fails then) triggers no alerts, so a period whose rating is wrong sends none.
"""

import dagster as dg

from billing_pipeline.defs.alert.assets import usage_alerts_job
from billing_pipeline.defs.partitions import daily_partitions
from billing_pipeline.defs.rating.assets import RATING_OP
from billing_pipeline.defs.rating.schedules import rating_job
from billing_pipeline.lib.rating.window import today_utc


def alerts_request(rating_run: dg.DagsterRun) -> dg.RunRequest | dg.SkipReason:
    """The alerts run for a finished rating run: the evaluation day is the rating's as_of."""
    config = rating_run.run_config.get("ops", {}).get(RATING_OP, {}).get("config", {})
    day = config.get("as_of") or today_utc().isoformat()
    if not daily_partitions.has_partition_key(day):
        return dg.SkipReason(f"rating run {rating_run.run_id} is as of {day}, which is not an alert partition")
    return dg.RunRequest(run_key=f"after-rating:{rating_run.run_id}", partition_key=day,
                         tags={"billing/rating_run_id": rating_run.run_id})


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[rating_job], request_job=usage_alerts_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs the usage alerts for a rating run's as_of day once that run succeeded (blocking checks passed).",
)
def alerts_after_rating(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
    return alerts_request(context.dagster_run)
