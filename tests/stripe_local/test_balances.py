"""Customer balances as Stripe keeps them: a negative invoice credits the customer, the next one uses
the credit, voiding gives it back; plus the account, deleting drafts, and demo customers paying."""

from __future__ import annotations

import pytest
import stripe

from stripe_local import LocalStripeControls
from stripe_local.autopay import is_declined


def _invoice(client: stripe.StripeClient, customer: str, *amounts: int, **metadata: str) -> stripe.Invoice:
    invoice = client.v1.invoices.create({"customer": customer, "auto_advance": False, "metadata": metadata})
    for amount in amounts:
        client.v1.invoice_items.create({"customer": customer, "invoice": invoice.id, "amount": amount})
    return client.v1.invoices.retrieve(invoice.id)


def _balance_transactions(client: stripe.StripeClient, customer: str) -> list[tuple[str, int, int, str]]:
    listed = client.v1.customers.balance_transactions.list(customer, {"limit": 100}).data
    return [(t.type, t.amount, t.ending_balance, t.invoice) for t in reversed(listed)]


def test_a_negative_invoice_is_settled_at_finalization_and_credits_the_customers_balance(
        client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Late Co"}).id
    draft = _invoice(client, customer, 1500, -2000)  # a cheaper re-rating of last month, this month's fee

    finalized = client.v1.invoices.finalize_invoice(draft.id)

    assert (draft.total, draft.amount_due, draft.ending_balance) == (-500, 0, None)
    assert (finalized.total, finalized.amount_due, finalized.amount_paid) == (-500, 0, 0)
    assert (finalized.starting_balance, finalized.ending_balance, finalized.status) == (0, -500, "paid")
    assert client.v1.customers.retrieve(customer).balance == -500
    assert _balance_transactions(client, customer) == [("applied_to_invoice", -500, -500, draft.id)]


def test_the_next_invoice_uses_the_credit_and_only_the_rest_is_due(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Late Co"}).id
    credit = client.v1.invoices.finalize_invoice(_invoice(client, customer, -500).id)
    draft = _invoice(client, customer, 1200)

    finalized = client.v1.invoices.finalize_invoice(draft.id)

    assert (draft.starting_balance, draft.amount_due) == (-500, 700)  # a draft shows the balance as it is
    assert (finalized.total, finalized.starting_balance, finalized.ending_balance) == (1200, -500, 0)
    assert (finalized.amount_due, finalized.status) == (700, "open")
    assert client.v1.customers.retrieve(customer).balance == 0
    assert _balance_transactions(client, customer) == [("applied_to_invoice", -500, -500, credit.id),
                                                 ("applied_to_invoice", 500, 0, draft.id)]
    listed = client.v1.customers.balance_transactions.list(customer, {"invoice": draft.id}).data
    assert [t.amount for t in listed] == [500]


def test_credit_larger_than_the_invoice_leaves_the_rest_on_the_balance(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Late Co"}).id
    client.v1.invoices.finalize_invoice(_invoice(client, customer, -900).id)

    finalized = client.v1.invoices.finalize_invoice(_invoice(client, customer, 300).id)

    assert (finalized.amount_due, finalized.ending_balance, finalized.status) == (0, -600, "paid")
    assert client.v1.customers.retrieve(customer).balance == -600


def test_voiding_an_invoice_gives_back_the_credit_it_used(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Late Co"}).id
    client.v1.invoices.finalize_invoice(_invoice(client, customer, -500).id)
    used = client.v1.invoices.finalize_invoice(_invoice(client, customer, 1200).id)

    client.v1.invoices.void_invoice(used.id)

    assert client.v1.customers.retrieve(customer).balance == -500
    assert _balance_transactions(client, customer)[-1] == ("unapplied_from_invoice", -500, -500, used.id)


def test_a_draft_can_be_deleted_with_its_items_and_a_finalized_invoice_cannot(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Acme"}).id
    draft = _invoice(client, customer, 100, 200)
    finalized = client.v1.invoices.finalize_invoice(_invoice(client, customer, 300).id)

    deleted = client.v1.invoices.delete(draft.id)

    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as gone:
        client.v1.invoices.retrieve(draft.id)
    assert gone.value.code == "resource_missing"
    assert [item.invoice for item in client.v1.invoice_items.list({"customer": customer}).data] == [finalized.id]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.invoices.delete(finalized.id)
    assert refused.value.code == "invoice_not_editable"
    assert [e.data.object.id for e in client.v1.events.list({"type": "invoice.deleted"}).data] == [draft.id]


def test_the_account_is_one_per_server_state_and_a_reset_makes_a_new_one(
        client: stripe.StripeClient, controls: LocalStripeControls) -> None:
    first, again = client.v1.accounts.retrieve_current(), client.v1.accounts.retrieve_current()
    controls.reset()
    other = client.v1.accounts.retrieve_current()

    assert first.id.startswith("acct_") and first.id == again.id
    assert other.id != first.id


def test_with_autopay_customers_pay_each_invoice_once_finalized_and_a_fixed_few_are_declined(
        client: stripe.StripeClient, controls: LocalStripeControls) -> None:
    customer = client.v1.customers.create({"name": "Acme"}).id
    controls.autopay(decline_one_in=2)
    ours = [f"INV-2026{month:02d}-acme" for month in range(1, 9)]

    answers = [client.v1.invoices.finalize_invoice(_invoice(client, customer, 1000, invoice_id=i).id) for i in ours]
    controls.autopay(None)
    untouched = client.v1.invoices.finalize_invoice(_invoice(client, customer, 1000).id)

    statuses = {i: client.v1.invoices.retrieve(a.id).status for i, a in zip(ours, answers)}
    assert {a.status for a in answers} == {"open"}  # the finalize answer comes before the customer pays
    assert {i for i, s in statuses.items() if s == "open"} == {i for i in ours if is_declined(i, 2)} != set()
    assert {i for i, s in statuses.items() if s == "paid"} == {i for i in ours if not is_declined(i, 2)} != set()
    failed = client.v1.events.list({"type": "invoice.payment_failed", "limit": 100}).data
    assert len(failed) == sum(is_declined(i, 2) for i in ours)
    assert client.v1.invoices.retrieve(untouched.id).status == "open"
