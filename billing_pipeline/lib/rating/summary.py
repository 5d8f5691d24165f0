"""What a rating run produced, as Dagster metadata (read from the warehouse once dbt has finished), and
what each of its dbt tests found, as its check's description."""

from typing import Any, Mapping

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


def dbt_test_subject(manifest: Mapping[str, Any], unique_id: str) -> str:
    """What a dbt test checks, in words: its meta description, else the test on its model and column
    (`not_null on fct_invoices.invoice_id`), else the singular test's name on its model."""
    node = manifest["nodes"][unique_id]
    if described := (node.get("meta") or {}).get("description") or node.get("description"):
        return described
    model = next((manifest["nodes"][n]["name"] for n in node.get("depends_on", {}).get("nodes", [])
                  if n.startswith("model.")), None)
    test = (node.get("test_metadata") or {}).get("name") or node["name"]
    column = node.get("column_name")
    target = f"{model}.{column}" if model and column else model
    return f"{test} on {target}" if target else test


def dbt_check_description(check: dg.AssetCheckResult, manifest: Mapping[str, Any]) -> str:
    """Why a dbt test's check passed or failed: its outcome, the rows that broke it, and what it checks."""
    metadata = check.metadata
    subject = dbt_test_subject(manifest, metadata["unique_id"].value)
    failing = metadata.get("dagster_dbt/failed_row_count")
    status = metadata["status"].value if "status" in metadata else ("pass" if check.passed else "fail")
    if check.passed:
        return f"{status}: no row breaks it ({subject})"
    rows = "the test did not run" if failing is None else f"{failing.value:,} row(s) break it"
    return f"{status}: {rows} ({subject})"
