import json
import os
import re
import time as clock
from datetime import date

import dagster as dg
import pytest

from billing_pipeline.defs.ingest.automation import landed_files_sensor
from billing_pipeline.defs.ingest.checks import (every_line_accounted_for, landed_on_time,
                                                 loaded_rows_meet_expectations, volume_near_trailing_median)
from billing_pipeline.defs.ingest.raw_usage_events import raw_usage_events
from billing_pipeline.lib.ingest.settings import IngestSettings
from billing_pipeline.definitions import defs
from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.lib.warehouse import connect
from tests.conftest import sample_days


@pytest.fixture
def resources(data_dir):
    return {"billing_data": BillingData(data_dir=str(data_dir.root)), "ingest_settings": IngestSettings()}


def materialize_day(resources, day: str) -> dg.MaterializeResult:
    return raw_usage_events(dg.build_asset_context(partition_key=day, resources=resources))


@pytest.fixture
def ingest_job(data_dir, monkeypatch):
    monkeypatch.setenv("BILLING_DATA_DIR", str(data_dir.root))
    return defs().resolve_job_def("ingest_job")


def run_check(job, check, day: str) -> dg.AssetCheckEvaluation:
    """Execute just this check for one partition, in-process, as a run of the ingest job would."""
    result = job.execute_in_process(partition_key=day, op_selection=[check.op.name], raise_on_error=False,
                                    instance=dg.DagsterInstance.ephemeral())
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_materializing_a_day_reports_what_came_in_and_where_it_went(resources):
    materialize_day(resources, "2026-08-28")  # 08-29 re-delivers some of its lines
    meta = materialize_day(resources, "2026-08-29").metadata
    assert meta["lines_read"] == meta["loaded"] + meta["duplicates"] + meta["quarantined"]
    assert meta["dagster/row_count"] == meta["loaded"] > 0
    assert meta["duplicates"] > 0 and meta["quarantined"] > 0
    assert "malformed_json" in meta["quarantined_by_reason"].value
    assert meta["occurred_at_min"] < meta["occurred_at_max"]
    assert meta["bytes"].value > 0 and meta["accounts"] > 0


def test_the_accounting_check_fails_when_a_loaded_row_goes_missing(resources, data_dir, ingest_job):
    materialize_day(resources, "2026-08-29")
    passed = run_check(ingest_job, every_line_accounted_for, "2026-08-29")
    assert passed.passed and re.fullmatch(r"all \d+ file\(s\) add up: [\d,]+ lines read = [\d,]+ loaded \+ [\d,]+ "
                                          r"duplicates \+ [\d,]+ quarantined", passed.description)
    with connect(data_dir.warehouse) as con:
        con.execute("DELETE FROM raw.usage_events WHERE rowid IN (SELECT min(rowid) FROM raw.usage_events)")
    result = run_check(ingest_job, every_line_accounted_for, "2026-08-29")
    assert not result.passed and result.metadata["files_not_adding_up"].value == 1
    assert re.match(r"1 of \d+ file\(s\) do not add up: 2026-08-29/", result.description)


def test_the_expectation_suite_blocks_usage_dated_after_its_landing_day(resources, data_dir, ingest_job):
    materialize_day(resources, "2026-08-29")
    passed = run_check(ingest_job, loaded_rows_meet_expectations, "2026-08-29")
    assert passed.passed and re.fullmatch(r"all \d+ expectations hold on the day's [\d,]+ loaded rows", passed.description)
    with connect(data_dir.warehouse) as con:
        con.execute("""INSERT INTO raw.usage_events SELECT * REPLACE ('future1' AS event_id, TIMESTAMP '2026-09-15 00:00:00' AS occurred_at)
                       FROM raw.usage_events WHERE landing_date = DATE '2026-08-29' LIMIT 1""")
    result = run_check(ingest_job, loaded_rows_meet_expectations, "2026-08-29")
    assert not result.passed
    assert "occurred_at" in result.metadata["failed"].value
    assert re.match(r"1 of \d+ expectations fail on the day's [\d,]+ loaded rows: .*occurred_at", result.description)


def test_freshness_warns_for_a_day_whose_files_landed_after_the_deadline(resources, data_dir, ingest_job):
    day_two, late_day = "2026-08-29", "2026-08-30"  # the generator lands day index 2 two days late
    on_time = run_check(ingest_job, landed_on_time, day_two)
    assert on_time.passed and "before the deadline 2026-08-30 06:00 UTC" in on_time.description
    late = run_check(ingest_job, landed_on_time, late_day)
    assert not late.passed and late.severity == dg.AssetCheckSeverity.WARN
    assert re.fullmatch(r"the first file landed 2026-\S+ \S+ UTC, [\d.]+ h after the deadline 2026-08-31 06:00 UTC",
                        late.description)
    nothing = run_check(ingest_job, landed_on_time, "2026-10-01")  # nothing landed at all
    assert not nothing.passed and nothing.description.startswith("nothing has landed in ")


def test_volume_warns_when_a_day_is_far_below_its_trailing_median(resources, data_dir, ingest_job):
    for day in sample_days()[:5]:
        materialize_day(resources, day.isoformat())
    normal = run_check(ingest_job, volume_near_trailing_median, "2026-09-01")
    assert normal.passed and "within the band" in normal.description
    folder = data_dir.day_folder("2026-09-02")
    for path in folder.iterdir():
        path.unlink()
    (folder / "tiny.ndjson").write_text('{"event_id":"t1","account_id":"acct_0001","metric":"api_calls","occurred_at":"2026-09-02T01:00:00Z"}\n')
    materialize_day(resources, "2026-09-02")
    low = run_check(ingest_job, volume_near_trailing_median, "2026-09-02")
    assert not low.passed and low.metadata["ratio"].value < 0.3
    assert re.fullmatch(r"1 rows loaded, 0\.\d\d x the median of the \d earlier day\(s\) \([\d,]+\): outside the band "
                        r"[\d.]+-[\d.]+", low.description)


def test_the_sensor_requests_a_run_for_new_changed_and_late_files_only(resources, data_dir):
    def tick(cursor=None):
        context = dg.build_sensor_context(cursor=cursor, resources=resources)
        requests = list(landed_files_sensor(context))
        return requests, context.cursor

    first, cursor = tick()
    assert sorted(r.partition_key for r in first if r.job_name == "ingest_job") == [d.isoformat() for d in sample_days()]
    assert [r.job_name for r in first].count("catalog_job") == 1
    assert tick(cursor)[0] == []
    late = data_dir.day_folder("2026-08-28") / "late.ndjson"
    late.write_text('{"event_id":"l1","account_id":"acct_0001","metric":"api_calls","occurred_at":"2026-08-28T01:00:00Z"}\n')
    os.utime(late, (clock.time() + 5, clock.time() + 5))
    again, _ = tick(cursor)
    assert [(r.job_name, r.partition_key) for r in again] == [("ingest_job", "2026-08-28")]
    assert json.loads(cursor).keys() >= {"catalog", "2026-08-28"}
