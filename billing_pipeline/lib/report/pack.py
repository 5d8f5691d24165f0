"""Builds one issued period's reports folder: the revenue pack (HTML, PDF, a CSV per table), the
journal and a statement per account, written beside the old folder and swapped in whole.

    reports/<YYYY-MM>/revenue_pack.html|.pdf, <table>.csv, journal.csv, statements/<account_id>.html|.csv
"""

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from billing_pipeline.lib.report import charts, tables
from billing_pipeline.lib.report.folders import replacing
from billing_pipeline.lib.money import amount_column
from billing_pipeline.lib.report.queries import IssuedPeriod, PeriodData, load_period
from billing_pipeline.lib.report.render import render_html, write_pdf
from billing_pipeline.lib.report.statements import statements

PACK_HTML = "revenue_pack.html"
PACK_PDF = "revenue_pack.pdf"
JOURNAL = "journal.csv"
SUMMARY = "revenue_summary.csv"
STATEMENTS = "statements"
INPUTS = "inputs.sha256"  # PeriodData.fingerprint() of what the folder was written from
# Every chart of the pack, by the id of its <figure>, in reading order.
CHARTS = ("revenue_by_plan", "revenue_by_metric", "base_vs_overage", "top_accounts", "account_changes", "trend",
          "trials", "credits", "invoices")


@dataclass(frozen=True)
class PeriodReport:
    folder: Path
    period: IssuedPeriod
    headline: tables.Headline
    journal_rows: int
    statements: int
    top_accounts: pl.DataFrame
    trend_png: str  # data URI of the month-over-month chart, for the Dagster UI


def _invoices(data: PeriodData) -> pl.DataFrame:
    return (data.invoices.join(data.publications, on="invoice_id", how="left")
            .with_columns(stripe_customer_id=pl.coalesce("stripe_customer_id", "catalog_stripe_customer_id"),
                          total=amount_column("total_cents", data.period.exponent))
            .select("invoice_id", "account_id", "account_name", "currency", "subtotal_cents", "discount_cents",
                    "credits_applied_cents", "adjustment_cents", "total_cents", "total", "stripe_customer_id",
                    "stripe_invoice_id", "publication_status", "payment_status"))


def _write_csv(frame: pl.DataFrame, path: Path, currency: str) -> None:
    """A table with amounts says their currency in every row, in the one form the pack prints (USD)."""
    if "currency" not in frame.columns and any(c.endswith("_cents") for c in frame.columns):
        frame = frame.with_columns(currency=pl.lit(currency))
    frame.write_csv(path)


def _charts(frames: dict[str, pl.DataFrame], headline: tables.Headline, trial_counts: dict[str, int],
            money: charts.Money, previous: str | None) -> dict[str, "charts.Figure"]:
    summary = dict(frames["revenue_summary"].select("category", "amount_cents").iter_rows())
    metric, top, trend, credit = frames["revenue_by_metric"], frames["top_accounts"], frames["trend"], frames["credits"]
    moved = frames["account_changes"]
    status = {(stage, name): n for stage, name, n, _ in frames["invoice_status"].iter_rows()}
    palette = charts.PALETTE
    return {
        "revenue_by_plan": charts.stacked_by_plan(frames["revenue_by_plan"].to_dicts(), money),
        "revenue_by_metric": charts.horizontal_bars(metric["metric_name"].to_list(), metric["amount_cents"].to_list(),
                                                    money, empty="No usage charges this period"),
        "base_vs_overage": charts.composition([
            ("Base fees", summary["base_fee"], palette["base"]), ("Usage overage", summary["usage"], palette["usage"]),
            ("Minimum true-ups", summary["minimum_true_up"], palette["minimum"]),
            ("Late usage adjustments", summary["late_usage_adjustment"], palette["adjustment"])], money),
        "top_accounts": charts.horizontal_bars(top["account_name"].to_list(), top["usage_cents"].to_list(), money,
                                               empty="No usage charges this period"),
        "account_changes": charts.changes(moved["account_name"].to_list(), moved["change_cents"].to_list(), money,
                                          empty="No earlier issued period to compare with" if previous is None
                                          else f"No account's total changed since {previous}"),
        "trend": charts.trend(trend["period"].to_list(), trend["base_fee_cents"].to_list(),
                              trend["usage_cents"].to_list(), trend["total_cents"].to_list(), money),
        "trials": charts.counts(list(trial_counts), list(trial_counts.values()),
                                [palette["base"], palette["good"], palette["bad"], palette["neutral"]]),
        "credits": charts.horizontal_bars(
            ["Granted", "Consumed", "Expired", "Balance at month end", "Expiring next month"],
            [int(credit[c].sum()) for c in ("granted_cents", "consumed_cents", "expired_cents", "closing_cents",
                                            "expiring_next_period_cents")], money, colour=palette["minimum"]),
        "invoices": charts.counts(
            ["published", "paid", "payment failed", "publish failed", "not published"],
            [headline.published, headline.paid, headline.payment_failed, headline.publish_failed,
             status.get(("publication", "not published"), 0)],
            [palette["base"], palette["good"], palette["bad"], palette["bad"], palette["neutral"]]),
    }


def reports_current(con: duckdb.DuckDBPyConnection, period: str, reports_root: Path) -> bool:
    """Whether reports/<period>/ was written from the period's data as it is now (PeriodNotIssued
    if the period is not issued). A folder from before fingerprints were kept is not current."""
    written = reports_root / period / INPUTS
    return written.is_file() and written.read_text(encoding="ascii").strip() == load_period(con, period).fingerprint()


def write_period_reports(con: duckdb.DuckDBPyConnection, period: str, reports_root: Path,
                         generated_at: datetime | None = None) -> PeriodReport:
    """Writes reports/<period>/ for an issued period (PeriodNotIssued otherwise) and returns its headline."""
    data = load_period(con, period)
    generated = (generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    money = charts.Money(data.period.exponent, data.period.currency)
    trial_rows = tables.trials(data)
    frames = {
        "revenue_summary": tables.revenue_summary(data), "revenue_by_plan": tables.revenue_by_plan(data),
        "revenue_by_metric": tables.revenue_by_metric(data), "top_accounts": tables.top_accounts(data),
        "account_changes": tables.account_changes(data),
        "trend": tables.trend(data), "trials": trial_rows, "credits": tables.credits(data),
        "invoice_status": tables.invoice_status(data), "invoices": _invoices(data),
    }
    headline = tables.headline(data, frames["invoice_status"])
    trial_counts = tables.trial_counts(trial_rows)
    figures = _charts(frames, headline, trial_counts, money, data.previous_period)
    journal = tables.journal(data)
    csv_files = [f"{name}.csv" for name in frames]
    pack = render_html(
        "revenue_pack.html.j2", period=data.period, money=money, generated_at=generated, headline=headline,
        published_any=not data.publications.is_empty(), charts={k: charts.svg(f) for k, f in figures.items()},
        summary=frames["revenue_summary"].to_dicts(), by_plan=frames["revenue_by_plan"].to_dicts(),
        by_metric=frames["revenue_by_metric"].to_dicts(), top=frames["top_accounts"].to_dicts(),
        changes=frames["account_changes"].to_dicts(), previous_period=data.previous_period, top_limit=tables.TOP_ACCOUNTS,
        trend=frames["trend"].to_dicts(), trials=trial_rows.to_dicts(), credits=frames["credits"].to_dicts(),
        status=frames["invoice_status"].to_dicts(), csv_files=csv_files,
    )
    account_statements = statements(data)

    target = reports_root / period
    with replacing(target) as folder:
        for name, frame in frames.items():
            _write_csv(frame, folder / f"{name}.csv", data.period.currency)
        _write_csv(journal, folder / JOURNAL, data.period.currency)
        (folder / PACK_HTML).write_text(pack, encoding="utf-8")
        (folder / INPUTS).write_text(data.fingerprint() + "\n", encoding="ascii")
        write_pdf(pack, folder / PACK_PDF)
        (folder / STATEMENTS).mkdir()
        for statement in account_statements:
            html = render_html("statement.html.j2", period=data.period, money=money, generated_at=generated,
                               **statement.context)
            (folder / STATEMENTS / f"{statement.account_id}.html").write_text(html, encoding="utf-8")
            _write_csv(statement.rows, folder / STATEMENTS / f"{statement.account_id}.csv", data.period.currency)
    return PeriodReport(target, data.period, headline, journal.height, len(account_statements),
                        frames["top_accounts"], charts.png_data_uri(figures["trend"]))
