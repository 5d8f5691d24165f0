"""Golden invoices for the bundled sample: a hand-checked set of accounts covering every pricing
model, a trial, a plan change, a cancellation, credits, a discount, custom prices, a minimum charge
and a late event.

The sample comes from the sample generator with pinned arguments; January closes on Feb 4 with the
events landed by then, February is rated on Feb 10 after more (some late) January events landed.
The expected invoices are in golden_invoices.json, and every January line and February adjustment
in it is recomputed by an independent reference (reference_rating.py). After a deliberate change
of the generator or the rules, regenerate with UPDATE_GOLDEN=1, then review the diff.
"""

import json
import os
import re
from datetime import date, timedelta
from pathlib import Path

from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.defs.rating.assets import dbt_build_args
from billing_pipeline.lib.rating.window import RatingWindow
from billing_pipeline.lib.ingest.catalog import read_catalog, write_catalog
from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.ingest.usage_events import ensure_schema, ingest_day
from billing_pipeline.lib.warehouse import connect
from billing_pipeline.sample.catalog_files import write_catalog_files
from billing_pipeline.sample.usage_files import UsageSpec, write_usage_files
from tests.dbt.reference_rating import ReferenceRating
from tests.dbt.rating_warehouse import run_dbt

GOLDEN = Path(__file__).with_name("golden_invoices.json")
START, DAYS, SEED = date(2026, 1, 1), 40, 11
JANUARY_CLOSE, FEBRUARY_RATING = date(2026, 2, 4), date(2026, 2, 10)
ACCOUNTS = {
    "acct_0001": "pro all month: graduated, volume, package, flat and per-unit charges; 10% discount; a prepaid credit carried into February",
    "acct_0002": "custom per-unit price for api_calls; a promotional credit used up in January; late events that change nothing",
    "acct_0003": "plan change: starter Jan 1-20, pro from Jan 21, each segment prorated",
    "acct_0004": "cancelled: pro until Jan 26, no February invoice",
    "acct_0005": "new signup with the plan's 14-day trial from Jan 11 (billed 0), then starter",
    "acct_0006": "custom graduated tiers for lines_reviewed, a per-token price for AI input tokens and a 4.87654% discount",
    "acct_0007": "pay as you go topped up to its 5.00 minimum charge",
    "acct_0028": "January events landing after the close: +0.05 adjustment on February",
}


def _ingest(paths: DataDir, first: date, last: date) -> None:
    with connect(paths.warehouse) as con:
        for offset in range((last - first).days + 1):
            ingest_day(con, paths.landing_usage, first + timedelta(days=offset))


def _invoices(paths: DataDir) -> dict:
    with connect(paths.warehouse) as con:
        headers = con.execute(
            "select account_id, period, subtotal_cents, discount_cents, credits_applied_cents, total_cents "
            "from fct_invoices where account_id in ? order by account_id, period", [list(ACCOUNTS)]).fetchall()
        lines = con.execute(
            "select account_id, period, line_type, metric, plan_code, cast(quantity as varchar), "
            "cast(included_quantity as varchar), cast(billable_quantity as varchar), amount_cents, is_trial, description "
            "from fct_invoice_lines where account_id in ? order by account_id, period, line_number", [list(ACCOUNTS)]).fetchall()
    invoices = {account: {"covers": covers} for account, covers in ACCOUNTS.items()}
    for account, period, subtotal, discount, credits, total in headers:
        invoices[account][period] = {"subtotal_cents": subtotal, "discount_cents": discount,
                                     "credits_applied_cents": credits, "total_cents": total, "lines": []}
    for account, period, *line in lines:
        invoices[account][period]["lines"].append(line)
    return invoices


def _dump(invoices: dict) -> str:
    """Indented JSON with each invoice line on one row, so a review reads line by line."""
    text = json.dumps(invoices, indent=1)
    return re.sub(r"\[\s+([^\[\]]*?)\s+\]", lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)) + "]", text) + "\n"


def test_the_sample_closes_into_the_hand_checked_golden_invoices(tmp_path):
    paths = DataDir(tmp_path / "data")
    accounts = write_catalog_files(paths.catalog, 30, START, DAYS, seed=SEED)
    write_usage_files(paths.landing_usage, accounts, UsageSpec(START, DAYS, 400, seed=SEED))
    with connect(paths.warehouse) as con:
        write_catalog(con, read_catalog(paths.catalog))
        ensure_schema(con)
    billing_data = BillingData(data_dir=str(paths.root))
    _ingest(paths, START, JANUARY_CLOSE - timedelta(days=1))
    january = RatingWindow(date(2026, 1, 1), date(2026, 2, 1), JANUARY_CLOSE)
    assert run_dbt(dbt_build_args(billing_data), january.dbt_env()).success
    _ingest(paths, JANUARY_CLOSE, START + timedelta(days=DAYS - 1))
    february = RatingWindow(date(2026, 2, 1), date(2026, 3, 1), FEBRUARY_RATING)
    assert run_dbt(dbt_build_args(billing_data), february.dbt_env()).success

    invoices = _invoices(paths)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(_dump(invoices))
    golden = json.loads(GOLDEN.read_text())
    assert json.loads(json.dumps(invoices)) == golden

    reference = ReferenceRating(paths.catalog, paths.warehouse)
    for account in ACCOUNTS:
        lines, discount = reference.month(account, date(2026, 1, 1), landed_before=JANUARY_CLOSE)
        january = golden[account]["2026-01"]
        assert sorted((l.line_type, l.metric, l.plan_code, l.amount_cents) for l in lines) == sorted(
            (t, m, p, a) for t, m, p, _, _, _, a, _, _ in january["lines"] if t in ("base_fee", "usage", "minimum")), account
        assert january["discount_cents"] == discount, account
        # credits pay what is due after the discount, up to the grant
        assert january["credits_applied_cents"] <= january["subtotal_cents"] - discount
        # February re-rates January with everything landed since, and bills only the difference
        relined, rediscount = reference.month(account, date(2026, 1, 1), landed_before=FEBRUARY_RATING)
        difference = sum(l.amount_cents for l in relined) - rediscount - (january["subtotal_cents"] - discount)
        adjustments = [a for t, *_, a, _, _ in golden[account].get("2026-02", {"lines": []})["lines"] if t == "adjustment"]
        assert sum(adjustments) == difference, account
