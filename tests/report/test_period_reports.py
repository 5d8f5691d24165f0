"""The reports of an issued period, written from a real rated warehouse and read back from the files."""

import re
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.report.pack import CHARTS, write_period_reports
from billing_pipeline.lib.publish.issued import PeriodNotIssued
from billing_pipeline.lib.report.verify import journal_problems, report_total_problems
from billing_pipeline.lib.warehouse import connect
from tests.report.report_world import FEBRUARY, JANUARY


def _write(world: DataDir, period: str, root: Path):
    with connect(world.warehouse, read_only=True) as con:
        return write_period_reports(con, period, root)


@pytest.fixture(scope="module")
def written(report_world: DataDir, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("reports")
    return {period: _write(report_world, period, root) for period in (JANUARY, FEBRUARY)}


def _issued(world: DataDir, sql: str, *params) -> list[tuple]:
    with connect(world.warehouse, read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)  # every column as text: the file's own digits


def test_the_pack_totals_in_csv_and_html_equal_the_issued_invoices_to_the_cent(report_world, written):
    for period, report in written.items():
        [(total, invoices)] = _issued(report_world, "SELECT sum(total_cents), count(*) FROM fct_issued_invoices WHERE period = ?", period)
        summary = {row["category"]: row for row in _csv(report.folder / "revenue_summary.csv").to_dicts()}
        assert int(summary["total"]["amount_cents"]) == total == report.headline.total_cents
        assert Decimal(summary["total"]["amount"]) == Decimal(total) / 100
        components = sum(int(r["amount_cents"]) for r in summary.values() if r["row_kind"] == "component")
        deductions = sum(int(r["amount_cents"]) for r in summary.values() if r["row_kind"] == "deduction")
        assert components == int(summary["subtotal"]["amount_cents"]) and components + deductions == total
        listed = _csv(report.folder / "invoices.csv")
        assert listed.height == invoices and sum(int(c) for c in listed["total_cents"]) == total
        html = (report.folder / "revenue_pack.html").read_text()
        assert f"{Decimal(total) / 100:,.2f} USD" in html
    # January by hand (tests/dbt): 314.88 charged, 6.00 discount, 54.00 prepaid credit -> 254.88
    january = {r["category"]: r["amount"] for r in _csv(written[JANUARY].folder / "revenue_summary.csv").to_dicts()}
    assert january == {"base_fee": "164.00", "usage": "138.17", "minimum_true_up": "12.71", "late_usage_adjustment": "0.00",
                       "subtotal": "314.88", "discount": "-6.00", "credit_prepaid": "-54.00", "total": "254.88"}


def test_the_journal_has_every_issued_line_once_and_sums_to_each_invoice_and_the_period(report_world, written):
    for period, report in written.items():
        journal = _csv(report.folder / "journal.csv")
        lines = _issued(report_world, "SELECT line_id, amount_cents FROM fct_issued_invoice_lines WHERE period = ?", period)
        assert sorted(journal["line_id"]) == sorted(line for line, _ in lines)
        per_invoice = dict(_issued(report_world, "SELECT invoice_id, total_cents FROM fct_issued_invoices WHERE period = ?", period))
        sums: dict[str, int] = {}
        for row in journal.iter_rows(named=True):
            sums[row["invoice_id"]] = sums.get(row["invoice_id"], 0) + int(row["amount_cents"])
            assert Decimal(row["amount"]) * 100 == int(row["amount_cents"])
        assert sums == per_invoice
        assert sum(Decimal(a) for a in journal["amount"]) * 100 == sum(per_invoice.values())
        with connect(report_world.warehouse, read_only=True) as con:
            assert journal_problems(con, report.folder, period) == []
            assert report_total_problems(con, report.folder, period) == []


def test_journal_rows_carry_revenue_categories_and_the_stripe_ids_the_publisher_recorded(written):
    journal = _csv(written[JANUARY].folder / "journal.csv")
    by_line = {row["line_id"]: row for row in journal.iter_rows(named=True)}
    credit = by_line["INV-202601-acme/credit:acme-prepaid"]
    assert (credit["line_type"], credit["revenue_category"], credit["amount"]) == ("credit", "credit_prepaid", "-54.00")
    assert by_line["INV-202601-cara/minimum:cara:2026-01-10@2026-01-20"]["revenue_category"] == "minimum_true_up"
    beta = journal.filter(pl.col("invoice_id") == "INV-202601-beta")
    assert set(beta["stripe_invoice_id"]) == {"in_beta"} and set(beta["stripe_customer_id"]) == {"cus_beta"}
    assert beta["stripe_invoice_item_id"].null_count() == 0 and beta["stripe_invoice_item_id"].n_unique() == beta.height
    dora = journal.filter(pl.col("invoice_id") == "INV-202601-dora")  # failed to publish: no Stripe invoice
    assert dora["stripe_invoice_id"].null_count() == dora.height
    assert set(journal.filter(pl.col("account_id") == "fern")["stripe_customer_id"]) == {"cus_fern"}  # from the catalog
    assert set(journal["revenue_category"]) <= {"base_fee", "usage", "minimum_true_up", "late_usage_adjustment",
                                               "discount", "credit_prepaid"}


def test_every_named_chart_is_an_inline_svg_and_the_html_needs_no_other_file(written):
    html = (written[JANUARY].folder / "revenue_pack.html").read_text()
    figures = dict(re.findall(r'<figure class="chart" id="chart-(\w+)"[^>]*>(.*?)</figure>', html, re.S))
    assert list(figures) == list(CHARTS)
    for name, body in figures.items():
        assert body.startswith("<svg") and body.count("<svg") == 1 and "<path" in body, name
    assert not re.search(r'(src|href)="(?!#|https://invoice)', html) and "<link" not in html and "<script" not in html
    # the charts print the same exact amounts as the tables: January's charges, dora's usage
    assert "314.88 USD" in figures["trend"] and "40.00 USD" in figures["top_accounts"]


def test_the_pdf_is_written_and_its_text_has_the_totals(written):
    from pypdf import PdfReader

    reader = PdfReader(written[JANUARY].folder / "revenue_pack.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 2
    for expected in ("Revenue pack", "Total invoiced", "254.88 USD", "314.88 USD", "Top accounts by usage charges",
                     "Page 1 of"):
        assert expected in text, expected


def test_published_paid_and_failed_come_from_the_publication_ledger(written):
    january, february = written[JANUARY], written[FEBRUARY]
    h = january.headline
    assert (h.published, h.paid, h.payment_failed, h.publish_failed) == (3, 1, 1, 1)
    status = {(r["stage"], r["status"]): (int(r["invoices"]), int(r["amount_cents"]))
              for r in _csv(january.folder / "invoice_status.csv").to_dicts()}
    assert status == {("publication", "skipped (zero total)"): (1, 0), ("publication", "published"): (3, 10717 + 3871 + 3800),
                      ("publication", "failed"): (1, 7100), ("publication", "not published"): (2, 0),
                      ("payment", "paid"): (1, 10717), ("payment", "payment failed"): (1, 3871), ("payment", "open"): (1, 3800)}
    assert "has been published to Stripe yet" not in (january.folder / "revenue_pack.html").read_text()
    g = february.headline
    assert (g.published, g.paid, g.payment_failed, g.publish_failed) == (0, 0, 0, 0)
    assert "No invoice of 2026-02 has been published to Stripe yet" in (february.folder / "revenue_pack.html").read_text()


def test_trials_started_converted_and_expired_follow_the_subscriptions(written):
    def outcomes(report) -> dict:
        rows = _csv(report.folder / "trials.csv")
        return {r["account_id"]: (r["started_this_period"], r["outcome"]) for r in rows.to_dicts()}

    assert outcomes(written[JANUARY]) == {"cara": ("true", "converted"), "evan": ("true", "in_trial"),
                                          "fern": ("true", "in_trial")}
    assert outcomes(written[FEBRUARY]) == {"evan": ("false", "expired"), "fern": ("false", "converted")}


def test_credits_and_the_month_over_month_trend(written):
    credits = _csv(written[JANUARY].folder / "credits.csv").to_dicts()
    assert credits == [{"kind": "prepaid", "grants": "1", "opening_cents": "0", "granted_cents": "8000",
                        "consumed_cents": "5400", "expired_cents": "0", "closing_cents": "2600",
                        "expiring_next_period_cents": "0", "currency": "USD"}]
    assert written[JANUARY].headline.credits_applied_cents == 5400
    trend = _csv(written[FEBRUARY].folder / "trend.csv")
    assert trend["period"].to_list() == [JANUARY, FEBRUARY]
    assert [int(t) for t in trend["total_cents"]] == [25488, written[FEBRUARY].headline.total_cents]


def test_each_account_gets_a_statement_with_usage_tiers_credits_total_and_stripe_invoice(report_world, written):
    folder = written[JANUARY].folder / "statements"
    invoices = dict(_issued(report_world, "SELECT account_id, total_cents FROM fct_issued_invoices WHERE period = ?", JANUARY))
    assert sorted(p.stem for p in folder.glob("*.html")) == sorted(p.stem for p in folder.glob("*.csv")) == sorted(invoices)
    for account, total in invoices.items():
        rows = _csv(folder / f"{account}.csv")
        assert sum(int(a) for a in rows.filter(pl.col("row_kind") == "line")["amount_cents"]) == total
        assert rows.filter(pl.col("row_kind") == "total")["amount_cents"].to_list() == [str(total)]
        assert f"{Decimal(total) / 100:,.2f} USD" in (folder / f"{account}.html").read_text()

    beta_html = (folder / "beta.html").read_text()
    assert "in_beta" in beta_html and "https://invoice.example/in_beta" in beta_html and "payment paid" in beta_html
    # beta's growth API calls: 12000 graduated = 10000 x 0.001 (10.00) + 2000 x 0.0005 + 5.00 flat (6.00)
    tiers = _csv(folder / "beta.csv").filter(pl.col("row_kind") == "tier")
    graduated = tiers.filter(pl.col("description") == "graduated")
    assert [(t["tier_index"], Decimal(t["tier_units"]), Decimal(t["tier_amount"])) for t in graduated.to_dicts()] == [
        ("1", Decimal(10000), Decimal(10)), ("2", Decimal(2000), Decimal(6))]
    assert "Tier 1: up to 10,000" in beta_html and "Tier 2: over 10,000" in beta_html and "Jan 16 to Jan 31" in beta_html and set(tiers["stripe_invoice_id"]) == {"in_beta"}
    assert "Active users" in beta_html and "Seats" in beta_html  # usage by metric

    acme_html = (folder / "acme.html").read_text()
    assert "acme-prepaid (prepaid)" in acme_html and "26.00 USD" in acme_html  # credit used, balance left
    assert "not published yet" in acme_html and "nothing to pay" in acme_html  # skipped_zero: no Stripe invoice
    assert "publishing failed: card_declined" in (folder / "dora.html").read_text()
    fern_html = (folder / "fern.html").read_text()
    assert "Fern &amp; Co &lt;Ltd&gt;" in fern_html and "<Ltd>" not in fern_html  # autoescaped


def test_a_rerun_replaces_the_period_folder_whole(report_world, written, tmp_path):
    earlier = tmp_path / JANUARY
    shutil.copytree(written[JANUARY].folder, earlier)
    (earlier / "stale.csv").write_text("left from an older run")
    (earlier / "statements" / "gone.html").write_text("an account no longer invoiced")
    again = _write(report_world, JANUARY, tmp_path)
    assert again.folder == earlier
    assert not (earlier / "stale.csv").exists() and not (earlier / "statements" / "gone.html").exists()
    assert (earlier / "journal.csv").read_bytes() == (written[JANUARY].folder / "journal.csv").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [JANUARY]  # no staging or retired folder left behind


def test_a_period_that_was_not_issued_is_refused_and_nothing_is_written(report_world, tmp_path):
    with pytest.raises(PeriodNotIssued, match="2026-03 is not issued"):
        _write(report_world, "2026-03", tmp_path)
    assert list(tmp_path.iterdir()) == []
    empty = duckdb.connect()  # a warehouse that never issued anything
    with pytest.raises(PeriodNotIssued, match="no period has been issued yet"):
        write_period_reports(empty, JANUARY, tmp_path)


def test_a_tampered_journal_fails_the_check_naming_the_invoice(report_world, written, tmp_path):
    folder = tmp_path / JANUARY
    folder.mkdir()
    journal = pl.read_csv(written[JANUARY].folder / "journal.csv", schema_overrides={"amount_cents": pl.Int64, "amount": pl.String})
    journal.with_columns(amount_cents=pl.when(pl.col("line_id") == "INV-202601-dora/base_fee:dora:2026-01-01@2026-01-01")
                         .then(pl.col("amount_cents") + 1).otherwise(pl.col("amount_cents"))).write_csv(folder / "journal.csv")
    with connect(report_world.warehouse, read_only=True) as con:
        problems = journal_problems(con, folder, JANUARY)
    assert any(p.startswith("INV-202601-dora: invoice total 7100") for p in problems)
    assert any("journal sums to 25489" in p for p in problems)


def _svg_amounts(html: str, chart: str) -> list[str]:
    """The amounts a chart prints, in drawing order."""
    figure = re.search(rf'<figure class="chart" id="chart-{chart}"[^>]*>(.*?)</figure>', html, re.S)[1]
    return re.findall(r">\s*([+-]?[\d,]+\.\d\d USD)\s*<", figure)


def test_top_accounts_rank_usage_charges_so_a_plans_flat_minimum_does_not_fill_the_chart(written):
    january = _csv(written[JANUARY].folder / "top_accounts.csv")
    assert list(zip(january["account_id"], january["usage"])) == [
        ("beta", "60.17"), ("dora", "40.00"), ("acme", "29.00"), ("late", "7.00"), ("cara", "2.00")]
    # February: cara's 100.00 is her plan's minimum (no usage charge): a flat fee ranks nobody
    february = _csv(written[FEBRUARY].folder / "top_accounts.csv")
    assert list(february["account_id"]) == ["fern", "beta"] and "cara" not in february["account_id"]
    html = (written[FEBRUARY].folder / "revenue_pack.html").read_text()
    assert sorted(_svg_amounts(html, "top_accounts")) == ["0.30 USD", "17.50 USD"]


def test_biggest_changes_compare_each_accounts_total_with_the_previous_issued_period(written):
    changes = _csv(written[FEBRUARY].folder / "account_changes.csv")
    assert [(r["account_id"], r["previous_total_cents"], r["total_cents"], r["change"]) for r in changes.to_dicts()] == [
        ("fern", "0", "7857", "78.57"), ("cara", "3871", "10000", "61.29"), ("dora", "7100", "3100", "-40.00"),
        ("beta", "10717", "10000", "-7.17"), ("late", "3800", "3100", "-7.00"), ("acme", "0", "280", "2.80")]
    assert set(changes["previous_period"]) == {JANUARY}
    html = (written[FEBRUARY].folder / "revenue_pack.html").read_text()
    assert "Biggest changes since 2026-01" in html and "+78.57 USD" in _svg_amounts(html, "account_changes")
    first = written[JANUARY].folder
    assert _csv(first / "account_changes.csv").height == 0
    assert "No earlier issued period to compare with" in (first / "revenue_pack.html").read_text()


def test_month_over_month_bars_and_their_labels_are_the_same_charges(written):
    trend = _csv(written[FEBRUARY].folder / "trend.csv").to_dicts()
    for row in trend:  # base fees + usage & other = charges; charges + discounts & credits = total invoiced
        base, usage, charges = int(row["base_fee_cents"]), int(row["usage_cents"]), int(row["subtotal_cents"])
        assert base + usage == charges and charges + int(row["deductions_cents"]) == int(row["total_cents"])
    html = (written[FEBRUARY].folder / "revenue_pack.html").read_text()
    labels = _svg_amounts(html, "trend")
    assert labels == [f"{Decimal(row['subtotal_cents']) / 100:,.2f} USD" for row in trend] == ["314.88 USD", "372.47 USD"]
    assert "254.88 USD" not in labels  # January's total invoiced is the diamond, named in the legend
    assert "Total invoiced (after discounts and credits)" in html


def test_every_report_csv_with_amounts_names_its_currency_as_the_pack_does(written):
    folder = written[JANUARY].folder
    files = [*folder.glob("*.csv"), *(folder / "statements").glob("*.csv")]
    assert len(files) > 15
    for path in files:
        frame = _csv(path)
        if any(c.endswith("_cents") for c in frame.columns):
            assert set(frame["currency"]) == ({"USD"} if frame.height else set()), path.name
    assert "amounts in USD" in (folder / "revenue_pack.html").read_text()


def test_the_journal_has_the_columns_the_docs_list_in_that_order(written):
    docs = (Path(__file__).resolve().parents[2] / "docs" / "reports.md").read_text()
    listed = re.search(r"^- `journal\.csv`:[^\n]*in order:(.*?)\.\n", docs, re.S | re.M)[1]
    documented = re.findall(r"`(\w+)`", listed)
    assert _csv(written[JANUARY].folder / "journal.csv").columns == documented
