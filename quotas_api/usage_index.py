"""Usage answers for people: the usage snapshot's open period per metric and day, moved on by the
events the API accepted since, and projected to the end of the period.

Live events (those the snapshot does not include) move each metric's period figure and each day's
by live_quantity.py's rule, the one quota answers use: unique_count figures may over-count values
the snapshot already counted, until the next snapshot.

Projection, linear on elapsed days: elapsed = days from the period's start through today (UTC),
at least 1; projected usage = used x days_in_period / elapsed for sum and count metrics (to 9
places, half up), and = used for max and unique_count (a peak or a distinct count so far is not
extrapolated). The charge: the draft invoice's total, with each sum or count metric's usage lines
scaled by days_in_period / elapsed days at the rating's as_of and rounded half up to the minor
unit; base fees, minimums, discounts, credits and adjustments are kept as the draft has them, and
usage lines are scaled, not re-priced through tiers.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl

from billing_pipeline.exchange.quota_snapshot import as_of_text, json_number
from billing_pipeline.exchange.usage_snapshot import read_usage_snapshot
from billing_pipeline.lib.money import round_to_minor, to_major
from quotas_api.live_quantity import LiveQuantity

EXTRAPOLATED = ("sum", "count")
QUANTITY_PLACES = Decimal("0.000000001")  # the snapshot's quantity precision
PROJECTION_METHOD = (
    "linear on elapsed days: projected = used x days_in_period / elapsed_days for sum and count metrics, "
    "= used for max and unique_count; charge = the draft invoice's total with its sum and count usage lines "
    "scaled by days_in_period / elapsed days at the rating's as_of (other lines as drafted, not re-priced "
    "through tiers)")


@dataclass(frozen=True)
class UsageIndex:
    generated_at: datetime
    as_of: str
    included_files: frozenset[str]
    row_count: int
    account_count: int
    _rows: pl.DataFrame
    _row_of: dict[str, int]

    def account(self, account_id: str) -> dict[str, Any] | None:
        row = self._row_of.get(account_id)
        return None if row is None else self._rows.row(row, named=True)


def load_usage_index(path: Path) -> UsageIndex:
    """The usage snapshot file at `path`, read, validated and indexed (SnapshotError: unfit to serve)."""
    snapshot = read_usage_snapshot(path)
    rows = snapshot.rows
    return UsageIndex(snapshot.generated_at, as_of_text(snapshot.generated_at), snapshot.included_files,
                      rows.height, rows.height, rows, {a: i for i, a in enumerate(rows["account_id"].to_list())})


def usage_json(row: dict[str, Any], live: dict[tuple[str, str], LiveQuantity], as_of: str, live_through: str | None,
               today: date) -> bytes:
    """The answer for one account: its usage snapshot row moved on by `live` ((metric, day) -> events
    the snapshot does not include), projected from `today`."""
    start, end = row["period_start"], row["period_end"]
    days_in_period = (end - start).days
    elapsed = _elapsed_days(start, end, today)
    metrics = []
    for metric in row["metrics"]:
        name, aggregation = metric["metric"], metric["aggregation"]
        days = {d["usage_date"].isoformat(): d["quantity"] for d in row["days"] if d["metric"] == name}
        period_live = LiveQuantity(aggregation)  # the days' live events together: a value counts once
        for (live_metric, day), usage in sorted(live.items()):
            if live_metric == name:
                days[day] = usage.moved_on(days.get(day, Decimal(0)))
                period_live.merge(usage)
        used = period_live.moved_on(metric["quantity"])
        projected = (used * days_in_period / elapsed).quantize(QUANTITY_PLACES, ROUND_HALF_UP) \
            if aggregation in EXTRAPOLATED else used
        metrics.append(json_object(
            metric=json.dumps(name), aggregation=json.dumps(aggregation), used=json_number(used),
            projected=json_number(projected),
            days="[" + ",".join(json_object(date=json.dumps(day), quantity=json_number(quantity))
                                for day, quantity in sorted(days.items())) + "]"))
    currency, exponent = json.dumps(row["currency"]), str(row["exponent"])
    draft = charge = "null"
    if row["draft_total_cents"] is not None:
        draft = json_object(currency=currency, exponent=exponent, rated_as_of=json.dumps(row["rated_as_of"].isoformat()),
                        subtotal=str(row["draft_subtotal_cents"]), discount=str(row["draft_discount_cents"]),
                        credits_applied=str(row["draft_credits_applied_cents"]), total=str(row["draft_total_cents"]))
        charge = json_object(currency=currency, exponent=exponent, total=str(_projected_charge(row, days_in_period)))
    return json_object(
        account_id=json.dumps(row["account_id"]), period=json.dumps(row["period"]),
        period_start=json.dumps(start.isoformat()), period_end=json.dumps(end.isoformat()),
        as_of=json.dumps(as_of), live_through=json.dumps(live_through),
        metrics="[" + ",".join(metrics) + "]", draft_invoice=draft,
        projection=json_object(days_in_period=str(days_in_period), elapsed_days=str(elapsed),
                           method=json.dumps(PROJECTION_METHOD), charge=charge),
    ).encode()


def _projected_charge(row: dict[str, Any], days_in_period: int) -> int:
    elapsed = _elapsed_days(row["period_start"], row["period_end"], row["rated_as_of"])
    exponent = row["exponent"]
    scaled = sum((round_to_minor(to_major(m["usage_cents"], exponent) * days_in_period / elapsed, exponent)
                  - m["usage_cents"] for m in row["metrics"] if m["aggregation"] in EXTRAPOLATED), 0)
    return row["draft_total_cents"] + scaled


def _elapsed_days(start: date, end: date, today: date) -> int:
    return min(max((today - start).days + 1, 1), (end - start).days)


def json_object(**rendered: str) -> str:
    """A JSON object from its members' ready-rendered JSON values."""
    return "{" + ",".join(f'"{name}":{value}' for name, value in rendered.items()) + "}"
