from datetime import datetime, timezone

import dagster as dg
import pytest

from billing_pipeline.defs.rating.assets import RATING_OP
from billing_pipeline.defs.rating.schedules import build_monthly_close_schedule, open_month_rating_schedule


def _context(when: datetime) -> dg.ScheduleEvaluationContext:
    return dg.build_schedule_context(scheduled_execution_time=when)


def test_the_daily_rerate_targets_the_open_month_as_of_the_scheduled_day():
    request = open_month_rating_schedule(_context(datetime(2026, 3, 2, 2, tzinfo=timezone.utc)))
    assert request.partition_key == "2026-03-01"
    assert request.run_config["ops"][RATING_OP]["config"] == {"as_of": "2026-03-02", "grace_days": 3}


def test_the_monthly_close_runs_after_the_grace_period_and_closes_last_month():
    schedule = build_monthly_close_schedule(grace_days=3)
    assert schedule.cron_schedule == "0 3 4 * *"
    request = schedule(_context(datetime(2026, 3, 4, 3, tzinfo=timezone.utc)))
    assert request.partition_key == "2026-02-01"
    assert request.run_key == "close:2026-02"
    assert request.run_config["ops"][RATING_OP]["config"] == {"as_of": "2026-03-04", "grace_days": 3}


def test_a_longer_grace_period_moves_the_close_and_an_off_day_evaluation_skips():
    schedule = build_monthly_close_schedule(grace_days=10)
    assert schedule.cron_schedule == "0 3 11 * *"
    assert schedule(_context(datetime(2026, 1, 11, 3, tzinfo=timezone.utc))).partition_key == "2025-12-01"
    assert isinstance(schedule(_context(datetime(2026, 1, 12, 3, tzinfo=timezone.utc))), dg.SkipReason)
    with pytest.raises(ValueError, match="grace_days"):
        build_monthly_close_schedule(grace_days=28)


def test_a_successful_ingestion_requests_one_rerating_of_the_open_month_and_then_nothing_until_the_next():
    from billing_pipeline.defs.rating.schedules import rating_after_ingestion

    @dg.op
    def landed():
        return 1

    @dg.job(name="ingest_job")
    def ingest_stand_in():  # only the job name and its success matter to the sensor
        landed()

    with dg.DagsterInstance.ephemeral() as instance:
        before = datetime.now(timezone.utc).timestamp() - 1
        assert isinstance(rating_after_ingestion(dg.build_sensor_context(instance=instance, cursor=str(before))), dg.SkipReason)
        assert ingest_stand_in.execute_in_process(instance=instance).success
        context = dg.build_sensor_context(instance=instance, cursor=str(before))
        request = rating_after_ingestion(context)
        today = datetime.now(timezone.utc).date()
        assert request.partition_key == today.replace(day=1).isoformat()
        assert request.run_config["ops"][RATING_OP]["config"] == {"as_of": today.isoformat(), "grace_days": 3}
        assert isinstance(rating_after_ingestion(dg.build_sensor_context(instance=instance, cursor=context.cursor)), dg.SkipReason)
