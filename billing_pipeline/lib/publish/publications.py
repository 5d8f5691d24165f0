"""The publications (schema.py): one row per issued invoice, written after every Stripe step.

Each write commits on its own (DuckDB autocommit), so a crash between two steps leaves the publication
saying exactly how far the invoice got, and the next run resumes from there. Every result is fetched
to the end: DuckDB 2.0 refuses new work on a connection holding an unfinished result.
"""

from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb
import polars as pl

from billing_pipeline.lib.publish.issued import IssuedInvoice, issued_periods
from billing_pipeline.lib.publish.stripe_resource import StripeTarget
from billing_pipeline.lib.warehouse import relation_exists

# Ledger statuses a run does not touch again.
SETTLED = ("finalized", "integrity_error")


@dataclass(frozen=True)
class Publication:
    invoice_id: str
    content_hash: str
    status: str
    stripe_customer_id: str | None
    stripe_invoice_id: str | None
    drafts_recreated: int


def now() -> datetime:
    return datetime.now(timezone.utc)


def publication(con: duckdb.DuckDBPyConnection, invoice_id: str) -> Publication | None:
    rows = con.execute(
        """SELECT invoice_id, content_hash, status, stripe_customer_id, stripe_invoice_id, coalesce(drafts_recreated, 0)
           FROM publish.invoice_publications WHERE invoice_id = ?""", [invoice_id]).fetchall()
    return Publication(*rows[0]) if rows else None


def start_attempt(con: duckdb.DuckDBPyConnection, invoice: IssuedInvoice, target: StripeTarget) -> None:
    moment = now()
    con.execute(
        """INSERT INTO publish.invoice_publications
               (invoice_id, account_id, period, currency, total_cents, content_hash, status, attempts,
                first_attempt_at, updated_at, stripe_account_id, stripe_mode, stripe_api_base)
           VALUES (?, ?, ?, ?, ?, ?, 'pending', 1, ?, ?, ?, ?, ?)
           ON CONFLICT (invoice_id) DO UPDATE SET attempts = attempts + 1, last_error = NULL,
               updated_at = excluded.updated_at, stripe_account_id = excluded.stripe_account_id,
               stripe_mode = excluded.stripe_mode, stripe_api_base = excluded.stripe_api_base""",
        [invoice.invoice_id, invoice.account_id, invoice.period, invoice.currency, invoice.total_cents,
         invoice.content_hash, moment, moment, target.account_id, target.mode, target.api_base]).fetchall()


def stripe_accounts(con: duckdb.DuckDBPyConnection, period: str) -> list[StripeTarget]:
    """The Stripe accounts the period's publications went to (one, unless something went wrong)."""
    return [StripeTarget(*row) for row in con.execute(
        """SELECT stripe_account_id, any_value(stripe_mode), any_value(stripe_api_base)
           FROM publish.invoice_publications WHERE period = ? AND stripe_account_id IS NOT NULL
           GROUP BY ALL ORDER BY 1""", [period]).fetchall()]


def forget_draft(con: duckdb.DuckDBPyConnection, invoice_id: str) -> int:
    """The recorded draft no longer exists in Stripe: back to customer_ready, its items forgotten.
    Returns how many drafts of this invoice have now been replaced."""
    con.execute("DELETE FROM publish.invoice_item_publications WHERE invoice_id = ?", [invoice_id]).fetchall()
    [(count,)] = con.execute(
        """UPDATE publish.invoice_publications
           SET status = 'customer_ready', stripe_invoice_id = NULL, updated_at = ?,
               drafts_recreated = coalesce(drafts_recreated, 0) + 1
           WHERE invoice_id = ? RETURNING drafts_recreated""", [now(), invoice_id]).fetchall()
    return count


def record(con: duckdb.DuckDBPyConnection, invoice_id: str, status: str, **fields: object) -> None:
    assignments = ", ".join(f"{name} = ?" for name in fields)
    con.execute(
        f"UPDATE publish.invoice_publications SET status = ?, updated_at = ?{', ' if fields else ''}{assignments} "
        "WHERE invoice_id = ?", [status, now(), *fields.values(), invoice_id]).fetchall()


def record_item(con: duckdb.DuckDBPyConnection, invoice_id: str, line_id: str, item_id: str, amount_cents: int) -> None:
    con.execute(
        """INSERT INTO publish.invoice_item_publications VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (invoice_id, line_id) DO UPDATE SET stripe_invoice_item_id = excluded.stripe_invoice_item_id""",
        [invoice_id, line_id, item_id, amount_cents, now()]).fetchall()


def mark_integrity_error(con: duckdb.DuckDBPyConnection, invoice: IssuedInvoice, recorded_hash: str) -> None:
    record(con, invoice.invoice_id, "integrity_error",
           last_error=f"issued content changed after publication: hash {invoice.content_hash[:16]} now, "
                      f"{recorded_hash[:16]} when published; not republished")


def period_rows(con: duckdb.DuckDBPyConnection, period: str) -> pl.DataFrame:
    return pl.from_arrow(con.sql(
        """SELECT invoice_id, account_id, status, total_cents, amount_due_cents, balance_applied_cents,
                  stripe_customer_id, stripe_invoice_id, stripe_invoice_number, attempts, drafts_recreated, last_error
           FROM publish.invoice_publications WHERE period = ? ORDER BY invoice_id""", params=[period]).to_arrow_table())


def periods_to_publish(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Issued periods with an invoice that has no final publication status yet (never tried, crashed, failed)."""
    if not relation_exists(con, "publish", "invoice_publications"):
        return issued_periods(con)
    return [row[0] for row in con.execute(
        """SELECT DISTINCT i.period FROM fct_issued_invoices AS i
           LEFT JOIN publish.invoice_publications AS p USING (invoice_id)
           WHERE p.status IS NULL OR p.status NOT IN ('finalized', 'skipped_zero', 'integrity_error')
           ORDER BY i.period""").fetchall()]


def period_counts(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, int]:
    """Invoices of the period by publication status, for a one-line summary."""
    return dict(con.execute("SELECT status, count(*) FROM publish.invoice_publications WHERE period = ? GROUP BY ALL",
                            [period]).fetchall())
