"""Rating a small world month by month: every number below is worked out by hand in the comments."""

from datetime import date

import pytest

from tests.dbt.rating_warehouse import Event, RatingWorld, dumps, january_world

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)

# The lineage query of docs/rating.md: from one invoice line to the raw events it rated.
LINEAGE = """
select events.*
from fct_invoice_lines as line
join raw.usage_events_loaded as events
  on events.account_id = line.account_id
 and events.metric = line.metric
 and events.occurred_at >= line.usage_start
 and events.occurred_at < line.usage_end
where line.line_id = ?
"""


@pytest.fixture
def world(tmp_path) -> RatingWorld:
    return january_world(tmp_path / "data")


def _invoices(world: RatingWorld, period: str) -> dict[str, dict]:
    rows = world.query("select * from fct_invoices where period = ? order by account_id", period)
    return {r["account_id"]: r for r in rows}


def _lines(world: RatingWorld, table: str, period: str, account: str) -> list[tuple]:
    return [(r["line_type"], r["metric"], r["plan_code"], r["amount_cents"]) for r in world.query(
        f"select * from {table} where period = ? and account_id = ? order by line_number", period, account)]


def _assert_january_is_issued_as_worked_out_by_hand(world: RatingWorld) -> None:
    invoices = _invoices(world, "2026-01")
    assert {a: (i["subtotal_cents"], i["discount_cents"], i["credits_applied_cents"], i["total_cents"])
            for a, i in invoices.items()} == {
        # 31.00 + 25.00 + 4.00 = 60.00, 10% off = 54.00, all paid by the 80.00 grant
        "acme": (6000, 600, 5400, 0),
        # 15.00 (basic 15/31) + 1.17 + 32.00 (growth 16/31) + 16.00 + 40.00 + 3.00; the growth minimum
        # 100 x 16/31 = 51.61 is below the segment's 91.00
        "beta": (10717, 0, 0, 10717),
        # trial Jan 10-19 bills 0; then 62 x 12/31 = 24.00 + 2.00, topped up to 100 x 12/31 = 38.71
        "cara": (3871, 0, 0, 3871),
        "dora": (7100, 0, 0, 7100),
        "late": (3800, 0, 0, 3800),
    }
    assert _lines(world, "fct_invoice_lines", "2026-01", "beta") == [
        ("base_fee", None, "basic", 1500), ("base_fee", None, "growth", 3200),
        ("usage", "api_calls", "basic", 117), ("usage", "exports", "basic", 0),
        ("usage", "active_users", "growth", 300), ("usage", "api_calls", "growth", 1600),
        ("usage", "seats", "growth", 4000),
    ]
    assert _lines(world, "fct_invoice_lines", "2026-01", "cara") == [
        ("base_fee", None, "growth", 0), ("base_fee", None, "growth", 2400),
        ("usage", "active_users", "growth", 0), ("usage", "api_calls", "growth", 0), ("usage", "seats", "growth", 0),
        ("usage", "active_users", "growth", 0), ("usage", "api_calls", "growth", 200), ("usage", "seats", "growth", 0),
        ("minimum", None, "growth", 1271),
    ]
    trial_calls = world.query("select quantity, is_trial, description from fct_invoice_lines "
                              "where account_id = 'cara' and metric = 'api_calls' and is_trial")
    assert [(str(r["quantity"]), r["is_trial"]) for r in trial_calls] == [("5000.000000000", True)]
    assert _lines(world, "fct_invoice_lines", "2026-01", "acme")[-2:] == [
        ("discount", None, None, -600), ("credit", None, None, -5400)]
    dora_calls = world.query("select quantity, billable_quantity from fct_invoice_lines "
                             "where account_id = 'dora' and metric = 'api_calls'")
    assert [(str(r["quantity"]), str(r["billable_quantity"])) for r in dora_calls] == [("6000.000000000", "4000.000000000")]

    calls = world.query("select line_id, quantity from fct_invoice_lines where metric = 'api_calls' order by line_id")
    assert len(calls) == 7  # acme, beta twice (plan change), cara twice (trial), dora, late
    for line in calls:
        assert sum(event["quantity"] for event in world.query(LINEAGE, line["line_id"])) == line["quantity"]

    assert world.query("select period, issued_on, invoice_count, total_cents from fct_issued_periods") == [
        {"period": "2026-01", "issued_on": date(2026, 2, 4), "invoice_count": 5, "total_cents": 25488}]
    assert dumps(world.query("select * exclude (issued_on) from fct_issued_invoices order by invoice_id")) == \
        dumps(world.query("select * from fct_invoices order by invoice_id"))
    assert world.query("select grant_id, period, consumed_cents, closing_cents from fct_credit_balances") == [
        {"grant_id": "acme-prepaid", "period": "2026-01", "consumed_cents": 5400, "closing_cents": 2600}]


def test_a_closed_month_is_issued_as_worked_out_by_hand_and_late_events_only_adjust_the_next_open_invoice(world):
    run = world.rate(JAN, as_of=date(2026, 2, 4))
    assert run.success, run.with_status("fail", "error")
    _assert_january_is_issued_as_worked_out_by_hand(world)
    issued_january = dumps(world.query("select * from fct_issued_invoice_lines order by line_id"))
    january = dumps(world.query("select * from fct_invoice_lines where period = '2026-01' order by line_id"))

    # 700 more January calls land after the close: January is now worth 2400 - 1000 = 14.00, not 7.00
    world.land(Event("late", "api_calls", "700", "2026-01-30 12:00:00", "2026-02-06"),
               Event("dora", "api_calls", "4500", "2026-02-05 12:00:00", "2026-02-05"),
               Event("beta", "api_calls", "1000", "2026-02-03 12:00:00", "2026-02-03"))
    run = world.rate(FEB, as_of=date(2026, 2, 10))
    assert run.success, run.with_status("fail", "error")

    assert _lines(world, "fct_invoice_lines", "2026-02", "late") == [
        ("base_fee", None, "basic", 3100), ("usage", "api_calls", "basic", 0), ("usage", "exports", "basic", 0),
        ("adjustment", None, None, 700)]
    [adjustment] = world.query("select * from fct_invoice_lines where line_type = 'adjustment'")
    assert (adjustment["adjusts_period"], adjustment["usage_start"], adjustment["usage_end"]) == \
        ("2026-01", date(2026, 1, 1), date(2026, 2, 1))
    assert adjustment["description"] == "Adjustment for 2026-01: re-rated with 1 late event"
    assert dumps(world.query("select * from fct_issued_invoice_lines order by line_id")) == issued_january
    assert dumps(world.query("select * from fct_invoice_lines where period = '2026-01' order by line_id")) == january

    february = _invoices(world, "2026-02")
    assert {a: i["total_cents"] for a, i in february.items()} == {
        # 31.00 less 10% = 27.90, of which the 26.00 left on the grant pays
        "acme": 190,
        # growth all month: 62.00 + 1.00 for 1000 calls, topped up to the 100.00 minimum
        "beta": 10000, "cara": 10000,
        # 4500 - 1000 included = 35.00
        "dora": 6600,
        "late": 3800,
    }
    assert {i["period_status"] for i in february.values()} == {"open"}
    quota = world.query("select * from fct_quota_status where account_id = 'dora' and metric = 'api_calls'")
    assert [(str(q["used"]), str(q["limit"]), str(q["remaining"]), q["status"], q["is_blocked"]) for q in quota] == [
        ("4500.000000", "5000.000000", "500.000000", "approaching_limit", True)]  # dora is suspended
    assert [(q["period_start"], q["currency"], q["trial_ends_on"], q["credits_remaining_cents"]) for q in quota] == [
        (FEB, "usd", None, 0)]

    # A re-run of the month gives identical invoices.
    lines = dumps(world.query("select * from fct_invoice_lines where period = '2026-02' order by line_id"))
    headers = dumps(world.query("select * from fct_invoices where period = '2026-02' order by invoice_id"))
    assert world.rate(FEB, as_of=date(2026, 2, 10)).success
    assert dumps(world.query("select * from fct_invoice_lines where period = '2026-02' order by line_id")) == lines
    assert dumps(world.query("select * from fct_invoices where period = '2026-02' order by invoice_id")) == headers

    # February closes with the adjustment; 300 more January calls then only adjust March by 3.00.
    assert world.rate(FEB, as_of=date(2026, 3, 4)).success
    world.land(Event("late", "api_calls", "300", "2026-01-29 12:00:00", "2026-03-05"))
    assert world.rate(MAR, as_of=date(2026, 3, 10)).success
    assert _lines(world, "fct_invoice_lines", "2026-03", "late")[-1] == ("adjustment", None, None, 300)
    assert [r["period"] for r in world.query("select period from fct_issued_periods order by period")] == \
        ["2026-01", "2026-02"]
    assert _lines(world, "fct_issued_invoice_lines", "2026-02", "late")[-1] == ("adjustment", None, None, 700)


def test_a_failing_blocking_check_stops_the_close_and_nothing_is_issued(world):
    # a catalog row no pricing model knows, as a broken load would leave it
    world.execute("update catalog.plan_charges set model = 'tiered' where plan_code = 'growth' and metric_code = 'seats'")
    run = world.rate(JAN, as_of=date(2026, 2, 4))

    assert not run.success
    assert any("accepted_values_stg_catalog__plan_charges_model" in node for node in run.with_status("fail"))
    assert {node.split(".")[-1] for node in run.with_status("skipped")} >= {
        "fct_issued_invoice_lines", "fct_issued_invoices", "fct_issued_periods"}
    assert world.query("select table_name from information_schema.tables where table_name like 'fct_issued%'") == []
