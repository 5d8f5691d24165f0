"""Every statement line adds up on its own face: its quantities, and its calculation to its amount.

The test reads the written files as a customer would, redoes each line's arithmetic from what the
line shows (nothing from the warehouse), and finds the issued amount again.
"""

import html
import re
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
import pytest

from billing_pipeline.lib.report.pack import write_period_reports
from billing_pipeline.lib.warehouse import connect
from tests.report.report_world import FEBRUARY, JANUARY

NUMBER = r"-?[\d,]+(?:\.\d+)?"


@pytest.fixture(scope="module")
def statements(report_world, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("statements")
    with connect(report_world.warehouse, read_only=True) as con:
        return {period: write_period_reports(con, period, root).folder / "statements" for period in (JANUARY, FEBRUARY)}


def _d(text: str | None) -> Decimal:
    return Decimal(text.replace(",", "")) if text else Decimal(0)


def _cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _per_month(text: str) -> Decimal:
    """'31.00 a month' or '62.00 × 16/31 days' as the exact amount it reads."""
    if m := re.fullmatch(rf"({NUMBER}) a month", text):
        return _d(m[1])
    m = re.fullmatch(rf"({NUMBER}) × (\d+)/(\d+) days", text)
    return _d(m[1]) * int(m[2]) / int(m[3])


def _amount_on_its_face(line: dict, tier_amounts: list[Decimal], charges: int) -> int:
    """The amount in cents the line's own calculation gives."""
    text, billable = line["calculation"], _d(line["billable_quantity"])
    if text.endswith(", not billed in trial") or text == "not billed in trial":
        assert line["description"].endswith(" - trial")
        return 0
    if text == "nothing billable":
        assert billable == 0
        return 0
    if m := re.fullmatch(rf"({NUMBER}) of ({NUMBER}) included used", text):
        assert billable == 0 and _d(m[1]) == _d(line["included_quantity"]) and _d(m[1]) < _d(m[2])
        return 0
    if m := re.fullmatch(rf"({NUMBER}) × ({NUMBER})", text):
        assert _d(m[1]) == billable
        return _cents(_d(m[1]) * _d(m[2]))
    if m := re.fullmatch(rf"(\d+) packages? of ({NUMBER}) × ({NUMBER})", text):
        assert int(m[1]) == (billable / _d(m[2])).to_integral_value(rounding=ROUND_CEILING)
        return _cents(int(m[1]) * _d(m[3]))
    if m := re.fullmatch(rf"flat fee ({NUMBER})", text):
        return _cents(_d(m[1]))
    if text in ("graduated tiers, below", "volume tiers, below"):
        return _cents(sum(tier_amounts))
    if m := re.fullmatch(rf"minimum (.+?)(?: = ({NUMBER}))? − charges ({NUMBER})", text):
        minimum = _cents(_per_month(m[1]))
        assert m[2] is None or _cents(_d(m[2])) == minimum
        return minimum - _cents(_d(m[3]))
    if m := re.fullmatch(rf"({NUMBER})% of charges ({NUMBER})", text):
        assert _cents(_d(m[2])) == charges  # the charges above it on the same statement
        return -_cents(_d(m[2]) * _d(m[1]) / 100)
    if m := re.fullmatch(rf"({NUMBER}) of ({NUMBER}) available, ({NUMBER}) left", text):
        assert _d(m[2]) - _d(m[1]) == _d(m[3])
        return -_cents(_d(m[1]))
    if m := re.fullmatch(rf"(\d{{4}}-\d{{2}}) re-rated ({NUMBER}) − invoiced ({NUMBER})", text):
        assert m[1] == line["description"].removeprefix("Adjustment for ")[:7]
        return _cents(_d(m[2])) - _cents(_d(m[3]))
    return _cents(_per_month(text))  # a base fee


def test_every_statement_line_adds_up_on_its_own_face_in_the_csv_and_the_html(statements):
    seen_types, checked = set(), 0
    for folder in statements.values():
        for path in sorted(folder.glob("*.csv")):
            rows = pl.read_csv(path, infer_schema=False)
            lines = rows.filter(pl.col("row_kind") == "line").to_dicts()
            charges = sum(int(l["amount_cents"]) for l in lines if l["line_type"] in ("base_fee", "usage", "minimum"))
            page = html.unescape((folder / f"{path.stem}.html").read_text())
            for line in lines:
                if line["line_type"] == "usage":
                    quantity, refused = _d(line["quantity"]), _d(line["refused_quantity"])
                    kept = quantity - refused
                    # as written: included is the part of the allowance used, so no "never below 0"
                    assert kept - _d(line["included_quantity"]) == _d(line["billable_quantity"]), line
                    assert (line["limit_quantity"] is None) == (refused == 0) and (refused == 0 or _d(line["limit_quantity"]) == kept)
                tiers = [_d(t) for t in rows.filter((pl.col("row_kind") == "tier") & (pl.col("line_id") == line["line_id"]))["tier_amount"]]
                assert _amount_on_its_face(line, tiers, charges) == int(line["amount_cents"]), (path.name, line)
                assert line["calculation"] in page, (path.name, line["calculation"])
                seen_types.add(line["line_type"] + (" trial" if line["calculation"].endswith("trial") else
                                                    " within its allowance" if line["calculation"].endswith("included used")
                                                    else ""))
                checked += 1
    assert checked > 40
    assert seen_types >= {"base_fee", "base_fee trial", "usage", "usage trial", "usage within its allowance", "minimum",
                          "discount", "credit", "adjustment"}


def test_a_hard_limit_shows_the_refused_quantity_and_the_limit_so_the_seats_line_reads_through(statements):
    # dora: 6,000 API calls against basic's hard limit of 5,000 with 1,000 included -> 4,000 billable at 0.01
    rows = pl.read_csv(statements[JANUARY] / "dora.csv", infer_schema=False)
    [calls] = rows.filter(pl.col("metric") == "api_calls").to_dicts()
    assert (_d(calls["quantity"]), _d(calls["limit_quantity"]), _d(calls["refused_quantity"]),
            _d(calls["included_quantity"]), _d(calls["billable_quantity"])) == (6000, 5000, 1000, 1000, 4000)
    assert (calls["calculation"], calls["amount"]) == ("4,000 × 0.01", "40.00")
    page = (statements[JANUARY] / "dora.html").read_text()
    assert "Refused over limit" in page and "&minus;1,000" in page and "hard limit 5,000" in page
    # a statement with nothing refused keeps its table narrow
    assert "Refused over limit" not in (statements[JANUARY] / "beta.html").read_text()


def test_each_kind_of_line_explains_its_amount(statements):
    def calculation(period: str, account: str, line_type: str) -> list[str]:
        rows = pl.read_csv(statements[period] / f"{account}.csv", infer_schema=False)
        return rows.filter((pl.col("row_kind") == "line") & (pl.col("line_type") == line_type))["calculation"].to_list()

    assert calculation(JANUARY, "beta", "base_fee") == ["31.00 × 15/31 days", "62.00 × 16/31 days"]  # plan change
    assert calculation(JANUARY, "cara", "base_fee") == ["62.00 × 10/31 days, not billed in trial", "62.00 × 12/31 days"]
    assert calculation(JANUARY, "cara", "minimum") == ["minimum 100.00 × 12/31 days = 38.71 − charges 26.00"]
    assert calculation(JANUARY, "acme", "discount") == ["10% of charges 60.00"]
    assert calculation(JANUARY, "acme", "credit") == ["54.00 of 80.00 available, 26.00 left"]
    assert calculation(JANUARY, "acme", "usage") == ["2,500 × 0.01", "2 packages of 10 × 2.00"]
    # February: acme's 100 late January calls at 0.01, less its 10% discount
    assert calculation(FEBRUARY, "acme", "adjustment") == ["2026-01 re-rated 54.90 − invoiced 54.00"]
