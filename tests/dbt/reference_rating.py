"""An independent rating of one account's month, in plain Python Decimal, straight from the
catalog files and the deduplicated raw events: the cross-check behind the golden invoices.

It follows DESIGN.md's pricing rules literally and shares no code with the dbt models. It covers
segments, trials, proration, allowances, hard limits, every pricing model, custom prices, the
minimum charge and the discount; credits and adjustments are checked from its results.
"""

import csv
import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import duckdb
import yaml


@dataclass(frozen=True)
class Line:
    line_type: str
    metric: str | None
    plan_code: str
    amount_cents: int


def _cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _price(charge: dict, billable: Decimal) -> Decimal:
    model = charge["model"]
    if billable <= 0:
        return Decimal(0)
    if model == "per_unit":
        return billable * Decimal(charge["unit_price"])
    if model == "flat":
        return Decimal(charge["flat_fee"])
    if model == "package":
        return math.ceil(billable / Decimal(str(charge["package_size"]))) * Decimal(charge["package_price"])
    total, floor = Decimal(0), Decimal(0)
    for tier in charge["tiers"]:
        ceiling = None if tier.get("up_to") is None else Decimal(str(tier["up_to"]))
        flat_fee = Decimal(tier.get("flat_fee") or "0")
        if model == "graduated":
            units = max(min(billable, billable if ceiling is None else ceiling) - floor, Decimal(0))
            total += units * Decimal(tier["unit_price"]) + (flat_fee if units > 0 else 0)
        elif billable > floor and (ceiling is None or billable <= ceiling):
            total = billable * Decimal(tier["unit_price"]) + flat_fee
        floor = ceiling if ceiling is not None else floor
    return total


class ReferenceRating:
    def __init__(self, catalog: Path, warehouse: Path):
        plans = yaml.safe_load((catalog / "plans.yaml").read_text())
        self.metrics = {m["code"]: m for m in plans["metrics"]}
        self.plans = {p["code"]: p for p in plans["plans"]}
        self.overrides = (yaml.safe_load((catalog / "overrides.yaml").read_text()) or {}).get("accounts") or {}
        with (catalog / "subscriptions.csv").open() as handle:
            self.subscriptions = list(csv.DictReader(handle))
        self.warehouse = warehouse

    def _quantity(self, con, account: str, metric: str, start: date, end: date, landed_before: date) -> Decimal:
        spec = self.metrics[metric]
        expression = {"sum": "sum(quantity)", "count": "count(*)", "max": "max(quantity)",
                      "unique_count": f"count(distinct {spec.get('field')})"}[spec.get("aggregation", "sum")]
        value = con.execute(
            f"select {expression} from raw.usage_events_loaded where account_id = ? and metric = ? "
            "and occurred_at >= ? and occurred_at < ? and landing_date < ?",
            [account, metric, start, end, landed_before]).fetchone()[0]
        return Decimal(value or 0)

    def _segments(self, account: str, start: date, end: date):
        for sub in (s for s in self.subscriptions if s["account_id"] == account):
            starts = date.fromisoformat(sub["starts_on"])
            ends = date.fromisoformat(sub["ends_on"]) if sub["ends_on"] else end
            trial = int(sub["trial_days"]) if sub["trial_days"] else self.plans[sub["plan_code"]].get("trial_days", 0)
            trial_end = starts + timedelta(days=trial)
            low, high = max(starts, start), min(ends, end)
            if low < min(high, trial_end):
                yield sub["plan_code"], low, min(high, trial_end), True
            if max(low, trial_end) < high:
                yield sub["plan_code"], max(low, trial_end), high, False

    def month(self, account: str, start: date, landed_before: date) -> tuple[list[Line], int]:
        """The month's base fee, usage and minimum lines as known from events landed before
        `landed_before`, and the discount in cents."""
        # Python's default 28 significant digits would round a product of a 9-place quantity and
        # a 12-place price; 80 hold any the catalog allows, exactly
        with localcontext(prec=80):
            return self._month(account, start, landed_before)

    def _month(self, account: str, start: date, landed_before: date) -> tuple[list[Line], int]:
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        days_in_month = (end - start).days
        custom = {c["metric"]: c for c in self.overrides.get(account, {}).get("charges", [])}
        lines: list[Line] = []
        # read-write like dbt's own connection: in one process DuckDB shares the database only then
        with duckdb.connect(str(self.warehouse)) as con:
            con.execute("set TimeZone = 'UTC'")
            for plan_code, low, high, trial in self._segments(account, start, end):
                plan, days = self.plans[plan_code], (high - low).days
                base = 0 if trial else _cents(Decimal(plan["base_fee"]) * days / days_in_month)
                segment = [Line("base_fee", None, plan_code, base)]
                for charge in plan["charges"]:
                    charge = {**charge, **{k: v for k, v in custom.get(charge["metric"], {}).items() if k != "metric"}}
                    quantity = self._quantity(con, account, charge["metric"], low, high, landed_before)
                    if charge.get("limit") is not None and charge.get("enforcement") == "hard":
                        quantity = min(quantity, Decimal(str(charge["limit"])))
                    included = (Decimal(str(charge.get("included", 0))) * days / days_in_month).to_integral_value(ROUND_FLOOR)
                    amount = _price(charge, max(quantity - included, Decimal(0)))
                    segment.append(Line("usage", charge["metric"], plan_code, 0 if trial else _cents(amount)))
                minimum = 0 if trial else _cents(Decimal(plan.get("minimum_charge", "0")) * days / days_in_month)
                charged = sum(line.amount_cents for line in segment)
                if minimum > charged:
                    segment.append(Line("minimum", None, plan_code, minimum - charged))
                lines += segment
        percent = Decimal(str(self.overrides.get(account, {}).get("discount_percent", "0")))
        discount = int((sum(line.amount_cents for line in lines) * percent / 100).quantize(Decimal(1), ROUND_HALF_UP))
        return lines, discount
