"""Landed files against issued months, with real dbt closes: an event is billed in its UTC period,
a file of an issued month that changes or disappears keeps its billed rows and holds the next close
until acknowledged or landed again, and a failed check holds only the periods it touches."""

import json
from datetime import date
from decimal import Decimal

import pytest

from billing_pipeline.lib.ingest.issued_files import NothingToAcknowledge, acknowledge
from billing_pipeline.lib.ingest.period_holds import CheckHold, held_periods, replace_check_holds
from billing_pipeline.lib.ingest.usage_events import ingest_day
from billing_pipeline.lib.warehouse import connect
from tests.dbt.rating_warehouse import RatingWorld

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def line(event_id: str, quantity: int, occurred_at: str) -> str:
    return json.dumps({"event_id": event_id, "account_id": "acme", "metric": "api_calls", "quantity": quantity,
                       "occurred_at": occurred_at})


@pytest.fixture
def world(tmp_path) -> RatingWorld:
    """acme on basic (1,000 calls included, 0.01 each after), usage landed as files in three day folders."""
    world = RatingWorld.create(tmp_path / "data", accounts=[("acme", "active")],
                               subscriptions=[("acme", "basic", "2026-01-01", "", "0")])
    land(world, "2026-01-10/usage.ndjson", line("e1", 1500, "2026-01-10T10:00:00Z"), line("e2", 500, "2026-01-10T11:00:00Z"))
    land(world, "2026-01-12/resent.ndjson", line("e1", 9, "2026-01-10T10:00:00Z"))  # a conflicting copy: the first counts
    land(world, "2026-02-03/usage.ndjson", line("f1", 1200, "2026-02-03T10:00:00Z"))
    ingest(world, "2026-01-10", "2026-01-12", "2026-02-03")
    return world


def land(world: RatingWorld, rel: str, *lines: str) -> None:
    path = world.paths.landing_usage / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(text + "\n" for text in lines))


def ingest(world: RatingWorld, *days: str) -> None:
    with connect(world.paths.warehouse) as con:
        for day in days:
            ingest_day(con, world.paths.landing_usage, date.fromisoformat(day))


def issued(world: RatingWorld) -> list[str]:
    return [row["period"] for row in world.query("select period from fct_issued_periods order by period")]


def holds(world: RatingWorld) -> list[tuple]:
    with connect(world.paths.warehouse) as con:
        return [(hold.period, row.reason, row.location) for hold in held_periods(con) for row in hold.rows]


def billed_usage(world: RatingWorld, period: str) -> Decimal | None:
    rows = world.query("select quantity from fct_invoice_lines where period = ? and line_type = 'usage' "
                       "and metric = 'api_calls'", period)
    return sum((row["quantity"] for row in rows), Decimal(0)) if rows else None


def test_an_event_in_its_producers_local_date_folder_is_billed_in_its_utc_period(tmp_path):
    world = RatingWorld.create(tmp_path / "data", accounts=[("acme", "active")],
                               subscriptions=[("acme", "basic", "2026-01-01", "", "0")])
    land(world, "2026-01-31/usage.ndjson", line("jan-1", 4, "2026-01-31T10:00:00Z"),
         line("tz-edge-1", 1, "2026-01-31T23:30:00-10:00"))  # 09:30 UTC on February 1
    ingest(world, "2026-01-31")
    assert world.rate(JAN, date(2026, 3, 10), last_month=FEB).success
    assert issued(world) == ["2026-01", "2026-02"]
    assert (billed_usage(world, "2026-01"), billed_usage(world, "2026-02")) == (Decimal(4), Decimal(1))


def test_a_rewritten_file_of_an_issued_month_keeps_its_billed_rows_and_holds_the_next_close_until_acknowledged(world):
    assert world.rate(JAN, date(2026, 2, 10), last_month=FEB).success and issued(world) == ["2026-01"]
    before = world.query("select * exclude (ingested_at) from raw.usage_events order by all")

    land(world, "2026-01-10/usage.ndjson", line("e1", 9999, "2026-01-10T10:00:00Z"))
    ingest(world, "2026-01-10")
    assert world.query("select * exclude (ingested_at) from raw.usage_events order by all") == before
    assert world.query("select file_status from raw.ingest_files where source_file = '2026-01-10/usage.ndjson'") == [
        {"file_status": "changed_after_issue"}]
    assert holds(world) == [("2026-02", "issued_file_changed", "2026-01-10/usage.ndjson:-")]

    assert world.rate(FEB, date(2026, 3, 10)).success
    assert issued(world) == ["2026-01"]  # February is rated, not issued
    assert billed_usage(world, "2026-02") == Decimal(1200)

    with connect(world.paths.warehouse) as con:
        acknowledge(con, "2026-01-10/usage.ndjson", "producer re-sent a partial export")
        with pytest.raises(NothingToAcknowledge):
            acknowledge(con, "2026-01-10/usage.ndjson", "twice")
    assert holds(world) == []
    ingest(world, "2026-01-10")  # the acknowledged content is not a new change
    assert holds(world) == [] and world.query("select * exclude (ingested_at) from raw.usage_events order by all") == before
    assert world.rate(FEB, date(2026, 3, 10)).success and issued(world) == ["2026-01", "2026-02"]


def test_a_deleted_file_of_an_issued_month_keeps_which_copy_counts_and_landing_it_again_lifts_the_hold(world):
    assert world.rate(JAN, date(2026, 2, 10), last_month=FEB).success and issued(world) == ["2026-01"]
    original = (world.paths.landing_usage / "2026-01-10" / "usage.ndjson").read_bytes()
    loaded = "select event_id, quantity, source_file from raw.usage_events_loaded order by all"
    before = world.query(loaded)

    (world.paths.landing_usage / "2026-01-10" / "usage.ndjson").unlink()
    ingest(world, "2026-01-10", "2026-01-12")
    # e1 still counts from the billed file: the conflicting copy landed on the 12th is not loaded instead
    assert world.query(loaded) == before
    assert world.query("select reason from raw.quarantine where event_id = 'e1'") == [{"reason": "conflicting_event_id"}]
    assert world.query("select file_status, lines_read from raw.ingest_files where source_file = '2026-01-10/usage.ndjson'") == [
        {"file_status": "deleted_after_issue", "lines_read": 2}]
    assert holds(world) == [("2026-02", "issued_file_changed", "2026-01-10/usage.ndjson:-")]

    (world.paths.landing_usage / "2026-01-10" / "usage.ndjson").write_bytes(original)
    ingest(world, "2026-01-10")
    assert holds(world) == [] and world.query(loaded) == before
    assert world.query("select change, resolution from raw.issued_file_changes") == [{"change": "deleted", "resolution": "restored"}]


def test_a_new_file_in_a_landing_day_of_an_issued_month_is_not_read_and_holds_the_next_close(world):
    assert world.rate(JAN, date(2026, 2, 10), last_month=FEB).success
    land(world, "2026-01-20/forgotten.ndjson", line("late-1", 50, "2026-01-20T10:00:00Z"))
    ingest(world, "2026-01-20")
    assert world.query("select file_status, lines_read from raw.ingest_accounting where source_file = '2026-01-20/forgotten.ndjson'") == [
        {"file_status": "added_after_issue", "lines_read": 1}]
    assert world.query("select count(*) as n from raw.usage_events where event_id = 'late-1'") == [{"n": 0}]
    assert holds(world) == [("2026-02", "issued_file_changed", "2026-01-20/forgotten.ndjson:-")]
    # landed in today's folder instead, its event is a late event of January, billed as an adjustment
    (world.paths.landing_usage / "2026-01-20" / "forgotten.ndjson").rename(world.paths.landing_usage / "2026-02-03" / "forgotten.ndjson")
    ingest(world, "2026-01-20", "2026-02-03")
    assert holds(world) == []
    assert world.rate(FEB, date(2026, 3, 10)).success and issued(world) == ["2026-01", "2026-02"]
    assert world.query("select adjusts_period from fct_invoice_lines where period = '2026-02' and line_type = 'adjustment'") == [
        {"adjusts_period": "2026-01"}]


def test_a_failed_check_holds_only_its_periods_and_every_earlier_month_is_issued(world):
    land(world, "2026-03-02/usage.ndjson", line("m1", 10, "2026-03-02T10:00:00Z"))
    ingest(world, "2026-03-02")
    with connect(world.paths.warehouse) as con:
        replace_check_holds(con, "every_line_accounted_for", date(2026, 3, 2),
                            [CheckHold(("2026-03",), "2026-03-02/usage.ndjson", None, "1 line read, 0 loaded")])
    assert world.rate(JAN, date(2026, 4, 10), last_month=MAR).success
    assert issued(world) == ["2026-01", "2026-02"]
    assert world.query("select period, is_held, closes_now from int_billing_periods order by period") == [
        {"period": "2026-01", "is_held": False, "closes_now": True}, {"period": "2026-02", "is_held": False, "closes_now": True},
        {"period": "2026-03", "is_held": True, "closes_now": False}]
    assert billed_usage(world, "2026-03") == Decimal(10)  # rated as a draft all the same
