"""What a rating run rebuilds, decided from the record of the last successful build (no dbt here:
tests/dbt/test_incremental_equals_full_refresh.py proves each choice gives a full rebuild's rows)."""

from datetime import date

from billing_pipeline.lib.rating.scope import rating_scope, record_build
from billing_pipeline.lib.rating.window import RatingWindow
from billing_pipeline.lib.warehouse import connect
from tests.dbt.rating_warehouse import Event, RatingWorld

FEBRUARY = RatingWindow(date(2026, 2, 1), date(2026, 3, 1), date(2026, 2, 10))


def _world(tmp_path) -> RatingWorld:
    world = RatingWorld.create(tmp_path / "data", accounts=[("acme", "active")],
                               subscriptions=[("acme", "basic", "2026-01-01", "", "0")])
    world.land(Event("acme", "api_calls", "3", "2026-02-02 10:00:00", "2026-02-02"))
    return world


def _scope(world: RatingWorld, window: RatingWindow = FEBRUARY, full_refresh: bool = False):
    with connect(world.paths.warehouse) as con:
        return rating_scope(con, window, full_refresh)


def _recorded(world: RatingWorld) -> None:
    """As the rating asset does after a build that succeeded."""
    with connect(world.paths.warehouse) as con:
        record_build(con, rating_scope(con, FEBRUARY))


def test_a_run_without_a_record_of_a_successful_build_rebuilds_everything(tmp_path):
    assert _scope(_world(tmp_path)).kind == "all"


def test_a_run_with_nothing_new_since_the_recorded_build_rebuilds_nothing_and_says_since_when(tmp_path):
    world = _world(tmp_path)
    _recorded(world)
    scope = _scope(world)
    assert scope.kind == "nothing" and scope.reason.startswith("nothing new since ") and scope.dbt_args() == []


def test_new_usage_of_an_open_month_rebuilds_only_the_usage_selection(tmp_path):
    world = _world(tmp_path)
    _recorded(world)
    world.land(Event("acme", "api_calls", "5", "2026-02-03 10:00:00", "2026-02-03"))
    scope = _scope(world)
    assert scope.kind == "usage" and scope.dbt_args() == ["--selector", "usage_change"]


def test_new_usage_of_an_issued_month_rebuilds_everything(tmp_path):
    world = _world(tmp_path)
    world.execute("create table main.fct_issued_periods as select '2026-01' as period")
    _recorded(world)
    world.land(Event("acme", "api_calls", "5", "2026-01-30 10:00:00", "2026-02-03"))
    assert _scope(world).kind == "all"


def test_a_changed_catalog_another_as_of_or_a_full_refresh_rebuilds_everything(tmp_path):
    world = _world(tmp_path)
    _recorded(world)
    assert _scope(world, RatingWindow(date(2026, 2, 1), date(2026, 3, 1), date(2026, 2, 11))).kind == "all"
    assert _scope(world, full_refresh=True).kind == "all"
    world.execute("update catalog.plan_charges set unit_price = unit_price + 0.001")
    assert _scope(world).kind == "all"


def test_a_new_ingestion_hold_rebuilds_everything(tmp_path):
    world = _world(tmp_path)
    _recorded(world)
    world.execute("create or replace view raw.period_holds as select '2026-02' as period, 'a reason' as reason")
    assert _scope(world).kind == "all"
