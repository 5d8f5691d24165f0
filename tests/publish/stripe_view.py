"""What Stripe holds, read through the official SDK: the tests' evidence, never publisher internals."""

from collections import Counter
from dataclasses import dataclass

import stripe


@dataclass(frozen=True)
class StripeView:
    customers_by_account: Counter
    invoices_by_id: dict[str, list[stripe.Invoice]]  # our invoice id -> Stripe invoices carrying it
    items_by_invoice: dict[str, list[stripe.InvoiceItem]]  # Stripe invoice id -> its items

    def only_invoice(self, invoice_id: str) -> stripe.Invoice:
        [invoice] = self.invoices_by_id[invoice_id]
        return invoice

    def amounts_due(self) -> dict[str, int]:
        return {invoice_id: self.only_invoice(invoice_id).amount_due for invoice_id in self.invoices_by_id}


def stripe_view(sdk: stripe.StripeClient) -> StripeView:
    customers = Counter(c.metadata.to_dict().get("account_id") for c in sdk.v1.customers.list({"limit": 100}).auto_paging_iter())
    invoices: dict[str, list[stripe.Invoice]] = {}
    items: dict[str, list[stripe.InvoiceItem]] = {}
    for invoice in sdk.v1.invoices.list({"limit": 100}).auto_paging_iter():
        invoices.setdefault(invoice.metadata.to_dict().get("invoice_id"), []).append(invoice)
        items[invoice.id] = list(sdk.v1.invoice_items.list({"invoice": invoice.id, "limit": 100}).auto_paging_iter())
    return StripeView(customers, invoices, items)


def assert_published_exactly_once(sdk: stripe.StripeClient, expected: dict[str, int], line_counts: dict[str, int]) -> StripeView:
    """One customer per account, one finalized invoice per issued invoice, one item per line, amounts equal."""
    view = stripe_view(sdk)
    accounts = {invoice_id.rsplit("-", 1)[1] for invoice_id in expected}
    assert view.customers_by_account == Counter({account: 1 for account in accounts})
    assert {invoice_id: len(found) for invoice_id, found in view.invoices_by_id.items()} == {i: 1 for i in expected}
    assert view.amounts_due() == expected
    for invoice_id in expected:
        invoice = view.only_invoice(invoice_id)
        assert invoice.status in ("open", "paid")
        line_ids = [item.metadata.to_dict()["line_id"] for item in view.items_by_invoice[invoice.id]]
        assert len(line_ids) == len(set(line_ids)) == line_counts[invoice_id]
    return view
