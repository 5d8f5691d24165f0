"""Payments: events listed from Stripe are recorded once; the demo's customers pay and some are declined."""

import pytest
import stripe

from billing_pipeline.exchange.data_dir import DataDir
from billing_pipeline.lib.warehouse import connect
from stripe_local.autopay import is_declined
from tests.publish.issued_world import PUBLISHED
from tests.publish.runs import event_metadata, run_publish, run_stripe_events
from tests.publish.stripe_view import stripe_view


def payment_status(paths: DataDir) -> dict[str, str]:
    with connect(paths.warehouse, read_only=True) as con:
        return dict(con.execute("SELECT invoice_id, payment_status FROM publish.invoice_payment_status").fetchall())


def stored_events(paths: DataDir) -> list[tuple]:
    with connect(paths.warehouse, read_only=True) as con:
        return con.execute("SELECT event_id, type, invoice_id, amount_cents, failure_message FROM publish.stripe_events "
                           "ORDER BY event_id").fetchall()


def test_events_listed_from_stripe_give_each_published_invoice_its_payment_status_once(
        paths, local_stripe, controls, sdk: stripe.StripeClient):
    assert run_publish(paths, local_stripe).success
    view = stripe_view(sdk)
    beta, dora = view.only_invoice("INV-202601-beta"), view.only_invoice("INV-202601-dora")
    controls.decline_next_payments(1)
    with pytest.raises(stripe.CardError):
        sdk.v1.invoices.pay(beta.id)
    sdk.v1.invoices.pay(dora.id)
    sdk.v1.invoices.void_invoice(view.only_invoice("INV-202601-late").id)
    stranger = sdk.v1.customers.create({"name": "not ours"})
    other = sdk.v1.invoices.create({"customer": stranger.id})
    sdk.v1.invoice_items.create({"customer": stranger.id, "invoice": other.id, "amount": 500})
    sdk.v1.invoices.pay(other.id)

    first = event_metadata(run_stripe_events(paths, local_stripe))
    second = event_metadata(run_stripe_events(paths, local_stripe))

    assert payment_status(paths) == {"INV-202601-acme": "not_sent", "INV-202601-beta": "payment_failed",
                                     "INV-202601-cara": "open", "INV-202601-dora": "paid",
                                     "INV-202601-late": "voided"}
    assert (first["recorded"], first["not_our_invoices"]) == (3, 1)
    assert second["recorded"] == 0 and len(stored_events(paths)) == 3
    failed = [e for e in stored_events(paths) if e[1] == "invoice.payment_failed"]
    assert failed == [(failed[0][0], "invoice.payment_failed", "INV-202601-beta", 10717, "payment attempt 1 failed")]


def test_the_demo_customers_payments_are_recorded_through_the_normal_events_load(paths, local_stripe, controls):
    # What `make demo` does: the test server's customers pay as invoices are finalized, one card in
    # N declined (N = 2 here, so both outcomes show); the pipeline has no payment code of its own.
    controls.autopay(decline_one_in=2)
    declined = {invoice_id for invoice_id in PUBLISHED if is_declined(invoice_id, 2)}
    assert run_publish(paths, local_stripe).success

    loaded = event_metadata(run_stripe_events(paths, local_stripe))
    again = event_metadata(run_stripe_events(paths, local_stripe))

    status = payment_status(paths)
    assert 0 < len(declined) < len(PUBLISHED)
    assert {i for i, s in status.items() if s == "payment_failed"} == declined
    assert {i for i, s in status.items() if s == "paid"} == PUBLISHED.keys() - declined
    assert loaded["recorded"] == len(PUBLISHED) and again["recorded"] == 0
