from datetime import date

from billing_pipeline.defs.rating.assets import RATING_OP
from billing_pipeline.lib.rating.runs import first_month_to_rate, rating_run
from billing_pipeline.lib.warehouse import connect
from tests.dbt.rating_warehouse import RatingWorld


def test_the_run_command_rates_from_the_first_subscription_month_through_the_open_one(tmp_path):
    world = RatingWorld.create(tmp_path / "data", accounts=[("acme", "active"), ("beta", "active")],
                               subscriptions=[("acme", "basic", "2026-03-15", "", "0"), ("beta", "basic", "2026-05-01", "", "0")])
    with connect(world.paths.warehouse) as con:
        first = first_month_to_rate(con)
    run = rating_run(first, as_of=date(2026, 6, 2))

    assert first == date(2026, 3, 1)
    assert run.tags == {"dagster/asset_partition_range_start": "2026-03-01", "dagster/asset_partition_range_end": "2026-06-01"}
    assert run.run_config["ops"][RATING_OP]["config"] == {"as_of": "2026-06-02", "grace_days": 3}
