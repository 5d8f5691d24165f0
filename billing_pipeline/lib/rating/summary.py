"""What a rating run produced, as Dagster metadata: read from the warehouse once dbt has finished."""

import dagster as dg
import duckdb

from billing_pipeline.lib.money import money_text
from billing_pipeline.lib.periods import period_text
from billing_pipeline.lib.rating.window import RatingWindow


def invoice_metadata(con: duckdb.DuckDBPyConnection, window: RatingWindow) -> dict[str, dg.MetadataValue]:
    """Invoice counts and totals per period of the window, with a markdown table for the UI."""
    rows = con.execute(
        """
        select i.period, i.period_status, count(*), sum(i.total_cents), sum(i.credits_applied_cents),
               i.currency, min(c.minor_unit_exponent)
        from fct_invoices as i
        join catalog.currencies as c using (currency)
        where i.period >= ? and i.period < ?
        group by i.period, i.period_status, i.currency
        order by i.period
        """,
        [period_text(window.first_month), period_text(window.end)],
    ).fetchall()
    table = ["| period | status | invoices | total | credits applied |", "|---|---|---:|---:|---:|"]
    table += [f"| {p} | {s} | {n} | {money_text(t, e, c)} | {money_text(k, e, c)} |" for p, s, n, t, k, c, e in rows]
    return {
        "dagster/row_count": dg.MetadataValue.int(sum(r[2] for r in rows)),
        "total_cents": dg.MetadataValue.int(int(sum(r[3] for r in rows))),
        "periods": dg.MetadataValue.md("\n".join(table)),
    }


def issued_metadata(con: duckdb.DuckDBPyConnection, window: RatingWindow) -> dict[str, dg.MetadataValue]:
    """The periods this run issued (as_of is their issued_on)."""
    rows = con.execute(
        "select period, invoice_count, total_cents from fct_issued_periods where issued_on = ? order by period",
        [window.as_of],
    ).fetchall()
    return {
        "issued_periods": dg.MetadataValue.text(", ".join(r[0] for r in rows) or "none"),
        "issued_invoices": dg.MetadataValue.int(sum(r[1] for r in rows)),
        "issued_total_cents": dg.MetadataValue.int(int(sum(r[2] for r in rows))),
    }
