"""Reading published invoices back from Stripe: what Stripe bills must be what we issued.

Stripe's `total` must equal our total_cents. What it collects, `amount_due`, differs from the
total only by the customer balance it applied when finalizing, which its customer balance
transactions of type `applied_to_invoice` record: negative when a negative invoice credited the
customer (Stripe then marks it paid with amount_due 0), positive when the customer's credit paid
part of it. So an invoice reconciles when amount_due + balance applied = total_cents.
"""

from dataclasses import dataclass

import duckdb
import stripe

from billing_pipeline.lib.publish.stripe_resource import StripeTarget


@dataclass(frozen=True)
class AmountCheck:
    invoice_id: str
    stripe_invoice_id: str
    total_cents: int
    stripe_total: int | None = None  # None: Stripe could not return the invoice (see error)
    amount_due: int | None = None
    balance_applied: int | None = None
    error: str | None = None

    @property
    def matches(self) -> bool:
        return (self.error is None and self.stripe_total == self.total_cents
                and self.amount_due is not None and self.balance_applied is not None
                and self.amount_due + self.balance_applied == self.total_cents)

    @property
    def problem(self) -> str:
        if self.error:
            return self.error
        if self.stripe_total != self.total_cents:
            return f"Stripe total {self.stripe_total}, issued {self.total_cents}"
        return f"amount due {self.amount_due} + balance applied {self.balance_applied} is not {self.total_cents}"


def balance_applied(client: stripe.StripeClient, invoice: stripe.Invoice) -> int:
    """The customer balance Stripe applied to a finalized invoice (0 when it collects the total)."""
    if invoice.amount_due == invoice.total:
        return 0  # total + starting balance = amount_due >= 0 leaves no room for an applied balance
    customer = invoice.customer if isinstance(invoice.customer, str) else invoice.customer.id
    transactions = client.v1.customers.balance_transactions.list(customer, {"invoice": invoice.id, "limit": 100})
    return sum(t.amount for t in transactions.auto_paging_iter() if t.type == "applied_to_invoice")


def check_amounts(con: duckdb.DuckDBPyConnection, client: stripe.StripeClient, period: str,
                  target: StripeTarget) -> list[AmountCheck]:
    """Every finalized invoice of the period, read back from the account `client` reaches."""
    rows = con.execute(
        """SELECT p.invoice_id, p.stripe_invoice_id, i.total_cents, p.stripe_account_id
           FROM publish.invoice_publications AS p
           JOIN fct_issued_invoices AS i USING (invoice_id)
           WHERE p.period = ? AND p.status = 'finalized' ORDER BY p.invoice_id""", [period]).fetchall()
    return [_check(client, target, *row) for row in rows]


def _check(client: stripe.StripeClient, target: StripeTarget, invoice_id: str, stripe_invoice_id: str,
           total_cents: int, account_id: str | None) -> AmountCheck:
    if account_id and account_id != target.account_id:
        return AmountCheck(invoice_id, stripe_invoice_id, total_cents,
                           error=f"published to Stripe account {account_id}, this key reads {target.account_id}")
    try:
        invoice = client.v1.invoices.retrieve(stripe_invoice_id)
        return AmountCheck(invoice_id, stripe_invoice_id, total_cents, invoice.total, invoice.amount_due,
                           balance_applied(client, invoice))
    except stripe.StripeError as error:
        message = error.user_message or str(error)
        if error.code == "resource_missing":
            message = f"finalized Stripe invoice {stripe_invoice_id} no longer exists in {target.account_id}"
        return AmountCheck(invoice_id, stripe_invoice_id, total_cents, error=message)
