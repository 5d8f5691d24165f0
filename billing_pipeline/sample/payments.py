"""Demo customers paying their invoices on the local Stripe server, a few of them declined.

Only for the local demo: when the publisher's Stripe is the local server (no STRIPE_API_KEY), it
pays each finalized, open invoice the publisher recorded, so the payment events loaded afterwards
show both paid and failed invoices. Against real Stripe it does nothing. Which invoices are declined depends only on
their invoice id; an invoice already attempted is left alone, so a re-run changes nothing.
"""

import hashlib
from dataclasses import dataclass

import stripe

from billing_pipeline.lib.publish.stripe_resource import StripeResource
from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.publish.keys import idempotency_key
from billing_pipeline.lib.warehouse import connect
from billing_pipeline.stripe_local import LocalStripeControls

DECLINE_ONE_IN = 7


@dataclass(frozen=True)
class DemoPayments:
    paid: int
    declined: int
    left_alone: int  # already paid, voided or attempted before


def is_declined(invoice_id: str, one_in: int = DECLINE_ONE_IN) -> bool:
    return int(hashlib.sha256(invoice_id.encode()).hexdigest(), 16) % one_in == 0


def pay_demo_invoices(paths: DataDir, decline_one_in: int = DECLINE_ONE_IN,
                      stripe_resource: StripeResource | None = None) -> DemoPayments | None:
    """None when the resource publishes to real Stripe: demo customers never pay real invoices."""
    with connect(paths.warehouse, read_only=True) as con:
        published = con.execute(
            """SELECT invoice_id, stripe_invoice_id FROM publish.invoice_publications
               WHERE status = 'finalized' ORDER BY invoice_id""").fetchall()
    paid = declined = left_alone = 0
    with (stripe_resource or StripeResource()).session(paths.stripe_state) as session:
        if session.mode != "local":
            return None
        with LocalStripeControls(session.url) as controls:
            for invoice_id, stripe_invoice_id in published:
                invoice = session.client.v1.invoices.retrieve(stripe_invoice_id)
                if invoice.status != "open" or invoice.attempt_count > 0:
                    left_alone += 1
                    continue
                if is_declined(invoice_id, decline_one_in):
                    controls.decline_next_payments(1)
                try:
                    session.client.v1.invoices.pay(stripe_invoice_id, options={
                        "idempotency_key": idempotency_key(invoice_id, "demo_pay", stripe_invoice_id)})
                    paid += 1
                except stripe.CardError:
                    declined += 1
    return DemoPayments(paid, declined, left_alone)
