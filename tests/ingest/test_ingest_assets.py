import json
import os
import re
import time as clock
from datetime import date

import dagster as dg
import pytest

from billing_pipeline.defs.ingest.automation import landed_files_sensor
from billing_pipeline.defs.ingest.checks import (day_meets_expectations, every_line_accounted_for, landed_on_time,
                                                 volume_near_trailing_median)
from billing_pipeline.defs.ingest.raw_usage_events import raw_usage_events
from billing_pipeline.lib.ingest.settings import IngestSettings
from billing_pipeline.definitions import defs
from billing_pipeline.lib.ingest.period_holds import held_periods
from billing_pipeline.lib.warehouse import BillingData, connect
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


def test_materializing_a_day_reports_what_came_in_and_where_it_went(resources, data_dir):
    materialize_day(resources, "2026-08-28")  # 08-29 re-delivers some of its lines
    (data_dir.landing_usage / "latest").mkdir()
    meta = materialize_day(resources, "2026-08-29").metadata
    assert meta["lines_read"] == meta["loaded"] + meta["duplicates"] + meta["quarantined"]
    assert meta["dagster/row_count"] == meta["loaded"] > 0
    assert meta["duplicates"] > 0 and meta["quarantined"] > 0
    assert "malformed_json" in meta["quarantined_by_reason"].value
    assert "usage-2026-08-29-a.ndjson | ok" in meta["file_accounting"].value
    assert "| latest/ | not_a_day_folder |" in meta["landing_problems"].value
    assert meta["occurred_at_min"] < meta["occurred_at_max"]
    assert meta["bytes"].value > 0 and meta["accounts"] > 0


def test_the_accounting_check_holds_the_periods_of_a_file_that_does_not_add_up_until_it_does(resources, data_dir, ingest_job):
    materialize_day(resources, "2026-08-29")
    passed = run_check(ingest_job, every_line_accounted_for, "2026-08-29")
    assert passed.passed and re.fullmatch(r"all \d+ file\(s\) add up: [\d,]+ lines read = [\d,]+ loaded \+ [\d,]+ "
                                          r"duplicates \+ [\d,]+ quarantined", passed.description)
    with connect(data_dir.warehouse) as con:
        con.execute("DELETE FROM raw.usage_events WHERE rowid IN (SELECT min(rowid) FROM raw.usage_events)")
    result = run_check(ingest_job, every_line_accounted_for, "2026-08-29")
    assert not result.passed and result.metadata["files_not_adding_up"].value == 1
    assert re.match(r"1 of \d+ file\(s\) do not add up: 2026-08-29/.*; holding 2026-08$", result.description)
    with connect(data_dir.warehouse, read_only=True) as con:
        [hold] = held_periods(con)
        periods = {p for (p,) in con.execute("SELECT DISTINCT strftime(occurred_at, '%Y-%m') FROM raw.usage_events "
                                             "WHERE source_file = '2026-08-29/usage-2026-08-29-a.ndjson'").fetchall()}
    # only the periods the file's rows belong to: September, which other days' rows reach, is not held
    assert periods == {"2026-08"} and hold.period == "2026-08"
    assert [(r.reason, r.location) for r in hold.rows] == [("every_line_accounted_for", "2026-08-29/usage-2026-08-29-a.ndjson:-")]
    materialize_day(resources, "2026-08-29")
    assert run_check(ingest_job, every_line_accounted_for, "2026-08-29").passed
    with connect(data_dir.warehouse, read_only=True) as con:
        assert held_periods(con) == []


def test_a_file_mostly_quarantined_holds_the_periods_of_its_rows_and_names_its_first_bad_line(resources, data_dir, ingest_job):
    folder = data_dir.day_folder("2026-08-30")
    good = '{"event_id":"g%d","account_id":"acct_0001","metric":"api_calls","occurred_at":"2026-08-30T10:00:00Z"}'
    (folder / "garbage.ndjson").write_text("\n".join([good % i for i in range(60)] + ["{cut"] * 60) + "\n")
    materialize_day(resources, "2026-08-30")
    result = run_check(ingest_job, day_meets_expectations, "2026-08-30")
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["failed"].value == "quarantined_share"
    with connect(data_dir.warehouse, read_only=True) as con:
        [hold] = held_periods(con)
    assert hold.period == "2026-08"
    [row] = hold.rows
    assert (row.reason, row.location) == ("day_meets_expectations", "2026-08-30/garbage.ndjson:61")
    assert "50% of 120 lines quarantined as malformed_json" in row.detail


def test_an_account_that_goes_silent_warns_without_holding_anything(resources, data_dir, ingest_job):
    for day in sample_days()[:4]:
        materialize_day(resources, day.isoformat())
    with connect(data_dir.warehouse, read_only=True) as con:
        [(busiest,)] = con.execute("""SELECT account_id FROM raw.usage_events GROUP BY ALL
                                      ORDER BY count(*) DESC LIMIT 1""").fetchall()
    folder = data_dir.day_folder("2026-09-01")
    for path in [*folder.glob("*.ndjson"), *folder.glob("*.csv")]:
        path.write_text("\n".join(line for line in path.read_text().splitlines() if busiest not in line) + "\n")
    materialize_day(resources, "2026-09-01")
    result = run_check(ingest_job, day_meets_expectations, "2026-09-01")
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert "silent_accounts" in result.metadata["failed"].value
    with connect(data_dir.warehouse, read_only=True) as con:
        assert held_periods(con) == []


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


def test_the_sensor_requests_a_run_for_new_changed_late_and_nested_files_and_for_changes_outside_day_folders(resources, data_dir):
    def tick(cursor=None):
        context = dg.build_sensor_context(cursor=cursor, resources=resources)
        requests = list(landed_files_sensor(context))
        return requests, context.cursor

    def later(path):
        os.utime(path, (clock.time() + 5, clock.time() + 5))

    first, cursor = tick()
    assert sorted(r.partition_key for r in first if r.job_name == "ingest_job") == [d.isoformat() for d in sample_days()]
    assert [r.job_name for r in first].count("catalog_job") == 1
    assert tick(cursor)[0] == []
    late = data_dir.day_folder("2026-08-28") / "late.ndjson"
    late.write_text('{"event_id":"l1","account_id":"acct_0001","metric":"api_calls","occurred_at":"2026-08-28T01:00:00Z"}\n')
    later(late)
    again, cursor = tick(cursor)
    assert [(r.job_name, r.partition_key) for r in again] == [("ingest_job", "2026-08-28")]
    nested = data_dir.day_folder("2026-08-29") / "sub"
    nested.mkdir()
    (nested / "late.ndjson").write_text("{}\n")
    again, cursor = tick(cursor)
    assert [(r.job_name, r.partition_key) for r in again] == [("ingest_job", "2026-08-29")]
    (data_dir.landing_usage / "latest").mkdir()
    again, cursor = tick(cursor)
    assert [(r.job_name, r.partition_key) for r in again] == [("ingest_job", sample_days()[-1].isoformat())]
    assert json.loads(cursor).keys() >= {"catalog", "2026-08-28", "outside"}
