import shutil
from decimal import Decimal

import dagster as dg
import pytest
import yaml

from billing_pipeline.definitions import defs
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
    assert tiers == [(1, "0.000000000", "100000.000000000", "0.000800000000", "0.000000000000"),
                     (2, "100000.000000000", "500000.000000000", "0.000500000000", "5.000000000000"),
                     (3, "500000.000000000", None, "0.000300000000", "10.000000000000")]


def copy_catalog(generated_sample, tmp_path):
    paths = type(generated_sample)(tmp_path / "data")
    shutil.copytree(generated_sample.catalog, paths.catalog)
    return paths


def refused(paths) -> list[str]:
    with pytest.raises(CatalogError) as error:
        read_catalog(paths.catalog)
    assert str(error.value).splitlines()[1:] == [f"  - {p}" for p in error.value.problems]
    return [str(p) for p in error.value.problems]


def line_of(paths, file, text) -> int:
    """The 1-based line of the only line of `file` holding `text`."""
    [number] = [n for n, line in enumerate((paths.catalog / file).read_text().splitlines(), 1) if text in line]
    return number


def test_per_token_prices_quantities_and_percentages_are_stored_to_the_last_documented_place(generated_sample, tmp_path):
    paths = copy_catalog(generated_sample, tmp_path)

    def change(plans):
        charge(plans, "payg", "ai_tokens_input").update(unit_price="0.0000000125")  # $0.0125 per million tokens
        charge(plans, "payg", "ai_tokens_output").update(unit_price="0.000000000001")
        charge(plans, "payg", "api_calls").update(included="0.000000001", limit="99999999999999999999999999999.999999999")
        charge(plans, "pro", "lines_reviewed")["tiers"][0].update(up_to="1000.123456789", unit_price="99999999999999999.999999999999")
        next(p for p in plans["plans"] if p["code"] == "payg").update(minimum_charge="5.000000000005")
    edit_plans(paths, change)
    overrides = yaml.safe_load((paths.catalog / "overrides.yaml").read_text())
    overrides["accounts"]["acct_0001"]["discount_percent"] = "33.333333333333"
    (paths.catalog / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    append(paths, "credit_grants.csv", "g_tiny,acct_0002,0.000000000001,2026-08-28,,prepaid")

    with connect(paths.warehouse) as con:
        write_catalog(con, read_catalog(paths.catalog))
        values = {sql: con.execute(f"select {sql}").fetchone()[0] for sql in [
            "unit_price from catalog.plan_charges where plan_code = 'payg' and metric_code = 'ai_tokens_input'",
            "unit_price from catalog.plan_charges where plan_code = 'payg' and metric_code = 'ai_tokens_output'",
            "included from catalog.plan_charges where plan_code = 'payg' and metric_code = 'api_calls'",
            "usage_limit from catalog.plan_charges where plan_code = 'payg' and metric_code = 'api_calls'",
            "up_to from catalog.plan_tiers where plan_code = 'pro' and metric_code = 'lines_reviewed' and tier_index = 1",
            "unit_price from catalog.plan_tiers where plan_code = 'pro' and metric_code = 'lines_reviewed' and tier_index = 1",
            "minimum_charge from catalog.plans where plan_code = 'payg'",
            "discount_percent from catalog.account_discounts where account_id = 'acct_0001'",
            "amount from catalog.credit_grants where grant_id = 'g_tiny'"]}
    assert list(values.values()) == [Decimal(v) for v in [
        "0.0000000125", "0.000000000001", "0.000000001", "99999999999999999999999999999.999999999", "1000.123456789",
        "99999999999999999.999999999999", "5.000000000005", "33.333333333333", "0.000000000001"]]


def test_unquoted_yaml_numbers_are_read_as_written_not_as_floats(generated_sample, tmp_path):
    paths = copy_catalog(generated_sample, tmp_path)
    text = (paths.catalog / "plans.yaml").read_text()
    # a float keeps 17 significant digits: 12345678.123456789012 would become 12345678.123456789
    text = text.replace("unit_price: '0.0015'", "unit_price: 12345678.123456789012", 1)
    text = text.replace("unit_price: '0.000003'", "unit_price: 0.0000000125", 1)
    (paths.catalog / "plans.yaml").write_text(text)
    with connect(paths.warehouse) as con:
        write_catalog(con, read_catalog(paths.catalog))
        prices = con.execute("select unit_price::varchar from catalog.plan_charges where plan_code = 'payg' order by metric_code").fetchall()
    assert prices == [("0.000000012500",), ("0.000010000000",), ("12345678.123456789012",), (None,)]


def test_a_price_or_quantity_beyond_the_precision_is_refused_naming_file_and_line_never_rounded(generated_sample, tmp_path):
    paths = copy_catalog(generated_sample, tmp_path)

    def change(plans):
        charge(plans, "payg", "ai_tokens_input").update(unit_price="0.0000000000125")  # 13 places
        charge(plans, "starter", "exports").update(package_size="10.0000000001")  # 10 places
        charge(plans, "starter", "seats").update(unit_price="100000000000000000")  # 10^17
        charge(plans, "pro", "seats").update(unit_price="12.500000000000000000")  # trailing zeros lose nothing
        charge(plans, "pro", "active_users").update(flat_fee="0.000000000000000000")
    edit_plans(paths, change)
    overrides = yaml.safe_load((paths.catalog / "overrides.yaml").read_text())
    overrides["accounts"]["acct_0006"]["discount_percent"] = "4.9999999999999"
    (paths.catalog / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    append(paths, "credit_grants.csv", "g_x,acct_0002,10.0000000000001,2026-08-28,,prepaid")
    grant_line = len((paths.catalog / "credit_grants.csv").read_text().splitlines())

    problems = refused(paths)
    assert problems == [
        f"plans.yaml:{line_of(paths, 'plans.yaml', '10.0000000001')}: [too_precise] plan starter charge exports package_size "
        "10.0000000001 has 10 decimal places: quantities are kept exactly to 9, never rounded",
        f"plans.yaml:{line_of(paths, 'plans.yaml', '100000000000000000')}: [too_large] plan starter charge seats unit_price "
        "100000000000000000 is too large: prices and amounts must be below 100,000,000,000,000,000",
        f"plans.yaml:{line_of(paths, 'plans.yaml', '0.0000000000125')}: [too_precise] plan payg charge ai_tokens_input unit_price "
        "0.0000000000125 has 13 decimal places: prices and amounts are kept exactly to 12, never rounded",
        f"credit_grants.csv:{grant_line}: [too_precise] grant g_x amount 10.0000000000001 has 13 decimal places: "
        "prices and amounts are kept exactly to 12, never rounded",
        f"overrides.yaml:{line_of(paths, 'overrides.yaml', '4.9999999999999')}: [too_precise] acct_0006 discount_percent "
        "4.9999999999999 has 13 decimal places: percentages are kept exactly to 12, never rounded",
    ]


def break_line(paths, file, number, old, new):
    lines = (paths.catalog / file).read_text().splitlines(keepends=True)
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    (paths.catalog / file).write_text("".join(lines))


def test_an_unclosed_quote_in_plans_yaml_is_one_problem_on_its_own_line_without_follow_on_errors(generated_sample, tmp_path):
    paths = copy_catalog(generated_sample, tmp_path)
    line = line_of(paths, "plans.yaml", "base_fee: '19.00'")  # line 39: the parser only stumbles on line 41
    break_line(paths, "plans.yaml", line, "'19.00'", "'19.00")
    assert refused(paths) == [
        f"plans.yaml:{line}: [yaml_syntax] the quote opened on this line is not closed on it "
        f"(the parser stopped at line {line + 2}, column 20: expected <block end>, but found '<scalar>')"]


def test_a_yaml_token_left_open_is_reported_where_it_starts(generated_sample, tmp_path):
    paths = copy_catalog(generated_sample, tmp_path)
    line = line_of(paths, "plans.yaml", "base_fee: '19.00'")
    break_line(paths, "plans.yaml", line, "'19.00'", '"19.00')
    [problem] = refused(paths)
    assert problem.startswith(f"plans.yaml:{line}: [yaml_syntax] found unexpected end of stream at line ")
    assert problem.endswith("(in a quoted scalar that starts here)")

    paths = copy_catalog(generated_sample, tmp_path / "colon")
    line = line_of(paths, "plans.yaml", "name: Starter")
    break_line(paths, "plans.yaml", line, "name: Starter", "name Starter")
    assert refused(paths) == [f"plans.yaml:{line}: [yaml_syntax] could not find expected ':' at line {line + 1}, "
                              "column 3 (in a simple key that starts here)"]


def test_a_broken_overrides_yaml_or_accounts_csv_yields_no_follow_on_errors_in_the_files_naming_them(generated_sample, tmp_path):
    paths = copy_catalog(generated_sample, tmp_path)
    (paths.catalog / "overrides.yaml").write_text("accounts:\n  acct_0001: {discount_percent: '10'\n")
    (paths.catalog / "accounts.csv").write_text("account_id,name,email\nacct_0001,A,a@example.com\n")
    problems = refused(paths)
    assert [p.split(": [")[0] for p in problems] == ["accounts.csv:1", "overrides.yaml:2"]
    assert problems[0] == "accounts.csv:1: [missing_column] missing column(s): status"
    assert problems[1] == "overrides.yaml:2: [yaml_syntax] expected ',' or '}', but got '<stream end>' at line 3, column 1 (in a flow mapping that starts here)"


def test_one_misspelt_plan_on_many_subscriptions_is_one_problem_naming_every_line(generated_sample, tmp_path):
    paths = copy_catalog(generated_sample, tmp_path)
    text = (paths.catalog / "subscriptions.csv").read_text()
    (paths.catalog / "subscriptions.csv").write_text(text.replace(",starter,", ",startr,"))
    lines = [n for n, row in enumerate(text.splitlines(), 1) if ",starter," in row]
    assert len(lines) > 1
    shown = ", ".join(map(str, lines[1:11]))
    more = f" and {len(lines) - 11} more" if len(lines) > 11 else ""
    assert refused(paths) == [f"subscriptions.csv:{lines[0]}: [unknown_plan] plan 'startr' is not in plans.yaml "
                              f"(also on lines {shown}{more})"]


def test_csv_problems_name_the_line_the_row_is_on_past_blank_lines(generated_sample, tmp_path):
    paths = copy_catalog(generated_sample, tmp_path)
    with (paths.catalog / "credit_grants.csv").open("a") as handle:
        handle.write("\n\ng_x,acct_9999,10.00,2026-08-28,,prepaid\n")
    line = len((paths.catalog / "credit_grants.csv").read_text().splitlines())
    assert refused(paths) == [f"credit_grants.csv:{line}: [unknown_account] grant g_x: account 'acct_9999' is not in accounts.csv"]


@pytest.mark.parametrize("damage, expected", [
    (lambda text: text.replace("metrics:\n- code: api_calls", "metrics:\n- api_calls\n- code: api_calls"),
     "[yaml_shape] every entry of metrics must be a mapping (key: value lines)"),
    (lambda text: text.replace("  name: Starter\n", "  name: Starter\n  base_fee: '9.00'\n"),
     "[duplicate_key] 'base_fee' is given twice in one mapping"),
    (lambda text: text.replace("name: Starter", "name: Starter \udcff"), "[not_utf8] byte 0xff is not UTF-8 text"),
])
def test_a_malformed_plans_yaml_is_a_listed_problem_not_a_crash(generated_sample, tmp_path, damage, expected):
    paths = copy_catalog(generated_sample, tmp_path)
    text = damage((paths.catalog / "plans.yaml").read_text())
    (paths.catalog / "plans.yaml").write_bytes(text.encode("utf-8", errors="surrogateescape"))
    [problem] = refused(paths)
    assert problem.startswith("plans.yaml:") and problem.endswith(expected)


def test_the_catalog_asset_fails_with_the_problem_list_as_its_description(generated_sample, tmp_path, monkeypatch):
    paths = copy_catalog(generated_sample, tmp_path)
    line = line_of(paths, "plans.yaml", "base_fee: '19.00'")
    break_line(paths, "plans.yaml", line, "'19.00'", "'19.00")
    monkeypatch.setenv("BILLING_DATA_DIR", str(paths.root))
    result = defs().resolve_job_def("catalog_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    [failure] = [e.step_failure_data.user_failure_data for e in result.all_events if e.is_step_failure]
    with pytest.raises(CatalogError) as error:
        read_catalog(paths.catalog)
    assert failure.description == str(error.value)
    assert failure.description.startswith(f"catalog refused, 1 problem(s):\n  - plans.yaml:{line}: [yaml_syntax]")
    assert failure.metadata["problem_count"].value == 1
