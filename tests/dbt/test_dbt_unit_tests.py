"""The dbt unit tests: billing math at every tier boundary, proration, trials, minimum, discount,
credits and adjustments. They need the models' relations for column types (an incremental model's
own table included), so the warehouse is built first, then `dbt test` runs them."""

import json
from datetime import date

from tests.dbt.rating_warehouse import RatingWorld, run_dbt
from billing_pipeline.lib.rating.window import RatingWindow


def test_every_dbt_unit_test_of_the_pricing_models_passes(tmp_path):
    world = RatingWorld.create(tmp_path / "data", accounts=[("acme", "active")],
                               subscriptions=[("acme", "basic", "2026-01-01", "", "0")])
    window = RatingWindow(date(2026, 1, 1), date(2026, 2, 1), date(2026, 1, 20))
    vars_arg = ["--vars", json.dumps(window.dbt_vars(world.paths.warehouse))]
    assert run_dbt(["build", *vars_arg, "--exclude-resource-type", "unit_test"]).success
    run = run_dbt(["test", *vars_arg, "--select", "test_type:unit"])

    unit_tests = {node: status for node, status in run.statuses.items() if node.startswith("unit_test.")}
    assert run.success, run.with_status("fail", "error")
    assert len(unit_tests) >= 21
    assert set(unit_tests.values()) == {"pass"}
    tested_models = {node.split(".")[2] for node in unit_tests}
    assert tested_models >= {"int_usage_charges__priced", "int_subscription_segments", "int_segment_fees",
                             "int_usage_charges", "int_invoice_lines__charges", "int_invoice_lines__discounts",
                             "int_invoice_lines__adjustments", "fct_credit_balances", "int_plan_charges__effective",
                             "int_charge_tiers__effective"}
