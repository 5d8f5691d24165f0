"""Reading published invoices back from Stripe: what Stripe will collect must be what we issued."""

from dataclasses import dataclass

import duckdb
import stripe


@dataclass(frozen=True)
class AmountCheck:
    invoice_id: str
    stripe_invoice_id: str
    total_cents: int
    amount_due: int | None  # None: Stripe could not return the invoice
    error: str | None = None

    @property
    def matches(self) -> bool:
        return self.amount_due == self.total_cents


def check_amounts(con: duckdb.DuckDBPyConnection, client: stripe.StripeClient, period: str) -> list[AmountCheck]:
    """Every finalized invoice of the period, read back: amount_due against the issued total_cents."""
    rows = con.execute(
        """SELECT p.invoice_id, p.stripe_invoice_id, i.total_cents
           FROM publish.invoice_publications AS p
           JOIN fct_issued_invoices AS i USING (invoice_id)
           WHERE p.period = ? AND p.status = 'finalized' ORDER BY p.invoice_id""", [period]).fetchall()
    checks = []
    for invoice_id, stripe_invoice_id, total_cents in rows:
        try:
            amount_due = client.v1.invoices.retrieve(stripe_invoice_id).amount_due
            checks.append(AmountCheck(invoice_id, stripe_invoice_id, total_cents, amount_due))
        except stripe.StripeError as error:
            checks.append(AmountCheck(invoice_id, stripe_invoice_id, total_cents, None, error.user_message or str(error)))
    return checks
