import shutil

import pytest
import yaml

from billing_pipeline.lib.ingest.catalog import CatalogError, read_catalog, write_catalog
from billing_pipeline.lib.warehouse import connect


def edit_plans(paths, change):
    plans = yaml.safe_load((paths.catalog / "plans.yaml").read_text())
    change(plans)
    (paths.catalog / "plans.yaml").write_text(yaml.safe_dump(plans, sort_keys=False))


def charge(plans, plan, metric):
    return next(c for c in next(p for p in plans["plans"] if p["code"] == plan)["charges"] if c["metric"] == metric)


def append(paths, file, line):
    with (paths.catalog / file).open("a") as handle:
        handle.write(line + "\n")


CASES = {
    "unknown_metric": lambda p: edit_plans(p, lambda y: charge(y, "pro", "api_calls").update(metric="api_callz")),
    "tiers_not_ascending": lambda p: edit_plans(p, lambda y: charge(y, "pro", "lines_reviewed")["tiers"][1].update(up_to=50000)),
    "tier_gap": lambda p: edit_plans(p, lambda y: charge(y, "pro", "lines_reviewed")["tiers"][2].update(up_to=900000)),
    "multiple_open_tiers": lambda p: edit_plans(p, lambda y: charge(y, "pro", "lines_reviewed")["tiers"][0].update(up_to=None)),
    "negative_price": lambda p: edit_plans(p, lambda y: charge(y, "starter", "api_calls").update(unit_price="-0.01")),
    "zero_package_size": lambda p: edit_plans(p, lambda y: charge(y, "pro", "exports").update(package_size=0)),
    "overlapping_subscriptions": lambda p: append(p, "subscriptions.csv", "acct_0001,pro,2026-08-29,,"),
    "unknown_plan": lambda p: append(p, "subscriptions.csv", "acct_0002,platinum,2030-01-01,,"),
    "unknown_account": lambda p: append(p, "credit_grants.csv", "g_x,acct_9999,10.00,2026-08-28,,prepaid"),
}


@pytest.mark.parametrize("rule", CASES)
def test_a_bad_catalog_is_refused_naming_file_line_and_rule(generated_sample, tmp_path, rule):
    paths = type(generated_sample)(tmp_path / "data")
    shutil.copytree(generated_sample.catalog, paths.catalog)
    CASES[rule](paths)
    with pytest.raises(CatalogError) as refused:
        read_catalog(paths.catalog)
    problem = next(p for p in refused.value.problems if p.rule == rule)
    assert problem.line > 0 and problem.file in str(refused.value)
    assert f"{problem.file}:{problem.line}: [{rule}]" in str(refused.value)


def test_an_overlap_names_both_subscription_lines(generated_sample, tmp_path):
    paths = type(generated_sample)(tmp_path / "data")
    shutil.copytree(generated_sample.catalog, paths.catalog)
    append(paths, "subscriptions.csv", "acct_0001,pro,2026-08-29,,")
    with pytest.raises(CatalogError) as refused:
        read_catalog(paths.catalog)
    lines = len((paths.catalog / "subscriptions.csv").read_text().splitlines())
    assert f"subscriptions.csv:{lines}: [overlapping_subscriptions] account acct_0001: overlaps the subscription on line 2" in str(refused.value)


def test_a_refused_catalog_leaves_the_loaded_one_untouched(data_dir):
    with connect(data_dir.warehouse) as con:
        before = con.execute("SELECT count(*) FROM catalog.plan_charges").fetchone()
    edit_plans(data_dir, lambda y: charge(y, "pro", "api_calls").update(unit_price="-1"))
    with pytest.raises(CatalogError):
        read_catalog(data_dir.catalog)
    with connect(data_dir.warehouse) as con:
        assert con.execute("SELECT count(*) FROM catalog.plan_charges").fetchone() == before


def test_tiers_are_stored_with_their_lower_bounds_and_the_open_tier_last(data_dir):
    loaded = read_catalog(data_dir.catalog)
    with connect(data_dir.warehouse) as con:
        write_catalog(con, loaded)
        tiers = con.execute("""SELECT tier_index, from_quantity::VARCHAR, up_to::VARCHAR, unit_price::VARCHAR, flat_fee::VARCHAR
                               FROM catalog.plan_tiers WHERE plan_code = 'pro' AND metric_code = 'lines_reviewed' ORDER BY 1""").fetchall()
    assert tiers == [(1, "0.000000", "100000.000000", "0.000800000", "0.000000"),
                     (2, "100000.000000", "500000.000000", "0.000500000", "5.000000"),
                     (3, "500000.000000", None, "0.000300000", "10.000000")]
