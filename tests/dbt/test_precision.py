"""Per-token prices and many-place discounts, rated by a real dbt run: every catalog digit counts."""

from datetime import date

import pytest

from billing_pipeline.lib.publish.issued import load_issued_invoices
from billing_pipeline.lib.warehouse import connect
from tests.dbt.rating_warehouse import Event, RatingWorld

JAN = date(2026, 1, 1)

PLANS = {
    "currency": "usd",
    "metrics": [
        {"code": "ai_tokens", "name": "AI tokens", "unit": "token", "aggregation": "sum"},
        {"code": "cache_reads", "name": "Cache reads", "unit": "token", "aggregation": "sum"},
    ],
    "plans": [
        {"code": "tokens", "name": "Tokens", "base_fee": "0", "charges": [
            # $0.0125 and $0.0005 per million tokens
            {"metric": "ai_tokens", "model": "per_unit", "unit_price": "0.0000000125"},
            {"metric": "cache_reads", "model": "graduated", "tiers": [
                {"up_to": "1000000000", "unit_price": "0.0000000005"},
                {"up_to": None, "unit_price": "0.000000000001", "flat_fee": "0.004999999999"}]},
        ]},
        {"code": "contract", "name": "Contract", "base_fee": "30000.00", "charges": []},
    ],
}


@pytest.fixture(scope="module")
def rated(tmp_path_factory) -> RatingWorld:
    world = RatingWorld.create(
        tmp_path_factory.mktemp("precision") / "data", accounts=[("llm", "active"), ("big", "active")],
        subscriptions=[("llm", "tokens", "2026-01-01", "", "0"), ("big", "contract", "2026-01-01", "", "0")],
        overrides={"big": {"discount_percent": "33.33333"}}, plans=PLANS)
    world.land(
        Event("llm", "ai_tokens", "600000000", "2026-01-05 10:00:00", "2026-01-05"),
        Event("llm", "ai_tokens", "400000000", "2026-01-20 10:00:00", "2026-01-20"),
        Event("llm", "cache_reads", "1000000001", "2026-01-07 10:00:00", "2026-01-07"))
    assert world.rate(JAN, as_of=date(2026, 1, 31)).success
    return world


def line_cents(world: RatingWorld, account: str, line_type: str) -> dict[str | None, int]:
    return {r["metric"]: r["amount_cents"] for r in world.query(
        "select metric, amount_cents from fct_invoice_lines where period = '2026-01' and account_id = ? and line_type = ?",
        account, line_type)}


def test_a_billion_tokens_at_a_per_token_price_of_0_0000000125_bill_12_50(rated):
    # cut to 9 places the price was 0.000000012 (rounded half-even): 12.00
    assert line_cents(rated, "llm", "usage")["ai_tokens"] == 1250


def test_a_price_of_0_0000000005_per_token_is_not_free(rated):
    # 1,000,000,000 at 0.0000000005 = 0.50; the one token above the tier at 0.000000000001 plus its
    # 0.004999999999 flat fee is 0.005 exactly: 0.505, rounded half-up once to 0.51. Cut to 9
    # places both prices were 0 (and the flat fee, cut to 6, 0.005000): 0.01
    assert line_cents(rated, "llm", "usage")["cache_reads"] == 51


def test_a_discount_of_33_33333_percent_of_30_000_00_is_exact(rated):
    # 9,999.999 -> 10,000.00 (cut to 33.3333% it was 9,999.99 and the invoice a cent high)
    assert line_cents(rated, "big", "discount") == {None: -1000000}
    assert rated.query("select total_cents, description from fct_invoices join fct_invoice_lines using (invoice_id) "
                       "where fct_invoices.account_id = 'big' and line_type = 'discount'") == [
        {"total_cents": 2000000, "description": "Discount 33.33333%"}]


def test_a_warehouse_of_an_earlier_version_is_migrated_rates_on_and_keeps_its_invoice_hashes(tmp_path):
    """Quantities had 6 places (widened) and distinct values were kept per month (rebuilt per day)."""
    world = RatingWorld.create(tmp_path / "data", accounts=[("llm", "active")],
                               subscriptions=[("llm", "tokens", "2026-01-01", "", "0")], plans=PLANS)
    world.land(Event("llm", "ai_tokens", "1000000000", "2026-01-05 10:00:00", "2026-01-05"))
    assert world.rate(JAN, as_of=date(2026, 2, 4)).success  # January closes and is issued
    widened = """select table_name, column_name from information_schema.columns
                 where table_schema = 'main' and data_type = 'DECIMAL(38,9)'
                   and table_name in (select table_name from information_schema.tables where table_type = 'BASE TABLE')
                 order by all"""
    quantity_columns = [(r["table_name"], r["column_name"]) for r in world.query(widened)]
    assert {("fct_issued_invoice_lines", "billable_quantity"), ("fct_usage_daily", "quantity")} <= set(quantity_columns)
    for table, column in quantity_columns:  # as an earlier version wrote them
        world.execute(f'alter table "{table}" alter column "{column}" set data type decimal(38, 6)')
    world.execute("create or replace table int_usage__distinct_values_history as "
                  "select account_id, metric, period, distinct_value, day_mask, event_count from int_usage__distinct_values_history")
    with connect(world.paths.warehouse) as con:
        issued_with_6_places = [i.content_hash for i in load_issued_invoices(con, "2026-01")]

    assert world.rate(date(2026, 2, 1), as_of=date(2026, 2, 10)).success
    assert [(r["table_name"], r["column_name"]) for r in world.query(widened)] == quantity_columns
    assert world.query("select count(*) as n from information_schema.columns "
                       "where table_name = 'int_usage__distinct_values_history' and column_name = 'usage_date'") == [{"n": 1}]
    with connect(world.paths.warehouse) as con:
        # the publisher compares these with what it sent to Stripe: widening must not look like tampering
        assert [i.content_hash for i in load_issued_invoices(con, "2026-01")] == issued_with_6_places
    assert world.query("select amount_cents, billable_quantity::varchar as billable from fct_issued_invoice_lines "
                       "where line_type = 'usage' and metric = 'ai_tokens'") == [
        {"amount_cents": 1250, "billable": "1000000000.000000000"}]
