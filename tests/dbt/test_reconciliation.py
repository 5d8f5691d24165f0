"""The reconciliation check catches a break at each link of the chain raw events -> main pass ->
distinct values / segments: the warehouse is rated, one link is damaged by hand, and the check is
run again on its own."""

import json
from datetime import date
from pathlib import Path

import pytest

from billing_pipeline.lib.rating.window import RatingWindow
from tests.dbt import rating_warehouse
from tests.dbt.rating_warehouse import Event, RatingWorld, january_world, run_dbt

CHECK = "assert_usage_reconciles_with_raw_events"
JANUARY_OPEN = RatingWindow(date(2026, 1, 1), date(2026, 2, 1), date(2026, 1, 31))


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> RatingWorld:
    world = january_world(tmp_path_factory.mktemp("reconciliation") / "data")
    run = world.rate(JANUARY_OPEN.first_month, JANUARY_OPEN.as_of)
    assert run.success and run.statuses[f"test.billing.{CHECK}"] == "pass"
    return world


def _mismatches(world: RatingWorld) -> list[dict]:
    """The rows of the check as it was last compiled."""
    compiled = Path(rating_warehouse._target) / "compiled" / "billing" / "tests" / "singular" / f"{CHECK}.sql"
    return world.query(compiled.read_text())


def _broken_links(world: RatingWorld, env: dict[str, str] | None = None) -> set[str]:
    """Runs the check alone and returns the links it reports broken (empty when it passes)."""
    run = run_dbt(["test", "--select", CHECK, "--vars", json.dumps({"warehouse_path": str(world.paths.warehouse)})],
                  {**JANUARY_OPEN.dbt_env(), **(env or {})})
    rows = _mismatches(world)
    assert run.statuses[f"test.billing.{CHECK}"] == ("pass" if not rows else "fail")
    return {row["check_name"] for row in rows}


def _damaged(world: RatingWorld, damage: str, repair: str) -> set[str]:
    world.execute(damage)
    try:
        return _broken_links(world)
    finally:
        world.execute(repair)


def test_an_event_landed_after_rating_breaks_the_link_from_raw_events(world):
    world.land(Event("acme", "api_calls", "7", "2026-01-05 08:00:00", "2026-01-05", event_id="evt-unrated"))
    try:
        assert _broken_links(world) == {"raw events"}
    finally:
        world.execute("delete from raw.usage_events where event_id = 'evt-unrated'")
    assert _broken_links(world) == set()


def test_usage_moved_to_another_account_breaks_the_link_from_raw_events(world):
    move = "update int_usage__daily set account_id = '{to}' where account_id = '{frm}' and metric = 'exports'"
    assert "raw events" in _damaged(world, move.format(frm="acme", to="dora"), move.format(frm="dora", to="acme"))


def test_a_changed_quantity_or_peak_breaks_the_link_from_raw_events(world):
    bump = "update int_usage__daily set quantity_max = quantity_max {op} 1 where account_id = 'beta' and metric = 'seats' and usage_date = '2026-01-18'"
    assert _damaged(world, bump.format(op="+"), bump.format(op="-")) >= {"raw events"}


def test_distinct_values_missing_events_break_the_distinct_values_link(world):
    drop = "update int_usage__distinct_values set event_count = event_count {op} 1 where account_id = 'beta' and distinct_value = 'u3'"
    assert _damaged(world, drop.format(op="-"), drop.format(op="+")) == {"distinct values"}


def test_a_segment_that_lost_its_usage_breaks_the_segments_link(world):
    shift = "update int_usage__segments set event_count = event_count {op} 1 where account_id = 'beta' and metric = 'api_calls' and plan_code = 'growth'"
    assert _damaged(world, shift.format(op="-"), shift.format(op="+")) == {"segments"}


def test_in_a_build_of_new_usage_only_the_changed_days_are_compared_with_the_history_and_still_break(world):
    before = world.query("select max(load_id) as last from raw.usage_changes")[0]["last"]
    world.land(Event("acme", "api_calls", "7", "2026-01-05 08:00:00", "2026-01-05", event_id="evt-unrated-day"))
    changed = {"BILLING_RATING_CHANGED_AFTER_LOAD": str(before)}  # as lib/rating/scope.py passes it
    try:
        assert _broken_links(world, changed) == {"raw events"}  # the history missed the day's new event
        # compared per changed day (a whole-month comparison would name the month)
        assert [(r["account_id"], r["metric"], r["period"]) for r in _mismatches(world)] == [
            ("acme", "api_calls", "2026-01-05")]
    finally:
        world.execute("delete from raw.usage_events where event_id = 'evt-unrated-day'")
    assert _broken_links(world, changed) == set()
